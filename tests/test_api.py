"""The public API: what is exported, the event type, instrument()'s promises, the sinks."""

from __future__ import annotations

import io
import json
import threading
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from helpers import Traced, assert_well_formed, find, one
from rich.console import Console
from stage_app import make_app

import lifecycle_tracer
from lifecycle_tracer import STAGES, ConsoleSink, JsonLinesSink, Recorder, TraceEvent, instrument, read_jsonl

pytestmark = pytest.mark.anyio


def test_exported_members() -> None:
    assert lifecycle_tracer.__all__ == [
        "STAGES",
        "ConsoleSink",
        "JsonLinesSink",
        "LiveSink",
        "Recorder",
        "Sink",
        "TraceEvent",
        "Tracer",
        "UnsupportedFastAPIError",
        "__version__",
        "instrument",
        "read_jsonl",
        "uninstrument",
    ]
    for name in lifecycle_tracer.__all__:
        assert hasattr(lifecycle_tracer, name)


def test_stages() -> None:
    assert STAGES == (
        "request", "middleware", "routing", "dependency", "validation", "endpoint",
        "serialization", "response", "background", "exception", "websocket",
    )


def test_event_round_trips_exactly_through_json() -> None:
    ev = TraceEvent("r1", 3, "validation", "point", "item_id", 123, {"raw": "3", "value": 3, "errors": [{"loc": ["path", "x"]}]}, "Converted.")
    again = TraceEvent.from_dict(json.loads(json.dumps(ev.to_dict())))
    assert again == ev and again.to_dict() == ev.to_dict()
    with pytest.raises(AttributeError):
        ev.seq = 4  # type: ignore[misc]


def test_event_from_dict_rejects_nonsense() -> None:
    good = TraceEvent("r1", 0, "request", "start", "GET /", 1, {}, "x").to_dict()
    with pytest.raises(ValueError, match="unknown stage"):
        TraceEvent.from_dict({**good, "stage": "warp"})
    with pytest.raises(ValueError, match="missing"):
        TraceEvent.from_dict({k: v for k, v in good.items() if k != "seq"})


async def test_real_events_round_trip(tmp_path: Any) -> None:
    t = Traced(make_app())
    await t.request("GET", "/items/3", params={"q": "x"})
    await t.request("GET", "/items/abc")
    path = tmp_path / "trace.jsonl"
    sink = JsonLinesSink(path)
    for ev in t.rec.events:
        sink.emit(ev)
    sink.close()
    assert read_jsonl(path) == t.rec.events
    await t.aclose()


async def test_instrument_before_routes_and_middleware_are_added() -> None:
    from starlette.middleware.gzip import GZipMiddleware

    app = FastAPI()
    rec = Recorder()
    instrument(app, sink=rec)

    @app.get("/late")
    async def late() -> str:
        return "ok"

    app.add_middleware(GZipMiddleware)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/late")).json() == "ok"
    (events,) = rec.by_request().values()
    assert_well_formed(events)
    assert "GZipMiddleware" in [e.name for e in find(events, "middleware", "start")]
    assert one(events, "routing").detail["route"] == "/late"


async def test_instrument_twice_doubles_nothing() -> None:
    app = make_app()
    rec = Recorder()
    first = instrument(app, sink=rec)
    assert instrument(app, sink=rec) is first
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        await c.get("/items/3")
        second_sink = Recorder()
        instrument(app, sink=second_sink)  # after the stack is built
        await c.get("/items/4")
    groups = rec.by_request()
    assert len(groups) == 2
    a, b = groups.values()
    assert [(e.stage, e.kind) for e in a] == [(e.stage, e.kind) for e in b]
    assert len(find(a, "middleware", "start", "ServerErrorMiddleware")) == 1
    assert [e.request_id for e in second_sink.events] == [b[0].request_id] * len(b)


async def test_instrument_after_the_app_has_served() -> None:
    app = make_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/items/3")).status_code == 200
        stack = app.middleware_stack
        rec = Recorder()
        instrument(app, sink=rec)
        assert (await c.get("/items/3")).status_code == 200
    assert app.middleware_stack.app is stack  # the live stack was wrapped, not rebuilt
    (events,) = rec.by_request().values()
    assert_well_formed(events)
    assert one(events, "endpoint", "start").name.endswith("read_item")


async def test_disabled_tracer_passes_through() -> None:
    t = Traced(make_app())
    t.tracer.enabled = False
    r = await t.client.get("/items/3")
    assert r.status_code == 200 and t.rec.events == []
    await t.aclose()


async def test_concurrent_threadpool_requests_never_mix() -> None:
    barrier = threading.Barrier(4, timeout=20)
    t = Traced(make_app(barrier))
    results: dict[int, int] = {}

    async def hit(n: int) -> None:
        results[n] = (await t.client.get(f"/sync/{n}")).json()["n"]

    async with anyio.create_task_group() as tg:
        for n in range(4):
            tg.start_soon(hit, n)
    assert results == {n: n for n in range(4)}
    groups = t.rec.by_request()
    assert len(groups) == 4
    seen = set()
    for events in groups.values():
        assert_well_formed(events)
        n = one(events, "validation", name="n").detail["value"]
        assert events[0].detail["path"] == f"/sync/{n}"
        assert one(events, "endpoint", "start").detail["threadpool"] is True
        assert one(events, "response", "end").detail["bytes"] == len(json.dumps({"n": n}, separators=(",", ":")))
        seen.add(n)
    assert seen == {0, 1, 2, 3}
    await t.aclose()


async def test_console_sink_prints_explanations() -> None:
    out = io.StringIO()
    app = make_app()
    sink = ConsoleSink(Console(file=out, width=120, force_terminal=False))
    instrument(app, sink=sink)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        await c.get("/items/abc")
    sink.close()  # the sink prints on its own thread
    text = out.getvalue()
    assert "validation" in text and "item_id" in text and "422" in text
    assert "FAILED" in text


def test_recorder_wait_for_sees_events_from_other_threads() -> None:
    rec = Recorder()
    ev = TraceEvent("r1", 0, "request", "start", "GET /", 1, {}, "x")
    thread = threading.Thread(target=rec.emit, args=(ev,))
    thread.start()
    assert rec.wait_for(lambda evs: len(evs) == 1, timeout=10)
    thread.join()


def test_unsupported_fastapi_is_refused_in_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    import fastapi.routing

    from lifecycle_tracer import UnsupportedFastAPIError

    monkeypatch.delattr(fastapi.routing, "serialize_response")
    with pytest.raises(UnsupportedFastAPIError) as info:
        instrument(FastAPI(), sink=Recorder())
    message = str(info.value)
    assert "fastapi.routing.serialize_response" in message
    assert message.count(". ") == 0 and message.endswith(".")


def test_too_old_fastapi_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import fastapi

    from lifecycle_tracer import UnsupportedFastAPIError

    monkeypatch.setattr(fastapi, "__version__", "0.99.1")
    with pytest.raises(UnsupportedFastAPIError, match="needs FastAPI 0.121.0 or newer"):
        instrument(FastAPI(), sink=Recorder())


def test_declared_minimum_matches_the_runtime_check() -> None:
    import re
    import tomllib
    from pathlib import Path

    from lifecycle_tracer.instrument.compat import MIN_FASTAPI

    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    (spec,) = [d for d in pyproject["project"]["dependencies"] if d.startswith("fastapi")]
    declared = re.search(r">=([\d.]+)", spec).group(1)  # type: ignore[union-attr]
    assert tuple(int(p) for p in declared.split(".")) == MIN_FASTAPI
