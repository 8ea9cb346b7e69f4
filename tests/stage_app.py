"""One app that exercises every lifecycle stage; the stage tests drive it."""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Cookie,
    Depends,
    FastAPI,
    Header,
    HTTPException,
    Request,
    WebSocket,
)
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from pydantic import BaseModel

LOG: list[str] = []


class Teapot(Exception):
    pass


class Item(BaseModel):
    name: str
    price: float


class ItemOut(BaseModel):
    name: str


def get_db():
    LOG.append("db setup")
    yield "db"
    LOG.append("db teardown")


def get_fresh() -> int:
    LOG.append("fresh")
    return 1


async def get_user(db: Annotated[str, Depends(get_db)], x_user: Annotated[str, Header()] = "anon") -> str:
    return x_user


def audit(msg: str) -> None:
    LOG.append(f"audit {msg}")


class PureASGI:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def make_app(barrier: threading.Barrier | None = None) -> FastAPI:
    app = FastAPI()
    users = APIRouter(prefix="/api/users", tags=["users"])

    @users.get("/{user_id}")
    async def read_user(user_id: int) -> dict[str, int]:
        return {"user_id": user_id}

    app.include_router(users)

    @app.get("/items/{item_id}", response_model=ItemOut)
    async def read_item(
        item_id: int,
        user: Annotated[str, Depends(get_user)],
        db: Annotated[str, Depends(get_db)],
        tasks: BackgroundTasks,
        q: str | None = None,
    ) -> Any:
        tasks.add_task(audit, f"item {item_id}")
        return {"name": f"item{item_id}", "secret": "dropped"}

    @app.post("/items")
    def create_item(item: Item) -> Item:
        if item.price < 0:
            raise HTTPException(status_code=418, detail="I'm a teapot")
        return item

    @app.get("/fresh")
    def fresh(a: Annotated[int, Depends(get_fresh, use_cache=False)],
              b: Annotated[int, Depends(get_fresh, use_cache=False)]) -> int:
        return a + b

    @app.get("/sync/{n}")
    def sync_endpoint(n: int) -> dict[str, int]:
        if barrier is not None:
            barrier.wait()
        return {"n": n}

    @app.get("/plain")
    async def plain() -> PlainTextResponse:
        return PlainTextResponse("hello")

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def gen():
            for i in range(3):
                yield f"chunk{i}\n"

        return StreamingResponse(gen(), media_type="text/plain")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("kaboom")

    @app.get("/teapot")
    async def teapot() -> None:
        raise Teapot("short and stout")

    @app.get("/whoami")
    async def whoami(session: Annotated[str | None, Cookie()] = None,
                     authorization: Annotated[str | None, Header()] = None) -> dict[str, bool]:
        return {"has_session": session is not None, "has_auth": authorization is not None}

    @app.get("/middleware-raises")
    async def never() -> None:  # the middleware raises first
        return None

    @app.exception_handler(Teapot)
    async def teapot_handler(request: Request, exc: Teapot) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=418)

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        text = await websocket.receive_text()
        await websocket.send_text(f"echo {text}")
        await websocket.close(code=1000)

    @app.middleware("http")
    async def raise_in_middleware(request: Request, call_next: Any) -> Any:
        if request.url.path == "/middleware-raises":
            raise HTTPException(status_code=403, detail="not here")
        return await call_next(request)

    app.add_middleware(PureASGI)
    app.add_middleware(CORSMiddleware, allow_origins=["https://example.com"], allow_methods=["*"])
    return app
