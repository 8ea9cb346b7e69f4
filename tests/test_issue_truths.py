"""Each false or misleading statement found in the field, pinned on a real app.

Every test serves a small FastAPI app, traced, in-process, and checks the
facts the trace records and the sentence it shows against what FastAPI and
Starlette really did on the installed release.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Annotated, Any

import fastapi
import httpx
import pytest
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, StreamingResponse
from helpers import Traced, find, one, websocket_session
from pydantic import BaseModel

from lifecycle_tracer import Recorder, instrument

pytestmark = pytest.mark.anyio
NEW = tuple(int(p) for p in fastapi.__version__.split(".")[:2]) >= (0, 163)


def no_prediction(events: list[Any]) -> None:
    for e in events:
        assert " will " not in f" {e.explain} ", e


async def test_query_alias_reads_only_the_alias() -> None:
    app = FastAPI()

    @app.get("/items")
    async def items(q: Annotated[str | None, Query(alias="item-query")] = None) -> dict[str, Any]:
        return {"q": q}

    t = Traced(app)
    r, events = await t.request("GET", "/items", params={"q": "pen"})
    assert r.json() == {"q": None}
    v = one(events, "validation").detail
    assert (v["alias"], v["sent"], v["raw"], v["value"]) == ("item-query", False, None, None)
    assert "'item-query'" in one(events, "validation").explain and "default" in one(events, "validation").explain
    r, events = await t.request("GET", "/items", params={"item-query": "pen"})
    v = one(events, "validation").detail
    assert r.json() == {"q": "pen"} and (v["sent"], v["raw"], v["value"]) == (True, "pen", "pen")
    await t.aclose()


async def test_header_without_underscore_conversion() -> None:
    app = FastAPI()

    @app.get("/h")
    async def h(strange_header: Annotated[str | None, Header(convert_underscores=False)] = None) -> Any:
        return {"h": strange_header}

    t = Traced(app)
    r, events = await t.request("GET", "/h", headers={"strange-header": "x"})
    v = one(events, "validation").detail
    assert r.json() == {"h": None}
    assert v["alias"] == "strange_header" and v["sent"] is False
    await t.aclose()


class Filters(BaseModel):
    limit: int = 10
    tag: str | None = None


async def test_query_parameter_models() -> None:
    app = FastAPI()

    @app.get("/f")
    async def f(filters: Annotated[Filters, Query()]) -> Any:
        return filters

    t = Traced(app)
    r, events = await t.request("GET", "/f", params={"limit": "3"})
    v = one(events, "validation").detail
    # Older FastAPI fills the model's missing names with defaults before its check,
    # so whether anything was sent is not observable there (None), never a false False.
    assert r.status_code == 200 and v["whole"] and v["sent"] is (True if NEW else None) and v["ok"] is True
    assert "was not sent" not in one(events, "validation").explain
    r, events = await t.request("GET", "/f", params={"limit": "many"})
    v = one(events, "validation").detail
    assert r.status_code == 422 and v["ok"] is False and v["errors"][0]["loc"] == ["query", "limit"]
    await t.aclose()


class Item(BaseModel):
    name: str


async def test_a_required_body_not_sent() -> None:
    app = FastAPI()

    @app.post("/items")
    async def create(item: Item) -> Item:
        return item

    t = Traced(app)
    r, events = await t.request("POST", "/items")
    v = one(events, "validation").detail
    assert r.status_code == 422 and v["sent"] is False and v["raw"] is None
    assert "PydanticUndefined" not in str(v)
    await t.aclose()


async def test_the_apps_own_validation_handler_answers_400() -> None:
    app = FastAPI()

    @app.exception_handler(RequestValidationError)
    async def as_400(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"bad": True}, status_code=400)

    @app.get("/n/{n}")
    async def n(n: int) -> int:
        return n

    t = Traced(app)
    r, events = await t.request("GET", "/n/x")
    assert r.status_code == 400
    exc = one(events, "exception").detail
    assert exc["handler"] == "test_the_apps_own_validation_handler_answers_400.<locals>.as_400"
    assert exc["status_code"] == 400 and exc["builtin_handler"] is False
    assert "your handler" in one(events, "exception").explain and "400" in one(events, "exception").explain
    no_prediction(events)
    await t.aclose()


async def test_validation_failure_on_a_websocket_closes_it() -> None:
    app = FastAPI()

    @app.websocket("/ws/{n}")
    async def ws(websocket: WebSocket, n: int) -> None:
        await websocket.accept()

    rec = Recorder()
    instrument(app, sink=rec)
    messages = await websocket_session(app, "/ws/x", [])
    assert any(m.get("type") == "websocket.close" and m.get("code") == 1008 for m in messages)
    (events,) = rec.by_request().values()
    exc = one(events, "exception")
    assert exc.detail["handler"] == "websocket_request_validation_exception_handler"
    assert exc.detail["status_code"] is None and "answered None" not in exc.explain
    close = one(events, "websocket", "point", "close")
    assert close.detail["code"] == 1008
    no_prediction(events)


async def test_a_handler_for_exception_answers_503() -> None:
    app = FastAPI()

    @app.exception_handler(Exception)
    async def everything(request: Request, exc: Exception) -> PlainTextResponse:
        return PlainTextResponse("later", status_code=503)

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("no")

    t = Traced(app)
    t.client._transport = httpx.ASGITransport(app=t.app, raise_app_exceptions=False)
    r, events = await t.request("GET", "/crash")
    assert r.status_code == 503
    (exc,) = find(events, "exception")
    assert exc.detail["handler"].endswith("everything") and exc.detail["status_code"] == 503
    assert exc.detail["handled"] is True and exc.detail["caught_by"] == "ServerErrorMiddleware"
    assert "no exception handler" not in exc.explain.lower() and "503" in exc.explain
    start = one(events, "middleware", "start", "ServerErrorMiddleware")  # the layer names who it hands them to
    assert "goes to your handler " in start.explain and "everything here" in start.explain
    assert "becomes a 500" not in start.explain
    await t.aclose()


async def test_slash_redirect_to_a_route_of_another_method_is_a_307() -> None:
    app = FastAPI()

    @app.post("/only-post/")
    async def only_post() -> str:
        return "ok"

    t = Traced(app)
    r, events = await t.request("GET", "/only-post")
    assert r.status_code == 307
    d = one(events, "routing").detail
    assert d["matched"] is False and d["status"] == 307 and d["location"].endswith("/only-post/")
    assert "307" in one(events, "routing").explain and "404" not in one(events, "routing").explain
    await t.aclose()


async def test_a_mounted_fastapi_app_answers_its_own_405_and_307() -> None:
    sub = FastAPI()

    @sub.get("/hello/")
    async def hello() -> str:
        return "hi"

    app = FastAPI()
    app.mount("/sub", sub)
    t = Traced(app)
    r, events = await t.request("POST", "/sub/hello/")
    assert r.status_code == 405
    inner = find(events, "routing")[-1].detail
    assert inner["status"] == 405 and inner["allowed"] == r.headers["allow"].split(", ")
    r, events = await t.request("GET", "/sub/hello")
    assert r.status_code == 307
    assert find(events, "routing")[-1].detail["status"] == 307
    await t.aclose()


async def test_405_allowed_is_the_allow_header_sent() -> None:
    app = FastAPI()

    @app.get("/things")
    async def get_things() -> str:
        return "get"

    @app.post("/things")
    async def post_things() -> str:
        return "post"

    t = Traced(app)
    r, events = await t.request("DELETE", "/things")
    assert r.status_code == 405
    assert one(events, "routing").detail["allowed"] == [m.strip() for m in r.headers["allow"].split(",")]
    await t.aclose()


async def test_a_def_generator_endpoint_runs_in_the_threadpool() -> None:
    app = FastAPI()

    @app.get("/stream", response_class=StreamingResponse, response_model=None)
    def stream() -> Iterator[bytes]:
        yield b"a"
        yield b"b"

    t = Traced(app)
    t.client._transport = httpx.ASGITransport(app=t.app, raise_app_exceptions=False)
    r, events = await t.request("GET", "/stream")
    if not NEW:
        # Before 0.163 FastAPI has no generator endpoints: it calls the def in the
        # threadpool like any other endpoint, and the trace says so.
        start = one(events, "endpoint", "start")
        assert start.detail["threadpool"] is True and start.detail["is_async"] is False
        return
    assert r.content == b"ab"
    points = find(events, "endpoint", "point")
    assert points[0].detail["threadpool"] is None  # created: where its body runs is not known yet
    assert points[-1].detail["iterating"] and points[-1].detail["threadpool"] is True
    assert "worker thread" in points[-1].explain
    await t.aclose()


async def test_a_def_endpoint_returning_a_streaming_response_is_pulled_in_a_worker() -> None:
    app = FastAPI()

    def chunks() -> Iterator[bytes]:
        yield b"x"

    @app.get("/s")
    async def s() -> StreamingResponse:
        return StreamingResponse(chunks())

    t = Traced(app)
    r, events = await t.request("GET", "/s")
    assert r.content == b"x"
    assert one(events, "response", "point", "body iterator").detail["threadpool"] is True
    await t.aclose()


@pytest.mark.parametrize("cls", [HTMLResponse, PlainTextResponse])
async def test_non_json_responses_are_not_called_json(cls: type) -> None:
    app = FastAPI()

    @app.get("/page", response_class=cls)
    async def page() -> str:
        return "<b>hi</b>"

    t = Traced(app)
    r, events = await t.request("GET", "/page")
    assert r.text == "<b>hi</b>"
    for e in find(events, "serialization"):
        assert "JSON bytes" not in e.explain and e.detail["response_class"] == cls.__name__
    assert one(events, "serialization", "end").detail["media_type"] == cls.media_type
    await t.aclose()


async def test_a_returned_redirect_is_sent_as_it_is() -> None:
    app = FastAPI()

    @app.get("/go")
    async def go() -> RedirectResponse:
        return RedirectResponse("/there")

    t = Traced(app)
    r, events = await t.request("GET", "/go")
    assert r.status_code == 307
    skipped = one(events, "serialization", "point")
    assert skipped.detail["response_class"] == "RedirectResponse" and "JSON" not in skipped.explain
    await t.aclose()


async def test_the_body_limit_layers_are_fastapis_own() -> None:
    if "max_body_size" in FastAPI.__init__.__code__.co_varnames:
        app = FastAPI(max_body_size=10)
    else:  # before max_body_size: the built-in layers are still FastAPI's and Starlette's own
        app = FastAPI()

        @app.get("/")
        async def root() -> str:
            return "ok"

        t = Traced(app)
        _, events = await t.request("GET", "/")
        assert all(e.detail["builtin"] and "your app added" not in e.explain
                   for e in find(events, "middleware", "start"))
        await t.aclose()
        return

    @app.post("/up")
    async def up(request: Request) -> int:
        return len(await request.body())

    t = Traced(app)
    r, events = await t.request("POST", "/up", content=b"x" * 100)
    assert r.status_code == 413
    for e in find(events, "middleware", "start"):
        assert "your app added" not in e.explain, e
        assert e.detail["builtin"] is True and e.detail["added_by_app"] is False
    await t.aclose()


async def test_server_error_middleware_is_described_as_it_behaves() -> None:
    app = FastAPI()

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("x")

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close()

    t = Traced(app)
    t.client._transport = httpx.ASGITransport(app=t.app, raise_app_exceptions=False)
    r, events = await t.request("GET", "/boom")
    assert r.status_code == 500
    exc = one(events, "exception")
    assert "without being caught" not in " ".join(e.explain for e in events)
    assert "catches" in exc.explain and "500" not in exc.explain  # before the answer: no status claimed
    start = one(events, "middleware", "start", "ServerErrorMiddleware")
    assert "WebSocket" not in start.explain  # an HTTP request: its errors are caught
    assert start.explain.endswith("nothing inside it handled becomes a 500 (Internal Server Error) here.")  # the app has no handler of its own
    await websocket_session(t.app, "/ws", [])
    ws_events = list(t.rec.by_request().values())[-1]
    ws_start = one(ws_events, "middleware", "start", "ServerErrorMiddleware")
    assert "this WebSocket passes straight through" in ws_start.explain and "500" not in ws_start.explain
    await t.aclose()


async def test_a_constraint_failure_is_not_called_an_invalid_type() -> None:
    app = FastAPI()

    @app.get("/n")
    async def n(n: Annotated[int, Query(ge=0)]) -> int:
        return n

    t = Traced(app)
    r, events = await t.request("GET", "/n", params={"n": "-1"})
    assert r.status_code == 422
    text = one(events, "validation").explain
    assert "not a valid" not in text and "greater than or equal to 0" in text
    await t.aclose()


def early() -> Iterator[int]:
    yield 1


async def test_function_scope_setup_end_makes_no_claim_about_cleanup_timing() -> None:
    app = FastAPI()

    @app.get("/f")
    async def f(x: Annotated[int, Depends(early, scope="function")]) -> int:
        return x

    t = Traced(app)
    r, events = await t.request("GET", "/f")
    setup_end = [e for e in find(events, "dependency", "end") if e.detail.get("phase") == "setup"][0]
    assert "waits until the request is finished" not in setup_end.explain
    teardown = [e for e in find(events, "dependency", "start") if e.detail.get("phase") == "teardown"][0]
    assert teardown.detail["response_started"] is False and "before any response was sent" in teardown.explain
    await t.aclose()


async def test_an_app_middleware_function_is_named_at_both_ends() -> None:
    app = FastAPI()

    @app.middleware("http")
    async def add_header(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["x-done"] = "1"
        return response

    @app.get("/")
    async def root() -> str:
        return "ok"

    t = Traced(app)
    r, events = await t.request("GET", "/")
    start = one(events, "middleware", "start", "BaseHTTPMiddleware")
    end = one(events, "middleware", "end", "BaseHTTPMiddleware")
    assert "add_header" in start.explain and "add_header" in end.explain
    assert "BaseHTTPMiddleware is done" not in end.explain
    await t.aclose()


async def test_an_apps_handler_named_like_fastapis_is_the_apps() -> None:
    app = FastAPI()

    @app.exception_handler(HTTPException)
    async def http_exception_handler(request: Request, exc: HTTPException) -> PlainTextResponse:
        return PlainTextResponse("mine", status_code=exc.status_code)

    @app.get("/x")
    async def x() -> None:
        raise HTTPException(404)

    t = Traced(app)
    r, events = await t.request("GET", "/x")
    assert r.text == "mine"
    exc = one(events, "exception")
    assert exc.detail["builtin_handler"] is False and exc.detail["handler_module"] == __name__
    assert "your handler" in exc.explain and "default handler" not in exc.explain
    await t.aclose()


async def test_a_client_that_leaves_mid_stream_does_not_have_its_full_answer() -> None:
    app = FastAPI()

    async def forever() -> AsyncIterator[bytes]:
        while True:
            yield b"tick\n"
            await asyncio.sleep(0.001)

    @app.get("/ticks")
    async def ticks() -> StreamingResponse:
        return StreamingResponse(forever())

    rec = Recorder()
    instrument(app, sink=rec)
    sent: list[dict[str, Any]] = []
    gone = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not sent:
            sent.append({})
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and len(sent) > 3:
            gone.set()
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": "/ticks", "raw_path": b"/ticks", "query_string": b"", "root_path": "", "headers": [],
             "client": ("127.0.0.1", 1), "server": ("t", 80)}
    await asyncio.wait_for(app(scope, receive, send), 10)
    (events,) = rec.by_request().values()
    end = one(events, "response", "end")
    assert end.detail["complete"] is False and "full answer" not in end.explain
    assert "unfinished" in end.explain
    assert one(events, "response", "point", "disconnect")


async def test_a_str_header_value_is_passed_on_untouched() -> None:
    app = FastAPI()

    class StrHeader:
        def __init__(self, inner: Any) -> None:
            self.app = inner

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            async def with_str(message: Any) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", []), ("x-str", "yes")]}
                await send(message)

            await self.app(scope, receive, with_str)

    app.add_middleware(StrHeader)

    @app.get("/")
    async def root() -> str:
        return "ok"

    seen: list[Any] = []

    async def server_send(message: Any) -> None:
        seen.append(message)

    rec = Recorder()
    instrument(app, sink=rec)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": "/", "raw_path": b"/", "query_string": b"", "root_path": "", "headers": [],
             "client": ("127.0.0.1", 1), "server": ("t", 80)}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    await app(scope, receive, server_send)
    assert ("x-str", "yes") in seen[0]["headers"]
    (events,) = rec.by_request().values()
    assert ["x-str", "yes"] in one(events, "response", "start").detail["headers"]


CALLS: list[str] = []


class Spy:
    def __repr__(self) -> str:
        CALLS.append("repr")
        return "Spy()"


class Settings(Mapping[str, int]):
    def __getitem__(self, key: str) -> int:
        CALLS.append("getitem")
        return 1

    def __iter__(self) -> Iterator[str]:
        CALLS.append("iter")
        return iter(["a"])

    def __len__(self) -> int:
        CALLS.append("len")
        return 1


def get_spy() -> Spy:
    return Spy()


def get_settings() -> Settings:
    return Settings()


async def test_the_tracer_never_calls_a_dependency_values_own_code() -> None:
    app = FastAPI()

    @app.get("/spy")
    async def spy(s: Annotated[Spy, Depends(get_spy)], settings: Annotated[Settings, Depends(get_settings)]) -> str:
        return "ok"

    t = Traced(app)
    r, events = await t.request("GET", "/spy")
    assert r.text == '"ok"' and CALLS == []
    args = one(events, "endpoint", "start").detail["args"]
    assert args == {"s": "<Spy>", "settings": "<Settings>"}
    for e in find(events, "dependency", "end"):
        assert e.detail["returned"] in ("Spy", "Settings")
    await t.aclose()
