"""The same stages through a real uvicorn on 127.0.0.1, over a real socket."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from helpers import assert_well_formed, find, index, one
from stage_app import make_app
from websockets.sync.client import connect

from lifecycle_tracer import Recorder, TraceEvent, instrument
from lifecycle_tracer.server import ServerThread


class Live:
    def __init__(self) -> None:
        self.rec = Recorder()
        app = make_app()
        instrument(app, sink=self.rec)
        self.server = ServerThread(app)
        self.done = 0

    def request(self, method: str, path: str, **kw: object) -> tuple[httpx.Response, list[TraceEvent]]:
        with httpx.Client(base_url=self.server.url) as client:
            response = client.request(method, path, **kw)  # type: ignore[arg-type]
        return response, self.wait_last()

    def wait_last(self) -> list[TraceEvent]:
        # The client has its answer before background tasks and teardown finish:
        # wait for the request's own end event, never for a fixed time.
        self.done += 1
        assert self.rec.wait_for(lambda evs: len(self.rec.completed()) >= self.done, timeout=20)
        rid = self.rec.completed()[self.done - 1]
        return self.rec.by_request()[rid]


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    lv = Live()
    with lv.server:
        yield lv


def test_server_binds_loopback(live: Live) -> None:
    assert live.server.url.startswith("http://127.0.0.1:")


def test_200_through_every_stage(live: Live) -> None:
    r, events = live.request("GET", "/items/3", params={"q": "hi"}, headers={"authorization": "Bearer xyz"})
    assert r.status_code == 200 and r.json() == {"name": "item3"}
    assert_well_formed(events)
    stages = {e.stage for e in events}
    assert stages >= {"request", "middleware", "routing", "dependency", "validation", "endpoint",
                      "serialization", "response", "background"}
    assert dict(events[0].detail["headers"])["authorization"] == "Bearer [redacted]"
    assert events[0].detail["client"][0] == "127.0.0.1"
    assert index(events, "response", "end") < index(events, "background", "start")


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "marker"),
    [
        ("GET", "/nowhere", None, 404, "routing"),
        ("DELETE", "/items/3", None, 405, "routing"),
        ("GET", "/items/abc", None, 422, "validation"),
        ("POST", "/items", {"name": "pen", "price": -1}, 418, "exception"),
        ("GET", "/boom", None, 500, "exception"),
    ],
)
def test_error_paths(live: Live, method: str, path: str, body: object, status: int, marker: str) -> None:
    r, events = live.request(method, path, json=body)
    assert r.status_code == status
    assert_well_formed(events)
    assert events[-1].detail["status_code"] == status
    assert find(events, marker)
    if status >= 418:
        assert one(events, "response", "start").detail["status_code"] == status
        exc = one(events, "exception")
        # A handled exception names the status its handler chose; an unhandled one is
        # reported as it reaches ServerErrorMiddleware, before anything is answered.
        assert exc.detail["status_code"] == (status if exc.detail["handled"] else None)


def test_streaming_chunks(live: Live) -> None:
    r, events = live.request("GET", "/stream")
    assert r.text == "chunk0\nchunk1\nchunk2\n"
    assert one(events, "response", "end").detail["bytes"] == len(r.content)


def test_websocket(live: Live) -> None:
    with connect(live.server.url.replace("http", "ws") + "/ws") as ws:
        ws.send("hello")
        assert ws.recv() == "echo hello"
    events = live.wait_last()
    assert_well_formed(events)
    assert [e.name for e in find(events, "websocket")][:4] == ["connect", "accept", "receive", "send"]
    assert "close" in [e.name for e in find(events, "websocket")]


def test_lifespan_startup_and_shutdown_are_traced() -> None:
    from contextlib import asynccontextmanager

    from fastapi import FastAPI

    order: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        order.append("startup")
        yield
        order.append("shutdown")

    app = FastAPI(lifespan=lifespan)
    rec = Recorder()
    instrument(app, sink=rec)
    with ServerThread(app, lifespan="on") as server:
        assert httpx.get(server.url + "/nothing").status_code == 404
    assert order == ["startup", "shutdown"]
    groups = rec.by_request()
    startup, request, shutdown = groups.values()
    assert [e.name for e in startup] == ["lifespan startup", "request"]
    assert startup[-1].detail["ok"] is True and startup[0].detail["phase"] == "startup"
    assert request[0].detail["path"] == "/nothing"
    assert shutdown[0].detail["phase"] == "shutdown" and shutdown[-1].detail["ok"] is True
