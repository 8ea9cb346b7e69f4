"""Exception handlers the app defines: RequestValidationError answered with 400, a
catch-all for Exception answering 503 (it runs in ServerErrorMiddleware), a
handler that happens to be called http_exception_handler, and a plain def handler."""


from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..oracle import HttpReq


class TeapotError(Exception):
    pass


async def validation_as_400(request: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse({"errors": len(exc.errors())}, status_code=400)


async def http_exception_handler(request: Request, exc: StarletteHTTPException) -> PlainTextResponse:
    """Same name (and __qualname__) as FastAPI's default handler: only its module tells them apart."""
    return PlainTextResponse(f"app says {exc.status_code}", status_code=exc.status_code)


def teapot(request: Request, exc: TeapotError) -> PlainTextResponse:
    return PlainTextResponse("short and stout", status_code=418)


async def everything_else(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"down": type(exc).__name__}, status_code=503)


def make_app() -> FastAPI:
    app = FastAPI()
    app.add_exception_handler(RequestValidationError, validation_as_400)
    app.add_exception_handler(StarletteHTTPException, http_exception_handler)
    app.add_exception_handler(TeapotError, teapot)
    app.add_exception_handler(Exception, everything_else)

    @app.get("/number/{n}")
    async def number(n: int) -> dict[str, int]:
        return {"n": n}

    @app.get("/missing")
    async def missing() -> None:
        raise HTTPException(status_code=410, detail="gone")

    @app.get("/teapot")
    async def teapot_route() -> None:
        raise TeapotError()

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("boom")

    @app.get("/crash-sync")
    def crash_sync() -> None:
        raise ValueError("sync boom")

    return app


REQUESTS = [
    HttpReq("validation error answered 400", path="/number/abc"),
    HttpReq("HTTPException to the app's http_exception_handler", path="/missing", uvicorn=True),
    HttpReq("router 404 to the app's http_exception_handler", path="/nowhere"),
    HttpReq("plain def handler", path="/teapot"),
    HttpReq("Exception handler answers 503", path="/crash", uvicorn=True),
    HttpReq("Exception handler answers 503 (def endpoint)", path="/crash-sync"),
    HttpReq("valid", path="/number/7"),
]
