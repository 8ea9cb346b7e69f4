from __future__ import annotations

from typing import Any

import httpx

from lifecycle_tracer import Recorder, TraceEvent, instrument


class Traced:
    """A traced app plus an in-process httpx client, one request at a time."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.rec = Recorder()
        self.tracer = instrument(app, sink=self.rec)
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")

    async def request(self, method: str, path: str, **kw: Any) -> tuple[httpx.Response, list[TraceEvent]]:
        before = {e.request_id for e in self.rec.events}
        response = await self.client.request(method, path, **kw)
        groups = self.rec.by_request()
        new = [rid for rid in groups if rid not in before]
        assert len(new) == 1, f"expected one new request, got {new}"
        return response, groups[new[0]]

    async def aclose(self) -> None:
        await self.client.aclose()


def find(events: list[TraceEvent], stage: str, kind: str | None = None, name: str | None = None) -> list[TraceEvent]:
    return [
        e
        for e in events
        if e.stage == stage and (kind is None or e.kind == kind) and (name is None or e.name == name)
    ]


def one(events: list[TraceEvent], stage: str, kind: str | None = None, name: str | None = None) -> TraceEvent:
    found = find(events, stage, kind, name)
    assert len(found) == 1, f"expected one {stage}/{kind}/{name}, got {[(e.stage, e.kind, e.name) for e in found]}"
    return found[0]


def index(events: list[TraceEvent], stage: str, kind: str, name: str | None = None) -> int:
    for i, e in enumerate(events):
        if e.stage == stage and e.kind == kind and (name is None or e.name == name):
            return i
    raise AssertionError(f"no {stage}/{kind}/{name} event")


def assert_well_formed(events: list[TraceEvent]) -> None:
    assert [e.seq for e in events] == list(range(len(events)))
    times = [e.t_ns for e in events]
    assert times == sorted(times)
    assert events[0].stage == "request" and events[0].kind == "start"
    assert events[-1].stage == "request" and events[-1].kind == "end"
    assert len({e.request_id for e in events}) == 1
    for e in events:
        assert e.explain and (e.explain[0].isupper() or e.explain[0].isidentifier()) and e.explain.endswith((".", ")")), e


async def websocket_session(app: Any, path: str, texts: list[str]) -> list[dict[str, Any]]:
    """Drive one WebSocket conversation straight through the ASGI interface.

    Starlette's TestClient warns about httpx on current Starlette, so the
    tests speak ASGI directly: connect, send each text once accepted, then
    disconnect once the app closes. Returns every message the app sent.
    """
    import anyio

    incoming: list[dict[str, Any]] = [{"type": "websocket.connect"}]
    outgoing: list[dict[str, Any]] = []
    wake = anyio.Event()
    state = {"wake": wake}

    async def receive() -> dict[str, Any]:
        while not incoming:
            await state["wake"].wait()
            state["wake"] = anyio.Event()
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        outgoing.append(message)
        if message["type"] == "websocket.accept":
            incoming.extend({"type": "websocket.receive", "text": t} for t in texts)
        elif message["type"] == "websocket.close":
            incoming.append({"type": "websocket.disconnect", "code": message.get("code", 1000)})
        state["wake"].set()

    scope = {
        "type": "websocket", "asgi": {"version": "3.0"}, "scheme": "ws", "path": path,
        "raw_path": path.encode(), "root_path": "", "query_string": b"", "headers": [],
        "client": ("127.0.0.1", 5000), "server": ("testserver", 80), "subprotocols": [],
    }
    await app(scope, receive, send)
    return outgoing
