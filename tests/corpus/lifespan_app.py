"""A service whose lifespan opens a fake connection pool: the startup state is
used by endpoints through request.state and app.state, and shutdown is logged."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request, WebSocket

from ._spec import WS, Req


class Pool:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.open = True
        self.queries: list[str] = []

    async def fetch(self, sql: str) -> list[dict[str, Any]]:
        assert self.open, "pool is closed"
        self.queries.append(sql)
        return [{"sql": sql, "rows": len(self.queries)}]


def make_app() -> FastAPI:
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        pool = Pool("postgres://corpus")
        app.state.started = True
        events.append("startup")
        yield {"pool": pool, "feature_flags": {"beta": True}}
        pool.open = False
        events.append("shutdown")
        if app.state.pending_metrics:  # flushing buffered metrics on the way out
            raise ConnectionError(f"metrics sink unreachable, {len(app.state.pending_metrics)} point(s) lost")

    app = FastAPI(lifespan=lifespan)
    app.state.pending_metrics = []

    def get_pool(request: Request) -> Pool:
        return request.state.pool

    @app.get("/query")
    async def query(sql: str = "select 1", pool: Pool = Depends(get_pool)) -> list[dict[str, Any]]:
        return await pool.fetch(sql)

    @app.get("/flags")
    def flags(request: Request) -> dict[str, Any]:
        return {"flags": request.state.feature_flags, "started": request.app.state.started}

    @app.websocket("/ws/query")
    async def ws_query(websocket: WebSocket) -> None:
        await websocket.accept()
        sql = await websocket.receive_text()
        await websocket.send_json(await websocket.state.pool.fetch(sql))
        await websocket.close()

    @app.post("/metrics")
    def buffer_metric(name: str, value: float) -> dict[str, int]:
        app.state.pending_metrics.append((name, value))
        return {"buffered": len(app.state.pending_metrics)}

    @app.get("/events")
    async def lifecycle_events() -> list[str]:
        return events

    return app


REQUESTS = [
    Req("state-through-dependency", path="/query", params={"sql": "select now()"}, expect_status=200),
    Req(
        "state-shared-between-requests",
        path="/query",
        followups=(Req("second-query", path="/query", params={"sql": "select 2"}),),
        expect_status=200,
    ),
    Req("state-sync-endpoint", path="/flags", expect_status=200),
    Req("startup-ran", path="/events", expect_status=200, uvicorn=False),
    Req(
        "shutdown-fails",
        method="POST",
        path="/metrics",
        params={"name": "latency", "value": "0.2"},
        expect_status=200,
        expect_lifespan=("lifespan.startup.complete", "lifespan.shutdown.failed", "raised"),
        uvicorn=False,  # the shared server shuts down once, at the end of the session
    ),
]

WEBSOCKETS = [
    WS("websocket-uses-lifespan-state", "/ws/query", (("send_text", "select 3"), ("receive",), ("receive",))),
]
