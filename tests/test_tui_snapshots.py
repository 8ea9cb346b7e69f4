"""SVG snapshots of the TUI (pytest-textual-snapshot).

Every snapshot replays events recorded in-process from lesson 1's app with
the tracer's clock replaced by a counter, so timings, durations and request
ids are the same on every run and every machine. Update the baselines with
``pytest tests/test_tui_snapshots.py --snapshot-update`` and review the SVGs.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import Traced

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
        return Recorded(loaded.lesson, ok_events, bad_events, gone_events)

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
    yield Recorded(load(find("lesson1")).lesson, groups["r1"], groups["r2"], groups["r3"])


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


def test_snapshot_a_normal_request(recorded: Recorded, snap_compare: Any) -> None:
    """Lesson 1, step 1: GET /hello/Ada?excited=true answered 200, every stage done."""
    assert snap_compare(replay(recorded.ok, recorded.lesson), terminal_size=SIZE)


def test_snapshot_a_422(recorded: Recorded, snap_compare: Any) -> None:
    """excited=maybe fails validation: the pipeline stops at validation, the response is 422."""
    assert snap_compare(replay(recorded.invalid, None), terminal_size=SIZE)


def test_snapshot_a_404(recorded: Recorded, snap_compare: Any) -> None:
    """GET /goodbye/Ada: no route matches; the lesson pane is on step 3, which is about exactly that."""
    assert snap_compare(replay(recorded.missing, recorded.lesson), press=["n", "n"], terminal_size=SIZE)


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
    for event in fresh.ok + fresh.invalid + fresh.missing:
        file = event.detail.get("file")
        if isinstance(file, str):  # no machine's absolute paths in a committed file
            if file.startswith(str(REPO) + "/"):
                file = file[len(str(REPO)) + 1 :]
            elif "site-packages/" in file:
                file = "site-packages/" + file.split("site-packages/", 1)[1]
            event = TraceEvent.from_dict({**event.to_dict(), "detail": {**event.detail, "file": file}})
        out.emit(event)
    out.close()
    print(f"wrote {FIXTURE}")
