"""An ingestion API with request limits: an app-wide max_body_size, a larger
limit for one router, a middleware that reads the body first, chunked uploads,
strict Content-Type checking, and a handler that streams the body itself
(the limits where this FastAPI has them)."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Request
from starlette.middleware.base import RequestResponseEndpoint
from starlette.responses import Response

from ._spec import Req

_INIT_PARAMS = FastAPI.__init__.__code__.co_varnames
HAS_BODY_LIMITS = "max_body_size" in _INIT_PARAMS  # newer than FastAPI 0.121
# With strict Content-Type checking, a JSON body sent without that header is not parsed.
STRICT_CONTENT_TYPE = "strict_content_type" in _INIT_PARAMS


def make_app() -> FastAPI:
    app = FastAPI(max_body_size=1024) if HAS_BODY_LIMITS else FastAPI()

    @app.middleware("http")
    async def signature_check(request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.url.path == "/signed":
            body = await request.body()  # verify a signature over the raw body
            if request.headers.get("x-signature") != str(len(body)):
                return Response("bad signature", status_code=401)
        return await call_next(request)

    @app.post("/events")
    async def ingest(events: list[dict[str, Any]]) -> dict[str, int]:
        return {"accepted": len(events)}

    @app.post("/signed")
    async def signed(payload: dict[str, Any]) -> dict[str, int]:
        return {"keys": len(payload)}

    @app.post("/raw-count")
    async def raw_count(request: Request) -> dict[str, int]:
        total = 0
        async for chunk in request.stream():
            total += len(chunk)
        return {"bytes": total}

    @app.post("/note")
    def note(text: Annotated[str, Body(embed=True)]) -> dict[str, str]:
        return {"text": text}

    bulk = APIRouter(prefix="/bulk")

    @bulk.post("/events")
    async def bulk_ingest(events: list[dict[str, Any]]) -> dict[str, int]:
        return {"accepted": len(events)}

    if HAS_BODY_LIMITS:
        app.include_router(bulk, max_body_size=64 * 1024)
    else:  # pragma: no cover
        app.include_router(bulk)
    return app


def _events(n: int) -> list[dict[str, Any]]:
    return [{"id": i, "kind": "click", "target": f"button-{i}"} for i in range(n)]


REQUESTS = [
    Req("small-body-ok", method="POST", path="/events", json=_events(3), expect_status=200),
    Req("raw-stream", method="POST", path="/raw-count", content=b"x" * 900, expect_status=200),
    Req(
        "json-without-content-type",
        method="POST",
        path="/note",
        content=b'{"text": "hi"}',
        expect_status=422 if STRICT_CONTENT_TYPE else 200,
    ),
    Req(
        "text-plain-content-type-422",
        method="POST",
        path="/note",
        content=b'{"text": "hi"}',
        headers=(("content-type", "text/plain"),),
        expect_status=422,
    ),
    Req(
        "signed-in-middleware",
        method="POST",
        path="/signed",
        json={"a": 1},
        headers=(("x-signature", "7"),),
        expect_status=200,
    ),
    Req(
        "bad-signature-401",
        method="POST",
        path="/signed",
        json={"a": 1},
        headers=(("x-signature", "0"),),
        expect_status=401,
    ),
]
if HAS_BODY_LIMITS:
    REQUESTS += [
        Req("app-limit-413", method="POST", path="/events", json=_events(100), expect_status=413),
        Req("app-limit-413-streamed-read", method="POST", path="/raw-count", content=b"x" * 5000, expect_status=413),
        Req(
            "app-limit-413-chunked-upload",
            method="POST",
            path="/raw-count",
            content=b"x" * 5000,
            chunked=True,
            expect_status=413,
        ),
        Req(
            "app-limit-413-chunked-json",
            method="POST",
            path="/events",
            content=b"[" + b",".join([b'{"id": 1}'] * 300) + b"]",
            headers=(("content-type", "application/json"),),
            chunked=True,
            expect_status=413,
        ),
        Req(
            "app-limit-413-chunked-body-read-in-middleware",
            method="POST",
            path="/signed",
            content=b'{"blob": "' + b"y" * 3000 + b'"}',
            headers=(("content-type", "application/json"), ("x-signature", "3012")),
            chunked=True,
            expect_status=413,
        ),
        Req(
            "chunked-under-limit",
            method="POST",
            path="/raw-count",
            content=b"z" * 1000,
            chunked=True,
            expect_status=200,
        ),
        Req(
            "app-limit-413-body-read-in-middleware",
            method="POST",
            path="/signed",
            json={"blob": "y" * 3000},
            headers=(("x-signature", "3011"),),
            expect_status=413,
        ),
        Req("router-limit-allows-more", method="POST", path="/bulk/events", json=_events(100), expect_status=200),
        Req("router-limit-413", method="POST", path="/bulk/events", json=_events(2000), expect_status=413),
    ]
