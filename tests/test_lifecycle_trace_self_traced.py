"""The ``lifecycle_trace`` fixture on an app that instruments itself, as one streaming to ``LiveSink`` does at import.

Its tracer has numbered requests before the test (earlier tests, the app's own
use): the trace still numbers this test's from ``r1``, and the app's own sink
keeps every event under its tracer's ids.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

import httpx
import pytest
from fastapi import BackgroundTasks, FastAPI

from lifecycle_tracer import Recorder, instrument
from lifecycle_tracer.instrument.tracer import tracer_of
from lifecycle_tracer.server import ServerThread
from lifecycle_tracer.testing import LifecycleTrace, traced

with warnings.catch_warnings():  # Starlette >= 1.x asks for httpx2 at import; not this project's warning
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette\.testclient` is deprecated")
    warnings.filterwarnings("ignore", message=r"The anyio\.abc\.\w+ alias is deprecated", category=DeprecationWarning)
    from starlette.testclient import TestClient

release = threading.Event()  # holds /hold's background task until the test lets it go


@pytest.fixture(autouse=True)
def let_go() -> Any:
    release.clear()
    yield
    release.set()


def self_traced_app() -> tuple[FastAPI, Recorder]:
    """An app whose own code instruments it, as one streaming to ``LiveSink`` does at import."""
    own = FastAPI()

    @own.get("/a")
    async def a() -> str:
        return "a"

    @own.get("/hold")
    def hold(bg: BackgroundTasks) -> str:
        bg.add_task(release.wait, 30)
        return "held"

    sink = Recorder()
    instrument(own, sink=sink)
    return own, sink


def started(recorder: Recorder) -> list[str]:
    return [e.request_id for e in recorder.events if (e.stage, e.kind) == ("request", "start")]


def test_a_self_traced_app_numbers_this_traces_requests_from_r1(lifecycle_trace: Any) -> None:
    own, sink = self_traced_app()
    tracer = tracer_of(own)
    client = TestClient(own)
    client.get("/a")
    client.get("/a")  # as an earlier test would have: the app's tracer has numbered r1 and r2
    trace = lifecycle_trace(own)
    assert client.get("/nowhere").status_code == 404
    assert client.get("/a").status_code == 200
    assert list(trace.by_request()) == ["r1", "r2"]
    assert (trace.status("r1"), trace.status("r2"), trace.events[0].name) == (404, 200, "GET /nowhere")
    assert repr(trace) == "<LifecycleTrace: 2 request(s), the last r2 GET /a>"
    # The app's own sink was given the same requests, under its tracer's ids.
    assert started(sink) == ["r1", "r2", "r3", "r4"]
    assert [len(evs) for evs in sink.by_request().values()][2:] == [len(evs) for evs in trace.by_request().values()]
    assert tracer_of(own) is tracer and tracer.sinks == (sink, trace)


def test_after_the_trace_a_self_traced_app_is_as_its_code_left_it() -> None:
    own, sink = self_traced_app()
    tracer = tracer_of(own)
    client = TestClient(own)
    client.get("/a")
    for _ in range(2):  # a second trace numbers from r1 too
        with traced(own) as trace:
            client.get("/a")
        assert list(trace.by_request()) == ["r1"]
    assert tracer_of(own) is tracer and tracer is not None and tracer.enabled and tracer.sinks == (sink,)
    client.get("/a")
    assert started(sink) == ["r1", "r2", "r3", "r4"]
    assert len(trace.events) == len(sink.by_request()["r3"])  # nothing more reached the trace


def test_a_request_under_way_when_the_trace_begins_is_left_out(lifecycle_trace: Any) -> None:
    own, sink = self_traced_app()
    with ServerThread(own) as server:
        try:
            assert httpx.get(server.url + "/hold").text == '"held"'  # r1's background task still runs
            trace: LifecycleTrace = lifecycle_trace(own)
        finally:
            release.set()
        assert sink.wait_for(lambda events: "r1" in sink.completed(), 5)
        assert httpx.get(server.url + "/a").text == '"a"'
        trace.wait_complete()
        # r1 ended during the trace, but began before it: only r2 is here, as this trace's r1.
        assert [(rid, evs[0].name) for rid, evs in trace.by_request().items()] == [("r1", "GET /a")]
    assert started(sink) == ["startup1", "r1", "r2", "shutdown1"]
