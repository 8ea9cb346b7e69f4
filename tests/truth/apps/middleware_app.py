"""Middleware: an @app.middleware("http") function, a BaseHTTPMiddleware subclass, a
pure ASGI middleware that adds a header whose value is a str (not bytes), one that
answers by itself without calling the app, and CORS."""


from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import PlainTextResponse
from starlette.middleware.base import BaseHTTPMiddleware

from ..oracle import HttpReq


class StrHeader:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-str-value", "not-bytes")]}
            await send(message)

        await self.app(scope, receive, send_with_header)


class Gate:
    """Answers 401 itself when x-block is sent; the app behind it never runs."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and any(k == b"x-block" for k, _ in scope.get("headers", [])):
            await PlainTextResponse("blocked", status_code=401)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class Stamp(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["x-stamp"] = "1"
        return response


def make_app() -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def add_version(request: Request, call_next: Any) -> Any:
        if request.url.path == "/short-circuit":
            return PlainTextResponse("answered by the middleware function")
        response = await call_next(request)
        response.headers["x-version"] = "7"
        return response

    app.add_middleware(Stamp)
    app.add_middleware(StrHeader)
    app.add_middleware(Gate)
    app.add_middleware(CORSMiddleware, allow_origins=["https://example.com"], allow_methods=["GET"])

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    @app.get("/short-circuit")
    async def never() -> dict[str, str]:
        return {"never": "reached"}

    return app


REQUESTS = [
    HttpReq("through every layer", path="/hello", uvicorn=True),
    HttpReq("pure ASGI middleware answers itself", path="/hello", headers=(("x-block", "1"),)),
    HttpReq("middleware function answers itself", path="/short-circuit"),
    HttpReq("CORS preflight", method="OPTIONS", path="/hello",
            headers=(("origin", "https://example.com"), ("access-control-request-method", "GET"))),
    HttpReq("CORS simple request", path="/hello", headers=(("origin", "https://example.com"),)),
]
