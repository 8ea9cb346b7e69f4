"""An API behind a stack of hand-written middleware: @app.middleware("http")
(BaseHTTPMiddleware), a BaseHTTPMiddleware subclass, and pure-ASGI classes that
rewrite headers, wrap receive and short-circuit."""

import itertools
import json
from contextvars import ContextVar

from fastapi import Depends, FastAPI, HTTPException, Request, WebSocket
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.datastructures import MutableHeaders
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._spec import WS, Req


class RequestIdMiddleware:
    """Pure ASGI: numbers requests and stamps the id on the response headers."""

    def __init__(self, app: ASGIApp, header: str = "x-request-id") -> None:
        self.app = app
        self.header = header
        self.counter = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = f"req-{next(self.counter)}"
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.append(self.header, rid)
            await send(message)

        await self.app(scope, receive, send_with_id)


TENANT: ContextVar[str] = ContextVar("tenant", default="public")


class TenantMiddleware:
    """Pure ASGI: puts the tenant from X-Tenant in a context variable for the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tenant = dict(scope["headers"]).get(b"x-tenant", b"public").decode()
        token = TENANT.set(tenant)
        try:
            await self.app(scope, receive, send)
        finally:
            TENANT.reset(token)


class UppercaseBodyMiddleware:
    """Pure ASGI: for /shout, rewrites the request body on the way in."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/shout":
            await self.app(scope, receive, send)
            return

        async def upper_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                message = {**message, "body": message.get("body", b"").upper()}
            return message

        await self.app(scope, upper_receive, send)


class MaintenanceMiddleware:
    """Pure ASGI: answers 503 by itself for /maintenance/* without calling the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/maintenance"):
            response = PlainTextResponse("down for maintenance", status_code=503, headers={"Retry-After": "120"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class AuditMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.method == "POST" and request.url.path == "/audit":
            body = await request.body()  # read in middleware, read again by the endpoint
            request.state.audited = len(body)
        response = await call_next(request)
        response.headers["X-Audited"] = "yes"
        return response


def make_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(AuditMiddleware)
    app.add_middleware(UppercaseBodyMiddleware)
    app.add_middleware(MaintenanceMiddleware)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(TenantMiddleware)

    @app.middleware("http")
    async def api_version(request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.headers.get("x-api-version") == "0":
            return JSONResponse({"detail": "API v0 is gone"}, status_code=410)
        if request.url.path == "/forbidden-by-middleware":
            raise HTTPException(status_code=403, detail="raised in middleware")
        if request.url.path == "/crash-in-middleware":
            raise ValueError("middleware bug")
        response = await call_next(request)
        response.headers["X-API-Version"] = request.headers.get("x-api-version", "1")
        return response

    @app.middleware("http")
    async def after_hook(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        if request.url.path == "/wrap":
            body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
            data = json.loads(body)
            return JSONResponse({"wrapped": data}, status_code=response.status_code)
        return response

    @app.get("/hello")
    async def hello(request: Request) -> dict[str, str]:
        return {"hello": "world", "request_id": request.state.request_id}

    @app.get("/sync-hello")
    def sync_hello() -> dict[str, str]:
        return {"hello": "from a thread"}

    @app.post("/shout")
    async def shout(request: Request) -> PlainTextResponse:
        return PlainTextResponse(await request.body())

    @app.post("/audit")
    async def audit(request: Request) -> dict[str, int]:
        body = await request.json()
        return {"audited": request.state.audited, "keys": len(body)}

    @app.get("/wrap")
    async def wrap() -> dict[str, int]:
        return {"n": 1}

    @app.get("/stream-through-middleware")
    async def streamed() -> StreamingResponse:
        async def gen():
            for i in range(3):
                yield f"part {i}\n".encode()

        return StreamingResponse(gen(), media_type="text/plain")

    @app.websocket("/ws/ticker")
    async def ticker(websocket: WebSocket) -> None:
        await websocket.accept()
        symbol = await websocket.receive_text()
        await websocket.send_json({"symbol": symbol, "price": 101.5})
        await websocket.close(code=1000)

    class TenantMismatch(Exception):
        pass

    @app.exception_handler(TenantMismatch)
    def tenant_mismatch(request: Request, exc: TenantMismatch) -> JSONResponse:
        return JSONResponse({"tenant_seen_by_handler": TENANT.get()}, status_code=403)

    def tenant_dep() -> str:
        return TENANT.get()  # a sync dependency, in the threadpool

    @app.get("/tenant")
    async def tenant(dep_view: str = Depends(tenant_dep)) -> dict[str, str]:
        if TENANT.get() == "blocked":
            raise TenantMismatch()
        return {"endpoint": TENANT.get(), "dependency": dep_view}

    @app.get("/tenant-sync")
    def tenant_sync() -> dict[str, str]:
        return {"endpoint": TENANT.get()}

    @app.get("/endpoint-crash")
    async def endpoint_crash() -> None:
        raise KeyError("missing-config")

    return app


REQUESTS = [
    Req("hello-through-stack", path="/hello", expect_status=200),
    Req("sync-endpoint-through-stack", path="/sync-hello", expect_status=200),
    Req("short-circuit-decorator-410", path="/hello", headers=(("x-api-version", "0"),), expect_status=410),
    Req("short-circuit-pure-asgi-503", path="/maintenance/db", expect_status=503),
    Req("receive-wrapper", method="POST", path="/shout", content=b"quiet please", expect_status=200),
    Req("body-read-in-middleware", method="POST", path="/audit", json={"a": 1, "b": 2}, expect_status=200),
    Req("response-replaced-by-middleware", path="/wrap", expect_status=200),
    Req("streaming-through-base-http", path="/stream-through-middleware", expect_status=200),
    Req("404-through-stack", path="/missing", expect_status=404),
    Req("context-var-from-middleware", path="/tenant", headers=(("x-tenant", "acme"),), expect_status=200),
    Req("context-var-in-threadpool", path="/tenant-sync", headers=(("x-tenant", "acme"),), expect_status=200),
    Req("context-var-in-sync-handler", path="/tenant", headers=(("x-tenant", "blocked"),), expect_status=403),
    Req(
        "http-exception-in-middleware-500",
        path="/forbidden-by-middleware",
        expect_status=500,
        expect_raises="fastapi.exceptions.HTTPException",
    ),
    Req("value-error-in-middleware-500", path="/crash-in-middleware", expect_status=500, expect_raises="ValueError"),
    Req("endpoint-crash-through-middleware", path="/endpoint-crash", expect_status=500, expect_raises="KeyError"),
]

WEBSOCKETS = [
    WS("websocket-through-middleware-stack", "/ws/ticker", (("send_text", "ACME"), ("receive",), ("receive",))),
]
