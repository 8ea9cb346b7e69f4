"""Step mode's holds: recorded as a fact (``held_ns``), left out of every duration, said in words.

A real request is held inside a running uvicorn at every boundary, on the
way in and on the way out (each middleware's return, each yield
dependency's teardown). While it is held the test does real work (it asks
the same server for another page), so every hold lasts a time the test can
bound from below, and the request's own time stays what it was.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic_ns
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from test_tui import history_rows, shown, status_bar, wait_for

from lifecycle_tracer import JsonLinesSink, Recorder, TraceEvent, instrument
from lifecycle_tracer.course.loader import find, load
from lifecycle_tracer.explain._words import ms
from lifecycle_tracer.explain.waiting import waiting
from lifecycle_tracer.export import html_page
from lifecycle_tracer.instrument.stepper import Stepper
from lifecycle_tracer.recording import read_events
from lifecycle_tracer.server import ServerThread
from lifecycle_tracer.timeline import bars, held_between, held_ns, held_words, ran_ns, request_ns
from lifecycle_tracer.tui.app import TracerApp
from lifecycle_tracer.tui.controllers import LessonController
from lifecycle_tracer.tui.panes import Waterfall
from lifecycle_tracer.tui.store import RequestView

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "lesson1_fixed_clock.jsonl"


# At module level: FastAPI reads the endpoint's (string) annotations from the module's names.
def get_db() -> Any:  # a sync yield dependency, as in lesson 3
    yield {"session": 1}


def paging(skip: int = 0) -> int:  # its input is checked before it is called: a hold sits in between
    return skip


def make_app() -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def stamp(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["x-stamped"] = "yes"
        return response

    @app.get("/notes")
    async def list_notes(db: Annotated[dict, Depends(get_db)], skip: Annotated[int, Depends(paging)]) -> dict:
        return {"session": db["session"], "skip": skip}

    @app.get("/other")
    async def other() -> dict:
        return {"other": True}

    return app


@dataclass
class HeldRun:
    events: list[TraceEvent]
    pauses: list[TraceEvent]
    at_least: dict[int, int] = field(default_factory=dict)  # held event's seq -> the hold's lower bound in ns
    response: httpx.Response | None = None
    recording: Path | None = None


@pytest.fixture(scope="module")
def held_run(tmp_path_factory: pytest.TempPathFactory) -> HeldRun:
    """One request to /notes, held at every boundary while the test asks the server for /other."""
    app = make_app()
    rec = Recorder()
    tracer = instrument(app, sink=rec)
    path = tmp_path_factory.mktemp("held") / "held.jsonl"
    jsonl = JsonLinesSink(path)
    tracer.add_sink(jsonl)
    pauses: queue.Queue[TraceEvent] = queue.Queue()
    stepper = Stepper(on_pause=pauses.put, select=lambda scope: scope.get("path") == "/notes")
    tracer.stepper = stepper
    stepper.enable()
    run = HeldRun([], [])
    with ServerThread(app) as server:
        got: dict[str, httpx.Response] = {}
        client = threading.Thread(
            target=lambda: got.setdefault("r", httpx.get(server.url + "/notes?skip=2", timeout=60)))
        client.start()
        with httpx.Client(base_url=server.url, timeout=30) as other:
            for _ in range(60):  # a bound: the request has about 25 boundaries
                try:
                    held = pauses.get(timeout=30 if not run.pauses else 5)
                except queue.Empty:
                    break
                seen = monotonic_ns()
                assert other.get("/other").json() == {"other": True}  # the server serves others meanwhile
                run.pauses.append(held)
                run.at_least[held.seq] = monotonic_ns() - seen
                assert stepper.release(held.request_id)
                if held.stage == "middleware" and held.kind == "end" and held.detail.get("depth") == 0:
                    break  # the outermost layer has returned: nothing is held after it
        stepper.disable()
        client.join(timeout=30)
        run.response = got.get("r")
        rid = run.pauses[0].request_id
        assert rec.wait_for(lambda evs: any(e.request_id == rid and e.stage == "request" and e.kind == "end"
                                            for e in evs), timeout=30)
    jsonl.close()
    run.events = rec.by_request()[rid]
    run.recording = path
    return run


def test_the_request_is_held_on_the_way_out(held_run: HeldRun) -> None:
    assert held_run.response is not None and held_run.response.json() == {"session": 1, "skip": 2}
    assert held_run.response.headers["x-stamped"] == "yes"
    events, pauses = held_run.events, held_run.pauses
    assert all(held == events[held.seq] for held in pauses)  # each pause is the event the trace holds after
    rid = events[0].request_id
    kinds = [(p.stage, p.kind, p.name, p.detail.get("phase")) for p in pauses]
    response_at = kinds.index(("response", "start", "200", None))
    teardown = kinds.index(("dependency", "start", "get_db", "teardown"))
    assert response_at < teardown, kinds
    assert waiting(pauses[teardown]) == f"{rid} is waiting before get_db's teardown runs"
    # On the way out every layer is held where it returned, innermost first, after the teardown.
    starts = [e.name for e in events if e.stage == "middleware" and e.kind == "start"]
    ends = [p for p in pauses if p.stage == "middleware" and p.kind == "end"]
    assert [p.name for p in ends] == starts[::-1] and len(starts) >= 4
    assert all(pauses.index(p) > teardown for p in ends)
    assert waiting(ends[-1]) == f"{rid} is waiting before ServerErrorMiddleware hands control back to the server"
    assert waiting(ends[0]) == f"{rid} is waiting before {ends[0].name} returns to the layer outside it"
    stamp = next(p for p in ends if p.detail.get("function"))
    assert waiting(stamp) == f"{rid} is waiting before the middleware {stamp.detail['function']} returns to the layer outside it"
    # Not a hold after a dependency's or the endpoint's end: the next start is held instead.
    assert not [p for p in pauses if p.kind == "end" and p.stage != "middleware"]


def test_each_hold_is_a_fact_on_the_events_after_it(held_run: HeldRun) -> None:
    events = held_run.events
    end = events[-1]
    assert (end.stage, end.kind) == ("request", "end")
    # Nothing was held before the first pause; from then on every event says how long it was held before it.
    first = min(held_run.at_least)
    assert all("held_ns" not in e.detail for e in events[: first + 1])
    assert all(type(e.detail.get("held_ns")) is int for e in events[first + 1:])
    assert end.detail["held_ns"] >= sum(held_run.at_least.values()) > 0
    # duration_ns stays the wall time the server saw; the request's own time leaves the holds out.
    assert end.detail["duration_ns"] > end.detail["held_ns"]
    assert request_ns(end.detail) == end.detail["duration_ns"] - end.detail["held_ns"]
    # The request's own clock never goes back: an event stamped before a hold (the dependency FastAPI
    # began before the hold after its input's check) counts only the holds before its moment.
    own = [e.t_ns - held_ns(e) for e in events]
    assert own == sorted(own), [(e.seq, e.stage, e.kind, e.name) for e in events]
    paging = next(e for e in events if e.stage == "dependency" and e.kind == "start" and e.name.endswith("paging"))
    before = events[paging.seq - 1]
    assert before.stage == "validation" and before.seq in held_run.at_least  # held after the check, before the call
    assert held_ns(paging) < held_ns(events[paging.seq + 1])


def test_durations_leave_the_holds_out(held_run: HeldRun) -> None:
    events = held_run.events
    end = events[-1]
    held = held_between(events)
    assert held == end.detail["held_ns"]
    own = request_ns(end.detail)
    assert own is not None and abs(ran_ns(events) - own) < 1_000_000  # the same request, timed from two places
    drawn = bars(events)
    request_bar = drawn[0]
    assert request_bar.end_ns is not None and request_bar.end_ns - request_bar.start_ns == ran_ns(events)
    assert all(b.end_ns is None or b.end_ns <= ran_ns(events) for b in drawn)
    assert all(b.start_ns <= ran_ns(events) for b in drawn)
    teardown = next(b for b in drawn if b.event.detail.get("phase") == "teardown")
    assert teardown.end_event is not None and teardown.end_ns is not None
    wall = teardown.end_event.t_ns - teardown.event.t_ns
    assert teardown.held_ns >= held_run.at_least[teardown.event.seq]
    assert teardown.end_ns - teardown.start_ns == wall - teardown.held_ns
    # The sentence, the history's ms column and the HTML page say the request's own time, and the hold apart.
    words = held_words(held)
    assert f"after {ms(own)}" in end.explain and f"It was also {words}, not counted in that time." in end.explain
    assert RequestView(end.request_id, events).duration_ms == own / 1e6
    page = html_page({end.request_id: events})
    assert f"{ran_ns(events) / 1e6:.3f} ms · {words}, left out of these times" in page
    assert f"{(end.t_ns - events[0].t_ns) / 1e6:.3f} ms" not in page  # the wall time is no bar's length


def test_a_recording_keeps_the_holds_and_replays_the_request_own_time(held_run: HeldRun, tmp_path: Path) -> None:
    assert held_run.recording is not None
    recorded = [e for e in read_events(held_run.recording) if e.request_id == held_run.events[0].request_id]
    assert recorded == held_run.events
    assert [(b.start_ns, b.end_ns, b.held_ns) for b in bars(recorded)] == \
        [(b.start_ns, b.end_ns, b.held_ns) for b in bars(held_run.events)]
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "lifecycle_tracer", "replay", str(held_run.recording), "--plain"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    own = request_ns(held_run.events[-1].detail)
    assert own is not None and f"GET /notes → 200  ({own / 1e6:.1f} ms)" in done.stdout
    # A held_ns that is not a number is refused in one sentence, like any other damaged fact.
    lines = held_run.recording.read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "bad.jsonl"
    data = json.loads(lines[-1])
    data["detail"]["held_ns"] = "a while"
    bad.write_text("\n".join([*lines[:-1], json.dumps(data)]) + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "lifecycle_tracer", "replay", str(bad), "--plain"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "detail.held_ns is the text 'a while'" in done.stdout + done.stderr


def test_a_recording_made_without_holds_draws_as_before() -> None:
    events = list(read_events(FIXTURE))
    first = events[0]
    request = [e for e in events if e.request_id == first.request_id]
    assert not any("held_ns" in e.detail for e in events)
    assert held_between(request) == 0 and ran_ns(request) == request[-1].t_ns - first.t_ns
    assert [b.start_ns for b in bars(request)] == [e.t_ns - first.t_ns for e in request if e.kind != "end"]
    end = next(e for e in events if e.stage == "request" and e.kind == "end")
    assert request_ns(end.detail) == end.detail["duration_ns"] and "step mode" not in end.explain


# -- the TUI at 100x30: lesson 3's request held at get_db's teardown --------------------------------

@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("LIFECYCLE_TRACER_HOME", str(folder))
    return folder


@pytest.mark.anyio
@pytest.mark.parametrize("size", [(100, 30), (160, 48)])
async def test_the_tui_holds_lesson_3_at_the_teardown_and_times_without_the_holds(
        home: Path, size: tuple[int, int]) -> None:
    app = TracerApp(LessonController(load(find("lesson3"))), step_mode=True)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.ready, "the app's server to start")
        await pilot.press("n")  # step 2: GET /me/notes, whose get_db has a teardown
        assert app.step_index == 1
        await pilot.press("1")  # answer its question, so Enter fires at once
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.paused is not None, "the request to be held at its first boundary")
        rid = app.paused.request_id  # type: ignore[union-attr]
        said: list[str] = []
        for _ in range(80):  # a bound: the request has about 30 boundaries
            held = app.paused
            if held is None:
                break
            said.append(status_bar(app))
            if held.stage == "dependency" and held.detail.get("phase") == "teardown":
                view = app.store.get(rid)
                assert view is not None and not view.done and view.events[-1] == held
                assert any(e.stage == "response" and e.kind == "end" for e in view.events)  # the response went out first
            await pilot.press("space")
            await wait_for(pilot, lambda h=held: app.paused is None or app.paused.seq > h.seq,  # type: ignore[misc]
                           "the request to move on to its next boundary")
            await wait_for(pilot, lambda: app.paused is not None or (app.store.get(rid) is not None
                                                                    and app.store.get(rid).done),  # type: ignore[union-attr]
                           "the next hold or the request's end")
        assert f"‖ {rid} is waiting before get_db's teardown runs; Space moves it on" in "\n".join(said)
        assert f"‖ {rid} is waiting before ServerErrorMiddleware hands control back to the server" in "\n".join(said)
        assert not any("paused after" in line for line in said)
        await wait_for(pilot, lambda: not app.busy and 1 in app.outcomes, "the step's checks")
        assert all(o.ok for o in app.outcomes[1]), app.outcomes[1]
        view = app.store.get(rid)
        assert view is not None and view.done
        end = view.events[-1]
        own = request_ns(end.detail)
        held = end.detail["held_ns"]
        assert own is not None and held > own  # a learner's key presses outlast the request's own work
        assert history_rows(app)[rid][4] == f"{own / 1e6:.1f}"
        app.cursor = None
        app.refresh_request()
        assert f"‖ {held_words(held)}, left out of these times" in shown(app, Waterfall)
        await pilot.press("q")
