"""A service that checks its configuration at startup and refuses to start:
the lifespan raises before yield, so no request is ever served."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ._spec import Req


class MissingSetting(RuntimeError):
    pass


def make_app() -> FastAPI:
    settings: dict[str, str] = {"REGION": "eu-west-1"}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for name in ("REGION", "DATABASE_URL"):
            if name not in settings:
                raise MissingSetting(f"{name} is not set")
        yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/health")
    async def health() -> dict[str, bool]:  # pragma: no cover - never served
        return {"ok": True}

    return app


REQUESTS = [
    Req(
        "startup-fails-nothing-served",
        path="/health",
        expect_lifespan=("lifespan.startup.failed", "raised"),
        uvicorn=False,  # uvicorn exits when startup fails
    ),
]
