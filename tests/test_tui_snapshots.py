"""SVG snapshots of the TUI (pytest-textual-snapshot).

Every snapshot replays events recorded in-process from lesson 1's app with
the tracer's clock replaced by a counter, so timings, durations and request
ids are the same on every run and every machine. Update the baselines with
``pytest tests/test_tui_snapshots.py --snapshot-update`` and review the SVGs.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import Traced

from lifecycle_tracer import Recorder, instrument
from lifecycle_tracer.course import Lesson
from lifecycle_tracer.course.loader import find, load
from lifecycle_tracer.events import TraceEvent
from lifecycle_tracer.instrument import dependencies as _deps
from lifecycle_tracer.instrument import trace as _trace
from lifecycle_tracer.instrument import wire as _wire
from lifecycle_tracer.instrument.stepper import Stepper
from lifecycle_tracer.tui.app import TracerApp
from lifecycle_tracer.tui.controllers import ReplayController
from lifecycle_tracer.tui.messages import StepPaused

REPO = Path(__file__).resolve().parent.parent
SIZE = (160, 45)


@dataclass
class Recorded:
    lesson: Lesson
    ok: list[TraceEvent]  # GET /hello/Ada?excited=true → 200
    invalid: list[TraceEvent]  # GET /hello/Ada?excited=maybe → 422
    missing: list[TraceEvent]  # GET /goodbye/Ada → 404
    crashed: list[TraceEvent]  # lesson 9: GET /stats/average?total=10&count=0 → 500 (ZeroDivisionError)
    lesson9: Lesson


FIXTURE = Path(__file__).resolve().parent / "fixtures" / "lesson1_fixed_clock.jsonl"


def record_live(monkeypatch: pytest.MonkeyPatch) -> Recorded:
    """Lesson 1's three requests, in-process, with the tracer's clock replaced by a counter."""
    ticks = itertools.count(1)

    def clock() -> int:
        return 1_000_000 * next(ticks)

    for module in (_trace, _wire, _deps):
        monkeypatch.setattr(module, "clock", clock)
    loaded = load(find("lesson1"))

    async def record() -> Recorded:
        traced = Traced(loaded.app)
        try:
            ok, ok_events = await traced.request("GET", "/hello/Ada", params={"excited": "true"})
            bad, bad_events = await traced.request("GET", "/hello/Ada", params={"excited": "maybe"})
            gone, gone_events = await traced.request("GET", "/goodbye/Ada")
        finally:
            await traced.aclose()
        assert (ok.status_code, bad.status_code, gone.status_code) == (200, 422, 404)
        nine = load(find("lesson9"))
        rec = Recorder()
        instrument(nine.app, sink=rec)
        # The app's exception reaches the server (uvicorn logs it); here the transport keeps it, as uvicorn would.
        transport = httpx.ASGITransport(app=nine.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            crash = await client.get("/stats/average", params={"total": "10", "count": "0"})
        assert crash.status_code == 500
        (crashed,) = rec.by_request().values()
        return Recorded(loaded.lesson, ok_events, bad_events, gone_events, crashed, nine.lesson)

    return asyncio.run(record())


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch) -> Recorded:
    """A fresh recording on the installed FastAPI."""
    return record_live(monkeypatch)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorded]:
    """The committed recording, with the screen's surroundings pinned."""
    from lifecycle_tracer.sinks import read_jsonl

    # Paths in the detail pane are shown relative to the working folder, and the
    # help screen shows where keys.toml lives: pin both. The colours depend on
    # the terminal the tests run in (TERM, COLORTERM, NO_COLOR): pin them too.
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("LIFECYCLE_TRACER_HOME", "/lifecycle-tracer-home")
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.delenv("NO_COLOR", raising=False)
    groups: dict[str, list[TraceEvent]] = {}
    for ev in read_jsonl(FIXTURE):
        groups.setdefault(ev.request_id, []).append(ev)
    yield Recorded(load(find("lesson1")).lesson, groups["r1"], groups["r2"], groups["r3"], groups["r4"],
                   load(find("lesson9")).lesson)


def replay(events: list[TraceEvent], lesson: Lesson | None, **kw: Any) -> TracerApp:
    return TracerApp(ReplayController(events, title="snapshot", lesson=lesson), **kw)


def test_fixed_clock_makes_the_recording_repeatable(live: Recorded) -> None:
    assert [e.request_id for e in live.ok + live.invalid + live.missing] == (
        ["r1"] * len(live.ok) + ["r2"] * len(live.invalid) + ["r3"] * len(live.missing))
    assert all(e.t_ns % 1_000_000 == 0 for e in live.ok)
    assert live.ok[-1].detail["duration_ns"] % 1_000_000 == 0


def test_the_committed_recording_matches_a_live_one(recorded: Recorded, live: Recorded) -> None:
    """The fixture is what the tracer records today, apart from the installed FastAPI's own layers."""

    def shape(events: list[TraceEvent]) -> list[tuple[str, str, str]]:
        return [(e.stage, e.kind, e.name) for e in events if e.stage != "middleware"]

    assert shape(recorded.ok) == shape(live.ok)
    assert shape(recorded.invalid) == shape(live.invalid)
    assert shape(recorded.missing) == shape(live.missing)
    assert shape(recorded.crashed) == shape(live.crashed)


def test_snapshot_a_normal_request(recorded: Recorded, snap_compare: Any) -> None:
    """Lesson 1, step 1: GET /hello/Ada?excited=true answered 200, every stage done."""
    assert snap_compare(replay(recorded.ok, recorded.lesson), terminal_size=SIZE)


