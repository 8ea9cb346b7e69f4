"""The sentences, as a table: the same fact across contexts, and every sentence of real traces.

A sentence is a pure function of an event's facts (``lifecycle_tracer.explain``).
It says only what has happened: never "will", never a status that has not
been sent, never JSON for a body that is not JSON.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, HTTPException, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from helpers import Traced, websocket_session

from lifecycle_tracer import Recorder, instrument
from lifecycle_tracer.explain import TABLE, words

pytestmark = pytest.mark.anyio

# (stage, kind, name, facts, words that must appear, words that must not)
ROWS: list[tuple[str, str, str, dict[str, Any], list[str], list[str]]] = [
    ("endpoint", "start", "read", {"is_async": True, "threadpool": False}, ["awaits", "event loop"], ["worker"]),
    ("endpoint", "start", "read", {"is_async": False, "threadpool": True}, ["worker thread", "not an async def"], ["awaits"]),
    ("endpoint", "point", "ws", {"websocket": True, "is_async": True, "threadpool": False}, ["WebSocket endpoint"], []),
    ("endpoint", "point", "gen", {"streaming": True, "is_async": False, "threadpool": None}, ["generator"], ["worker"]),
    ("endpoint", "point", "gen", {"streaming": True, "iterating": True, "threadpool": True}, ["worker thread"], []),
    ("endpoint", "point", "agen", {"streaming": True, "is_async": True, "threadpool": False}, ["async generator"], []),
    ("dependency", "start", "get_db", {"is_generator": True, "phase": "setup"}, ["yield dependency", "setup"], []),
    ("dependency", "start", "dep", {"is_async": False, "threadpool": True, "phase": "setup"}, ["worker thread"], []),
    ("dependency", "start", "dep", {"is_async": True, "threadpool": False, "phase": "setup"}, ["awaits"], []),
    ("dependency", "end", "get_db", {"is_generator": True, "phase": "setup", "returned": "Session"},
     ["reached its yield"], ["waits", "request is finished"]),
    ("dependency", "start", "get_db", {"phase": "teardown", "response_done": True}, ["after the response was sent"], []),
    ("dependency", "start", "get_db", {"phase": "teardown", "response_started": False}, ["before any response"], []),
    ("dependency", "point", "dep", {"cached": True}, ["cache"], []),
    ("background", "start", "send", {"not_callable": "coroutine", "threadpool": True, "response_done": True},
     ["coroutine object, not a function", "result of calling send", "worker thread"], ["not an async def"]),
    ("request", "start", "GET /", {"type": "http", "method": "GET", "path": "/", "client": ["127.0.0.1", 5000]},
     ["The server received GET /"], ["TestClient"]),
    ("request", "start", "GET /", {"type": "http", "method": "GET", "path": "/", "client": ["testclient", 50000]},
     ["TestClient called the app with GET /", "without a server"], ["server received"]),
    ("validation", "point", "n", {"location": "query", "field": "n", "alias": "n", "sent": True, "raw": "x",
                                  "ok": False, "errors": [{"loc": ["query", "n"], "msg": "Input should be a valid integer"}]},
     ["rejected", "valid integer"], ["422"]),
    ("validation", "point", "q", {"location": "query", "field": "q", "alias": "item-query", "sent": False, "ok": True,
                                  "value": None}, ["item-query", "default"], ["was not sent, so"]),
    ("validation", "point", "f", {"location": "query", "field": "f", "whole": True, "sent": True, "ok": True,
                                  "declared_type": "Filters"}, ["model", "fits"], ["not sent"]),
    ("validation", "point", "body", {"json_invalid": True, "json_error": "Expecting value", "position": 1},
     ["not valid JSON"], ["422"]),
    ("serialization", "end", "HTMLResponse", {"response_class": "HTMLResponse", "media_type": "text/html"},
     ["HTMLResponse", "text/html"], ["JSON"]),
    ("serialization", "end", "Item", {"dump_json": True, "bytes": 12, "response_model": "Item"}, ["12 bytes of JSON"], []),
    ("exception", "point", "HTTPException", {"handled": True, "handler": "http_exception_handler",
                                             "handler_module": "fastapi.exception_handlers", "exc_status": 404,
                                             "status_code": 404}, ["FastAPI's default handler", "404"], []),
    ("exception", "point", "HTTPException", {"handled": True, "handler": "http_exception_handler",
                                             "handler_module": "myapp", "exc_status": 404, "status_code": 404},
     ["your handler"], ["default"]),
    ("exception", "point", "RequestValidationError", {"handled": True, "handler": "as_400", "handler_module": "app",
                                                      "status_code": 400}, ["your handler as_400", "400"], ["422"]),
    ("exception", "point", "WebSocketRequestValidationError",
     {"handled": True, "handler": "websocket_request_validation_exception_handler",
      "handler_module": "fastapi.exception_handlers", "status_code": None, "returned": None, "websocket": True},
     ["returned no response"], ["None response", "422"]),
    ("exception", "point", "RuntimeError", {"handled": False, "handler": None, "websocket": False},
     ["ServerErrorMiddleware"], ["500", "no exception handler matches"]),
    ("exception", "point", "RuntimeError", {"handled": False, "websocket": True}, ["only handles HTTP"], ["500"]),
    ("exception", "point", "RuntimeError", {"handled": True, "handler": "everything", "handler_module": "app",
                                            "status_code": 503, "caught_by": "ServerErrorMiddleware"},
     ["your handler everything", "503"], ["500"]),
    ("routing", "point", "307", {"matched": False, "path": "/a", "status": 307, "answered": True, "location": "/a/",
                                 "candidates": [], "tried": 2}, ["307", "/a/"], ["404"]),
    ("routing", "point", "405", {"matched": False, "path": "/a", "method": "PUT", "status": 405, "raised": "HTTPException",
                                 "partial": "/a", "allowed": ["GET"], "candidates": [], "tried": 1}, ["Allow: GET"], []),
    ("response", "end", "200", {"complete": True, "bytes": 5, "chunks": 1}, ["finished"], []),
    ("response", "end", "200", {"complete": False, "never_finished": True, "disconnected": True, "bytes": 5, "chunks": 2},
     ["unfinished", "disconnected"], ["full answer", "finished;"]),
    ("middleware", "start", "BaseHTTPMiddleware", {"function": "add_header"}, ["add_header", "call_next"], []),
    ("middleware", "end", "BaseHTTPMiddleware", {"function": "add_header", "called_next": True}, ["add_header"],
     ["BaseHTTPMiddleware is done"]),
    ("middleware", "start", "RequestBodyLimitMiddleware", {"builtin": True}, ["Starlette"], ["your app added"]),
    ("middleware", "start", "CORSMiddleware", {"added_by_app": True, "builtin": False}, ["your app added"], []),
    ("websocket", "point", "close", {"code": 1000, "accepted": False}, ["before accepting", "403"], []),
    ("websocket", "point", "close", {"code": 1008, "accepted": True}, ["1008"], ["403"]),
]


_LEFTOVER = re.compile(r"\{(code|name|status|where|label|d|detail)\b")


def well_formed(text: str) -> None:
    # A sentence may open with a code name (get_db, add_header), never with lower-case prose.
    assert text and (text[0].isupper() or text[0] == "_" or text[0].isidentifier()), text
    assert text.endswith((".", ")")), text
    assert " will " not in f" {text} ", text
    assert not _LEFTOVER.search(text) and "None None" not in text, text


@pytest.mark.parametrize(("stage", "kind", "name", "facts", "wanted", "unwanted"), ROWS,
                         ids=[f"{r[0]}-{r[1]}-{i}" for i, r in enumerate(ROWS)])
def test_sentence_table(stage: str, kind: str, name: str, facts: dict[str, Any], wanted: list[str],
                        unwanted: list[str]) -> None:
    text = words(stage, kind, name, facts)
    well_formed(text)
    for w in wanted:
        assert w in text, (w, text)
    for w in unwanted:
        assert w not in text, (w, text)


def test_every_stage_and_kind_has_its_writer() -> None:
    for stage, kinds in {"request": ("start", "end"), "middleware": ("start", "end"), "routing": ("point",),
                         "dependency": ("start", "end", "point"), "validation": ("point",),
                         "endpoint": ("start", "end", "point"), "serialization": ("start", "end", "point"),
                         "response": ("start", "end", "point"), "background": ("start", "end"),
                         "exception": ("point",), "websocket": ("point",)}.items():
        for kind in kinds:
            assert (stage, kind) in TABLE, (stage, kind)


def test_facts_of_an_unexpected_shape_still_give_a_sentence() -> None:
    text = words("routing", "point", "x", {"candidates": "not a list", "matched": True})
    assert text.endswith(".")


def get_session() -> Iterator[str]:
    yield "session"


async def async_dep() -> str:
    return "a"


def sync_dep() -> str:
    return "s"


def make_app(own_handlers: bool) -> FastAPI:
    app = FastAPI()
    if own_handlers:
        @app.exception_handler(RequestValidationError)
        async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
            return JSONResponse({"bad": True}, status_code=400)

        @app.exception_handler(HTTPException)
        async def http_exception_handler(request: Request, exc: HTTPException) -> JSONResponse:
            return JSONResponse({"mine": True}, status_code=exc.status_code)

    @app.get("/async/{n}")
    async def async_route(n: int, s: Annotated[str, Depends(get_session)], a: Annotated[str, Depends(async_dep)]) -> Any:
        return {"n": n}

    @app.get("/sync/{n}")
    def sync_route(n: int, s: Annotated[str, Depends(get_session)], b: Annotated[str, Depends(sync_dep)]) -> Any:
        return {"n": n}

    @app.get("/missing")
    async def missing() -> None:
        raise HTTPException(404)

    async def chunks() -> AsyncIterator[bytes]:
        yield b"a"
        yield b"b"

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        return StreamingResponse(chunks())

    @app.websocket("/ws/{n}")
    async def ws(websocket: WebSocket, n: int) -> None:
        await websocket.accept()
        text = await websocket.receive_text()
        await websocket.send_text(text)
        await websocket.close()

    return app


@pytest.mark.parametrize("own_handlers", [False, True], ids=["default handlers", "own handlers"])
@pytest.mark.parametrize("path", ["/async/1", "/async/x", "/sync/1", "/sync/x", "/missing", "/stream", "/nowhere"])
async def test_every_sentence_of_a_real_trace_is_well_formed(own_handlers: bool, path: str) -> None:
    t = Traced(make_app(own_handlers))
    r, events = await t.request("GET", path)
    for e in events:
        well_formed(e.explain)
        if e.stage in ("endpoint", "dependency") and e.kind == "start" and e.detail.get("threadpool") is True:
            assert "worker thread" in e.explain
        if e.stage == "exception" and e.detail.get("handled"):
            # Whose handler answered is what the handler really was: the router's 404 is
            # Starlette's HTTPException, which the app's handler for FastAPI's subclass
            # does not catch, so FastAPI's default answers it even with own handlers.
            ours = e.detail["handler_module"] == __name__
            assert ("your handler" in e.explain) is ours and ("default handler" in e.explain) is not ours
            assert str(r.status_code) in e.explain
    assert events[-1].detail["status_code"] == r.status_code
    assert str(r.status_code) in events[-1].explain
    await t.aclose()


@pytest.mark.parametrize("path", ["/ws/1", "/ws/x", "/nowhere"])
async def test_every_sentence_of_a_websocket_trace_is_well_formed(path: str) -> None:
    app = make_app(False)
    rec = Recorder()
    instrument(app, sink=rec)
    await websocket_session(app, path, ["hi"])
    (events,) = rec.by_request().values()
    for e in events:
        well_formed(e.explain)
        assert "HTTP 422" not in e.explain and "answers 422" not in e.explain


def test_a_recording_keeps_the_words_it_was_made_with() -> None:
    from lifecycle_tracer import TraceEvent

    ev = TraceEvent("r1", 0, "request", "start", "GET /", 1, {"method": "GET", "path": "/"}, "Old words.")
    assert ev.explain == "Old words."
    fresh = TraceEvent("r1", 0, "request", "start", "GET /", 1, {"method": "GET", "path": "/"})
    assert fresh.explain == "The server received GET / and handed it to the app's outermost layer."


