"""An internal tool with a catch-all error page: an Exception handler (run by
ServerErrorMiddleware, which still re-raises), debug=False, and errors raised in
background tasks and in yield-dependency teardown."""

from collections.abc import Iterator

from fastapi import BackgroundTasks, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from ._spec import Req


class ConfigMissing(Exception):
    pass


def make_app() -> FastAPI:
    app = FastAPI(debug=False)

    @app.exception_handler(Exception)
    async def catch_all(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"error": "internal", "kind": type(exc).__name__, "path": request.url.path},
            status_code=500,
            headers={"X-Incident": "logged"},
        )

    def flaky_resource() -> Iterator[str]:
        yield "resource"
        raise ConfigMissing("teardown found a missing setting")

    @app.get("/ok")
    async def ok() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/crash")
    async def crash() -> None:
        raise ConfigMissing("DATABASE_URL")

    @app.get("/sync-crash")
    def sync_crash() -> None:
        [][1]

    @app.get("/background-crash")
    async def background_crash(tasks: BackgroundTasks) -> dict[str, str]:
        def send_email() -> None:
            raise ConnectionError("smtp down")

        tasks.add_task(send_email)
        return {"queued": "email"}

    @app.get("/teardown-crash")
    def teardown_crash(res: str = Depends(flaky_resource)) -> dict[str, str]:
        return {"used": res}

    return app


REQUESTS = [
    Req("ok", path="/ok", expect_status=200),
    Req(
        "catch-all-handler-then-reraise",
        path="/crash",
        expect_status=500,
        expect_raises="corpus.catch_all.ConfigMissing",
    ),
    Req("catch-all-sync-index-error", path="/sync-crash", expect_status=500, expect_raises="IndexError"),
    Req(
        "background-task-raises-after-response",
        path="/background-crash",
        expect_status=200,
        expect_raises="ConnectionError",
    ),
    Req(
        "yield-dependency-teardown-raises",
        path="/teardown-crash",
        expect_status=200,
        expect_raises="corpus.catch_all.ConfigMissing",
    ),
]