def test_snapshot_a_422(recorded: Recorded, snap_compare: Any) -> None:
    """excited=maybe fails validation: the pipeline stops at validation, the response is 422."""
    assert snap_compare(replay(recorded.invalid, None), terminal_size=SIZE)


def test_snapshot_a_404(recorded: Recorded, snap_compare: Any) -> None:
    """GET /goodbye/Ada: no route matches, so routing fails and an exception handler writes the 404."""
    assert snap_compare(replay(recorded.missing, None), terminal_size=SIZE)


def test_snapshot_step_mode_paused_mid_request(recorded: Recorded, snap_compare: Any) -> None:
    """Step mode holds the request right after its endpoint started; nothing later has happened yet."""
    upto = next(i for i, e in enumerate(recorded.ok) if e.stage == "endpoint" and e.kind == "start")
    held = recorded.ok[: upto + 1]
    controller = ReplayController(held, title="snapshot", lesson=recorded.lesson)
    controller.stepper = Stepper()  # what a live controller has; step_mode=True turns it on
    app = TracerApp(controller, step_mode=True)

    async def pause_there(pilot: Any) -> None:
        app.post_message(StepPaused(held[-1]))  # what the stepper posts when it holds a request
        await pilot.pause()
        assert app.paused == held[-1]

    assert snap_compare(app, terminal_size=SIZE, run_before=pause_there)


SMALL, LARGE = (100, 30), (160, 48)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["100x30", "160x48"])
def test_snapshot_a_normal_request_at_each_size(recorded: Recorded, snap_compare: Any, size: tuple[int, int]) -> None:
    """The same 200 on a small terminal and a big one: nothing that teaches is cut off."""
    assert snap_compare(replay(recorded.ok, recorded.lesson), terminal_size=size)


def test_snapshot_the_large_layout(recorded: Recorded, snap_compare: Any) -> None:
    """z, for a projector: the lesson, the picture and the explanation, big."""
    assert snap_compare(replay(recorded.ok, recorded.lesson), press=["z"], terminal_size=LARGE)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["100x30", "160x48"])
def test_snapshot_a_500_and_its_traceback(recorded: Recorded, snap_compare: Any, size: tuple[int, int]) -> None:
    """Lesson 9's ZeroDivisionError: the picture says who caught it; the inspector's Error tab shows the frames."""
    assert snap_compare(replay(recorded.crashed, recorded.lesson9), terminal_size=size)
    assert snap_compare(replay(recorded.crashed, recorded.lesson9), press=["i", "5"], terminal_size=size)


def test_snapshot_step_mode_held_on_the_way_out(recorded: Recorded, snap_compare: Any) -> None:
    """Held as a middleware returns, after the response went out: the status line says where, in words."""
    upto = next(i for i, e in enumerate(recorded.ok) if e.stage == "middleware" and e.kind == "end")
    held = recorded.ok[: upto + 1]
    controller = ReplayController(held, title="snapshot", lesson=recorded.lesson)
    controller.stepper = Stepper()
    app = TracerApp(controller, step_mode=True)

    async def pause_there(pilot: Any) -> None:
        app.post_message(StepPaused(held[-1]))
        await pilot.pause()
        assert app.paused == held[-1]

    assert snap_compare(app, terminal_size=SMALL, run_before=pause_there)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["100x30", "160x48"])
def test_snapshot_the_inspector(recorded: Recorded, snap_compare: Any, size: tuple[int, int]) -> None:
    """i, then 2: what the client got, the headers with the layer that added each, the body."""
    assert snap_compare(replay(recorded.ok, recorded.lesson), press=["i", "2"], terminal_size=size)


def test_snapshot_compare(recorded: Recorded, snap_compare: Any) -> None:
    """The 200 marked, the 422 selected, d: stage by stage, ≠ where they differ."""
    assert snap_compare(replay(recorded.ok + recorded.invalid, recorded.lesson),
                        press=["left_square_bracket", "m", "right_square_bracket", "d"], terminal_size=LARGE)


def test_snapshot_help_screen(recorded: Recorded, snap_compare: Any) -> None:
    """F1: every key, what it does, and its id for keys.toml."""
    assert snap_compare(replay(recorded.ok, recorded.lesson), press=["f1"], terminal_size=SIZE)


if __name__ == "__main__":  # write the committed recording again
    from lifecycle_tracer.sinks import JsonLinesSink

    patch = pytest.MonkeyPatch()
    fresh = record_live(patch)
    patch.undo()
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.unlink(missing_ok=True)
    out = JsonLinesSink(FIXTURE)
    def portable(value: Any) -> Any:
        """No machine's absolute paths in a committed file."""
        if isinstance(value, str):
            if value.startswith(str(REPO) + "/"):
                return value[len(str(REPO)) + 1 :]
            if "site-packages/" in value:
                return "site-packages/" + value.split("site-packages/", 1)[1]
            if value.startswith(sys.prefix) or value.startswith(sys.base_prefix):
                return "python/" + Path(value).name
            return value
        if isinstance(value, list):
            return [portable(v) for v in value]
        if isinstance(value, dict):
            return {k: portable(v) for k, v in value.items()}
        return value

    for event in fresh.ok + fresh.invalid + fresh.missing + fresh.crashed:
        data = event.to_dict()
        if event in fresh.crashed:  # lesson 9's app had a tracer of its own, counting from r1 again
            data["request_id"] = "r4"
        out.emit(TraceEvent.from_dict({**data, "detail": portable(data["detail"])}))
    out.close()
    print(f"wrote {FIXTURE}")
