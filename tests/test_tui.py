"""The Textual TUI driven by Pilot: every key binding and every flow.

The lesson tests use the real lesson 1: its app is served by a real uvicorn
on 127.0.0.1 in a worker thread, so every wait below polls the app's state
(bounded by a count, so a hang fails instead of hanging) and never sleeps
for a fixed time to paper over a race.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import Traced
from rich.console import Console
from rich.text import Text
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, Select, Static

from lifecycle_tracer.course import Lesson
from lifecycle_tracer.course.loader import find, load
from lifecycle_tracer.events import TraceEvent
from lifecycle_tracer.explain.waiting import waiting
from lifecycle_tracer.sinks import read_jsonl
from lifecycle_tracer.tui.app import TracerApp
from lifecycle_tracer.tui.composer import Composer
from lifecycle_tracer.tui.controllers import LessonController, ReplayController
from lifecycle_tracer.tui.panes import DetailPane, History, Pipeline, Waterfall
from lifecycle_tracer.tui.screens import HelpScreen

pytestmark = pytest.mark.anyio

SIZE = (160, 45)
POLLS = 3000  # × 10 ms: a generous bound, reached only if something hangs
POLL_DELAY = 0.01


# -- helpers ---------------------------------------------------------------------


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private LIFECYCLE_TRACER_HOME: the user's own keys.toml never leaks into a test."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("LIFECYCLE_TRACER_HOME", str(folder))
    return folder


def lesson_app(export_dir: Path | None = None, **kw: Any) -> TracerApp:
    return TracerApp(LessonController(load(find("lesson1"))), export_dir=export_dir, **kw)


async def wait_for(pilot: Pilot[Any], predicate: Callable[[], bool], what: str, polls: int = POLLS) -> None:
    """Poll the app's state until ``predicate()`` holds; fail (never hang) after ``polls`` polls."""
    for _ in range(polls):
        if predicate():
            return
        if not pilot.app.is_running:
            raise AssertionError(f"the app stopped (crashed?) while waiting for {what}")
        await pilot.pause(POLL_DELAY)
    raise AssertionError(f"timed out waiting for {what}")


@asynccontextmanager
async def running(app: TracerApp) -> AsyncIterator[Pilot[Any]]:
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.ready, "the app's server to start")
        yield pilot


async def fire(pilot: Pilot[Any], key: str = "enter") -> None:
    """Fire the current step's request with ``key`` and wait for its checks."""
    app: TracerApp = pilot.app  # type: ignore[assignment]
    step = app.step_index
    app.outcomes.pop(step, None)
    question = app.controller.lesson.steps[step].question if app.controller.lesson else None
    if question is not None and step not in app.answers and step not in app.revealed and step not in app.nudged:
        await pilot.press(key)  # the first press asks for a prediction instead of firing
        assert step in app.nudged and not app.busy
    await pilot.press(key)
    # busy until the answer is back; a fast answer may already be back when press() returns
    assert app.busy or step in app.outcomes, f"{key} did not fire step {step + 1}'s request"
    await wait_for(pilot, lambda: not app.busy and step in app.outcomes, f"step {step + 1}'s request to finish")


def plain(renderable: Any) -> str:
    """What a renderable shows, as plain text (very wide, so a long line stays one line)."""
    console = Console(width=2000, file=io.StringIO(), color_system=None, legacy_windows=False, highlight=False)
    console.print(Text(renderable) if isinstance(renderable, str) else renderable)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in out.splitlines())


def shown(app: TracerApp, widget: type[Static] | str) -> str:
    found: Widget = app.screen.query_one(widget)  # type: ignore[arg-type]
    assert isinstance(found, Static)
    return plain(found.content)


def status_bar(app: TracerApp) -> str:
    return shown(app, "#status")


def history_rows(app: TracerApp) -> dict[str, list[str]]:
    table = app.query_one(History)
    return {rid: table.row_cells(rid) for rid in table.row_ids()}


def record_notifications(app: TracerApp, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    said: list[str] = []
    original = app.notify

    def notify(message: str, **kw: Any) -> None:
        said.append(message)
        original(message, **kw)

    monkeypatch.setattr(app, "notify", notify)
    return said


def lesson_one() -> Lesson:
    return load(find("lesson1")).lesson


# -- firing a step ---------------------------------------------------------------


async def test_enter_fires_the_step_and_shows_the_checks() -> None:
    app = lesson_app()
    async with app.run_test(size=SIZE) as pilot:
        assert "starting the app's server" in status_bar(app) or app.ready
        await wait_for(pilot, lambda: app.ready, "the app's server to start")
        assert app.sub_title.startswith("app served at http://127.0.0.1:")
        assert "starting" not in status_bar(app)
        lesson = shown(app, "#lesson")
        assert "Step 1/2" in lesson and "One request, every stage" in lesson
        assert "Press Enter to fire the request." in lesson

        await fire(pilot)

        step = app.controller.lesson.steps[0]  # type: ignore[union-attr]
        outcomes = app.outcomes[0]
        assert len(outcomes) == len(step.checks) and all(o.ok for o in outcomes), outcomes
        lesson = shown(app, "#lesson")
        assert "What the trace shows:" in lesson and "✓ the response status is 200" in lesson
        assert "CHECK FAILED" not in lesson and "n for the next step" in lesson

        rid = app.selected
        assert rid is not None and rid.startswith("r")
        rows = history_rows(app)
        assert rows[rid][1:4] == ["GET", "/hello/Ada?excited=true", "200"]
        assert float(rows[rid][4]) > 0

        pipeline = shown(app, Pipeline)
        assert f"{rid}: GET /hello/Ada?excited=true" in pipeline
        for chip in ("client ▼ ", "┌ ✓ ServerErrorMiddleware", "✓ routing matched /hello/{name}",
                     "✓ validation 2 values valid", "✓ endpoint say_hello returned dict", "✓ serialization dict[str, str]",
                     "✓ response 200 · 25 bytes", "▶ client ✓ 200 in "):
            assert chip in pipeline, chip
        waterfall = shown(app, Waterfall)
        for name in ("ServerErrorMiddleware", "/hello/{name}", "excited", "say_hello", "dict[str, str]", " ms"):
            assert name in waterfall, name
        assert "running" not in waterfall
        events = app.current_events()
        detail = shown(app, DetailPane)
        assert f"#{events[-1].seq + 1} of {rid}" in detail and "request · end" in detail  # counted from 1
        await pilot.press("q")


async def test_before_any_request_the_pipeline_invites_a_fire() -> None:
    """The server's lifespan startup is in the History, but it is not a request to draw as one."""
    app = lesson_app()
    async with running(app) as pilot:
        await pilot.pause()
        pipeline = shown(app, Pipeline)
        assert "No request yet: press Enter" in pipeline, pipeline
        assert "FAILED" not in pipeline, pipeline
        await pilot.press("q")


async def test_answer_keys_before_firing_and_the_reveal_after() -> None:
    app = lesson_app()
    async with running(app) as pilot:
        await pilot.press("n")
        q = app.controller.lesson.steps[1].question  # type: ignore[union-attr]
        assert q is not None and q.answer == 1
        assert "Predict first: press 1-3" in shown(app, "#lesson")
        await pilot.press("1")
        assert app.answers == {1: 0}
        assert f"1. ● {q.choices[0]}" in shown(app, "#lesson")
        await pilot.press("3")
        assert app.answers == {1: 2}
        await pilot.press("4")  # the question has three choices: 4 is ignored
        assert app.answers == {1: 2}
        before = shown(app, "#lesson")
        assert f"3. ● {q.choices[2]}" in before and f"1. ○ {q.choices[0]}" in before
        assert "correct" not in before and "not this one" not in before and q.why not in before

        await fire(pilot)

        assert 1 in app.revealed and all(o.ok for o in app.outcomes[1])
        after = shown(app, "#lesson")
        assert f"2. ○ {q.choices[1]}  ✓ correct" in after
        assert f"3. ● {q.choices[2]}  ✗ not this one" in after
        assert q.why in after and "Predict first" not in after
        await pilot.press("2")  # once revealed, the answer is locked
        assert app.answers == {1: 2}
        await pilot.press("q")


async def test_n_and_p_move_between_steps() -> None:
    app = lesson_app()
    async with running(app) as pilot:
        seen = []
        for key in ("n", "n", "p", "p"):
            await pilot.press(key)
            seen.append(app.step_index)
            assert f"Step {app.step_index + 1}/2" in shown(app, "#lesson")
        assert seen == [1, 1, 0, 0]
        await pilot.press("q")


async def test_a_404_step_fires_and_its_pipeline_says_no_route_matched() -> None:
    app = TracerApp(LessonController(load(find("lesson2"))))
    async with running(app) as pilot:
        await pilot.press(*["n"] * 5)
        assert "When no route matches at all" in shown(app, "#lesson")
        await fire(pilot)
        assert all(o.ok for o in app.outcomes[5])
        rows = history_rows(app)
        assert rows[app.selected][1:4] == ["GET", "/products/1", "404"]  # type: ignore[index]
        assert "✗ routing FAILED: no route matched → 404" in shown(app, Pipeline)
        await pilot.press("q")


async def test_h_reveals_hints_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    app = lesson_app()
    async with running(app) as pilot:
        said = record_notifications(app, monkeypatch)
        await pilot.press("h")  # step 1 has no hints
        assert said == ["This step has no hints."] and app.hints == {}
        await pilot.press("n")
        hints = app.controller.lesson.steps[1].hints  # type: ignore[union-attr]
        assert hints
        assert f"(h for a hint, {len(hints)} left)" in shown(app, "#lesson")
        assert "Hint 1:" not in shown(app, "#lesson")
        for n in range(1, len(hints) + 1):
            await pilot.press("h")
            assert app.hints == {1: n}
            text = shown(app, "#lesson")
            assert f"Hint {n}: {hints[n - 1]}" in text
            assert f"Hint {n + 1}:" not in text
        assert "(h for a hint" not in shown(app, "#lesson")
        await pilot.press("h")  # none left: stays put
        assert app.hints == {1: len(hints)}
        await pilot.press("q")


# -- step mode -------------------------------------------------------------------


async def test_step_mode_holds_a_real_request_until_a_key_releases_it() -> None:
    app = lesson_app()
    async with running(app) as pilot:
        stepper = app.controller.stepper
        assert stepper is not None and not stepper.enabled
        await pilot.press("s")
        assert stepper.enabled and "STEP MODE on" in status_bar(app)

        await pilot.press("enter")
        assert app.busy
        await wait_for(pilot, lambda: app.paused is not None, "the request to pause at its first boundary")
        paused = app.paused
        assert paused is not None
        rid = paused.request_id
        status = status_bar(app)
        # Where it waits, in words (the old "paused after middleware start X" was event jargon).
        assert f"‖ {waiting(paused)}; Space moves it on, s leaves step mode" in status
        assert f"{rid} is waiting before {paused.name} runs" in status
        assert f"{rid}: GET /hello/Ada?excited=true" in shown(app, Pipeline)
        view = app.store.get(rid)
        assert view is not None and not view.done and view.events[-1] == paused
        assert stepper.paused() == [paused]

        for _ in range(6):  # one key press, one boundary
            before = app.paused
            assert before is not None
            await pilot.press("space")
            await wait_for(
                pilot, lambda b=before: app.paused is not None and app.paused.seq > b.seq,  # type: ignore[misc]
                "the request to pause at its next boundary")
            now = app.paused
            assert now is not None and now.request_id == rid
            view = app.store.get(rid)
            assert view is not None and view.events[-1] == now  # nothing ran past the held boundary
            # One boundary per press: what ran since the last pause is ends plus one new start or point
            # (a request's validation points come as one batch: FastAPI validates every parameter at once).
            crossed = [e for e in view.events if before.seq < e.seq <= now.seq and e.kind != "end"]
            assert crossed and {(e.stage, e.kind) for e in crossed} == {(now.stage, now.kind)}, crossed
            assert len(crossed) == 1 or now.stage == "validation", crossed
            assert f"‖ {waiting(now)}" in status_bar(app)
            assert not view.done and app.busy and 0 not in app.outcomes

        # Starlette's three layers at least (FastAPI 0.142+ adds two of its own).
        assert [e.stage for e in app.current_events()][:4] == ["request"] + ["middleware"] * 3
        await pilot.press("s")  # leaving step mode lets the request go on
        assert not stepper.enabled and app.paused is None
        assert "STEP MODE" not in status_bar(app) and "paused" not in status_bar(app)
        await wait_for(pilot, lambda: not app.busy and 0 in app.outcomes, "the released request to finish")
        assert all(o.ok for o in app.outcomes[0]), app.outcomes[0]
        view = app.store.get(rid)
        assert view is not None and view.done and view.status == 200
        assert history_rows(app)[rid][3] == "200"
        await pilot.press("q")


async def test_space_outside_step_mode_travels_forward() -> None:
    app = lesson_app()
    async with running(app) as pilot:
        await fire(pilot)
        await pilot.press("home", "space")
        assert app.cursor == 1
        await pilot.press("q")


# -- time travel -----------------------------------------------------------------


async def test_time_travel_moves_the_cursor_and_the_detail_pane() -> None:
    app = lesson_app()
    async with running(app) as pilot:
        await fire(pilot)
        events = app.current_events()
        rid, last = app.selected, len(events) - 1
        assert app.cursor is None and f"#{last + 1} of {rid}" in shown(app, DetailPane)  # '#N' counts from 1

        await pilot.press("left")
        assert app.cursor == last - 1
        assert f"#{events[last - 1].seq + 1} of {rid}" in shown(app, DetailPane)
        assert f"time travel: event {events[last - 1].seq + 1} of {last + 1}" in status_bar(app)  # the same N
        await pilot.press("right")
        assert app.cursor == last
        await pilot.press("right")  # clamped at the last event
        assert app.cursor == last

        await pilot.press("home")
        assert app.cursor == 0
        detail = shown(app, DetailPane)
        assert "request · start · GET /hello/Ada" in detail and f"#1 of {rid}" in detail
        pipeline = shown(app, Pipeline)
        assert f"client ▼ {rid}: GET /hello/Ada" in pipeline and "○ routing" in pipeline and "○ response" in pipeline
        assert "client ○ waiting for the response" in pipeline
        assert "time travel: event 1 of" in status_bar(app)
        await pilot.press("left")  # clamped at the first event
        assert app.cursor == 0

        await pilot.press("right", "right")
        assert app.cursor == 2
        assert f"middleware · start · {events[2].name}" in shown(app, DetailPane)

        await pilot.press("end")
        assert app.cursor is None
        assert f"#{last + 1} of {rid}" in shown(app, DetailPane)
        assert "time travel" not in status_bar(app)
        assert "✓ response 200" in shown(app, Pipeline)
        await pilot.press("q")


async def test_home_and_end_time_travel_when_the_detail_pane_scrolls() -> None:
    """The routing event's detail (every candidate route) is taller than the detail pane."""
    app = lesson_app()
    async with running(app) as pilot:
        await fire(pilot)
        events = app.current_events()
        routing = next(i for i, e in enumerate(events) if e.stage == "routing")
        await pilot.press("home", *["right"] * routing)
        assert app.cursor == routing and "routing · point" in shown(app, DetailPane)
        await pilot.press("end")
        assert app.cursor is None, "End did not return to the live end of the request"
        await pilot.press("home", *["right"] * routing)
        assert app.cursor == routing
        await pilot.press("home")
        assert app.cursor == 0, "Home did not travel to the first event"
        await pilot.press("q")


async def test_brackets_move_between_requests() -> None:
    app = lesson_app()
    async with running(app) as pilot:
        await fire(pilot)
        first = app.selected
        await pilot.press("n")
        await fire(pilot)
        second = app.selected
        assert first != second
        ids = list(app.store.requests)
        assert ids[-2:] == [first, second]
        assert f"{second}: GET /hello/Grace" in shown(app, Pipeline)

        await pilot.press("left")  # time travel is dropped when moving to another request
        await pilot.press("left_square_bracket")
        assert app.selected == first and app.cursor is None
        assert f"{first}: GET /hello/Ada?excited=true" in shown(app, Pipeline)
        assert f"of {first}" in shown(app, DetailPane)
        visited = [app.selected]
        for _ in range(len(ids)):
            await pilot.press("left_square_bracket")
            visited.append(app.selected)
        assert visited[-1] == ids[0]  # clamped at the oldest
        for _ in range(len(ids) + 1):
            await pilot.press("right_square_bracket")
        assert app.selected == second  # clamped at the newest
        assert f"{second}: GET /hello/Grace" in shown(app, Pipeline)
        await pilot.press("q")


# -- the composer ----------------------------------------------------------------


async def send_from_composer(pilot: Pilot[Any], method: str, path: str) -> None:
    app: TracerApp = pilot.app  # type: ignore[assignment]
    await pilot.press("c")
    assert isinstance(app.screen, Composer)
    app.screen.query_one("#method", Select).value = method
    path_input = app.screen.query_one("#path", Input)
    await pilot.click("#path")
    assert app.focused is path_input
    path_input.clear()  # it starts as the selected request's path, or "/"
    await pilot.press(*path)
    assert path_input.value == path
    await pilot.click("#send")


def requests_to(app: TracerApp, path: str) -> list[Any]:
    return [v for v in app.store.requests.values() if v.path == path]


async def test_composer_sends_the_composed_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    app = lesson_app()
    async with running(app) as pilot:
        said = record_notifications(app, monkeypatch)
        await send_from_composer(pilot, "GET", "/hello/Zed")
        await wait_for(pilot, lambda: any(v.done for v in requests_to(app, "/hello/Zed")), "GET /hello/Zed")
        assert not isinstance(app.screen, Composer)
        view = requests_to(app, "/hello/Zed")[0]
        assert view.method == "GET" and view.status == 200
        await wait_for(pilot, lambda: "GET /hello/Zed → 200" in said, "the composer's notification")
        assert history_rows(app)[view.request_id][1:4] == ["GET", "/hello/Zed", "200"]

        await send_from_composer(pilot, "GET", "/nowhere/at/all")
        await wait_for(pilot, lambda: any(v.done for v in requests_to(app, "/nowhere/at/all")), "the 404 request")
        view = requests_to(app, "/nowhere/at/all")[0]
        assert view.status == 404
        assert history_rows(app)[view.request_id][3] == "404"
        assert app.outcomes == {}  # no lesson step was fired
        await pilot.press("q")


async def test_composer_escape_cancels_without_sending() -> None:
    app = lesson_app()
    async with running(app) as pilot:
        def requests() -> list[str]:  # the lifespan's startup trace may land at any moment; it is no request
            return [rid for rid, view in app.store.requests.items() if not view.is_lifespan]

        before = requests()
        await pilot.press("c")
        assert isinstance(app.screen, Composer)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, Composer)
        assert requests() == before
        assert app.is_running
        await pilot.press("q")


async def test_enter_in_the_composer_sends_the_composed_request() -> None:
    app = lesson_app()
    async with running(app) as pilot:
        await pilot.press("c")
        assert isinstance(app.screen, Composer)
        await pilot.click("#path")
        await pilot.press("end", *"hello/Zed")
        await pilot.press("enter")  # submits the form, like the Send button
        await wait_for(pilot, lambda: not app.busy, "any request fired by Enter")
        assert app.outcomes == {}, "Enter in the composer fired the lesson step behind it"
        await wait_for(pilot, lambda: any(v.done for v in requests_to(app, "/hello/Zed")), "GET /hello/Zed")
        assert not isinstance(app.screen, Composer)
        await pilot.press("q")


# -- export, help, theme, layout, quit -------------------------------------------


async def test_export_writes_every_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "exports"
    out.mkdir()
    app = lesson_app(export_dir=out)
    async with running(app) as pilot:
        said = record_notifications(app, monkeypatch)
        await fire(pilot)
        rid = app.selected
        await pilot.press("e")
        folders = list(out.iterdir())
        assert len(folders) == 1 and folders[0].name.startswith("lifecycle-tracer-export-")
        folder = folders[0] / "1"
        assert getattr(app, "last_export", None) == folder
        assert {p.name for p in folder.iterdir()} >= {"trace.jsonl", "request.mmd", "trace.html", "screen.svg",
                                                     "trace.perfetto.json", "trace.otlp.json", "trace.har"}
        har = json.loads((folder / "trace.har").read_text(encoding="utf-8"))
        assert any("/hello/Ada" in e["request"]["url"] for e in har["log"]["entries"])
        assert "Perfetto, OTLP, HAR" in " ".join(said)
        events = read_jsonl(folder / "trace.jsonl")
        assert [e.seq for e in events if e.request_id == rid] == [e.seq for e in app.store.get(rid).events]  # type: ignore[union-attr]
        assert (folder / "request.mmd").read_text(encoding="utf-8").strip()
        assert "/hello/Ada" in (folder / "trace.html").read_text(encoding="utf-8")
        svg = (folder / "screen.svg").read_text(encoding="utf-8")
        assert svg.lstrip().startswith("<svg") and "lifecycle" in svg
        assert any(str(folder) in s and f"draws {rid} only" in s for s in said)
        assert str(folders[0]) in status_bar(app)  # the session's folder stays named on screen
        await pilot.press("e")  # a second export: a new numbered folder in the same session folder
        assert len(list(out.iterdir())) == 1 and (folders[0] / "2" / "trace.jsonl").is_file()
        await pilot.press("q")


def binding_ids() -> list[str]:
    return [b.id for b in TracerApp.BINDINGS if b.id]  # type: ignore[union-attr]


async def test_f1_and_question_mark_open_help_listing_every_binding(home: Path) -> None:
    app = lesson_app()
    async with running(app) as pilot:
        for key in ("f1", "question_mark"):
            await pilot.press(key)
            screen = app.screen
            assert isinstance(screen, HelpScreen), key
            assert [row[2] for row in screen.rows] == binding_ids()
            text = "\n".join(plain(s.content) for s in screen.query(Static))
            for binding in TracerApp.BINDINGS:
                assert binding.description in text and binding.id in text, binding  # type: ignore[union-attr]
            keys = {row[2]: row[0] for row in screen.rows}
            assert all(keys.values()), keys
            assert keys["help"] == "f1, ?" and keys["quit"] == "q" and keys["fire"] == "⏎"
            assert keys["request_prev"] == "[" and keys["request_next"] == "]"
            for row in screen.rows:
                assert row[0] in text
            assert str(home / "keys.toml") in text
            await pilot.press("escape")
            assert not isinstance(app.screen, HelpScreen)
        await pilot.press("q")


async def test_t_cycles_the_themes(monkeypatch: pytest.MonkeyPatch) -> None:
    app = lesson_app()
    async with running(app) as pilot:
        said = record_notifications(app, monkeypatch)
        assert app.theme == "textual-dark"
        seen = []
        for _ in range(3):
            await pilot.press("t")
            seen.append(app.theme)
        assert seen == ["textual-light", "lifecycle-high-contrast", "textual-dark"]
        assert said == [f"Theme: {name}" for name in seen]
        await pilot.press("t", "t")
        assert app.current_theme.name == "lifecycle-high-contrast"
        assert app.current_theme.background == "#000000"
        await pilot.press("q")


async def test_z_toggles_the_large_layout() -> None:
    app = lesson_app()
    async with running(app) as pilot:
        assert not app.screen.has_class("-large")
        await pilot.press("z")
        assert app.screen.has_class("-large")
        await pilot.pause()
        # A projected class needs the explanation most: the detail stays, the history and waterfall go.
        assert not app.query_one(History).display and not app.query_one("#waterfall-scroll").display
        assert app.query_one("#right").display
        await pilot.press("z")
        assert not app.screen.has_class("-large")
        await pilot.pause()
        assert app.query_one(History).display and app.query_one("#waterfall-scroll").display
        await pilot.press("q")


async def test_q_quits_and_stops_the_server() -> None:
    app = lesson_app()
    async with running(app) as pilot:
        url = app.controller.session.server.url  # type: ignore[attr-defined]
        assert httpx.get(url + "/hello/Zed", timeout=10).status_code == 200
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running or app.return_code is not None, "the app to quit")
    assert app.return_code == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/hello/Zed", timeout=5)


# -- keymap ----------------------------------------------------------------------


async def test_keys_toml_remaps_a_binding(home: Path) -> None:
    (home / "keys.toml").write_text('[keys]\nfire = "f"\n', encoding="utf-8")
    app = lesson_app()
    async with running(app) as pilot:
        await pilot.press("enter")  # no longer the fire key
        assert not app.busy and app.outcomes == {}
        await fire(pilot, "f")
        assert all(o.ok for o in app.outcomes[0])
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        assert ("f", "Fire", "fire") in app.screen.rows
        await pilot.press("escape")
        await pilot.press("q")


# -- replays ---------------------------------------------------------------------


async def recorded_lesson_one() -> list[TraceEvent]:
    traced = Traced(load(find("lesson1")).app)
    try:
        _, events = await traced.request("GET", "/hello/Ada", params={"excited": "true"})
        _, missing = await traced.request("GET", "/goodbye/Ada")
    finally:
        await traced.aclose()
    return events + missing


@pytest.mark.parametrize("with_lesson", [True, False], ids=["with-lesson", "no-lesson"])
async def test_replay_shows_the_recording_and_explains_what_it_cannot_do(
        with_lesson: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    events = await recorded_lesson_one()
    app = TracerApp(ReplayController(events, title="a recording", lesson=lesson_one() if with_lesson else None))
    async with running(app) as pilot:
        said = record_notifications(app, monkeypatch)
        assert app.title == "a recording"
        assert list(app.store.requests) == ["r1", "r2"]
        await pilot.press("right_square_bracket")  # the newest
        assert app.selected == "r2"
        rows = history_rows(app)
        assert rows["r1"][1:4] == ["GET", "/hello/Ada?excited=true", "200"]
        assert rows["r2"][1:4] == ["GET", "/goodbye/Ada", "404"]
        assert "r2: GET /goodbye/Ada" in shown(app, Pipeline)
        assert "✗ routing FAILED: no route matched → 404" in shown(app, Pipeline)
        assert f"#{events[-1].seq + 1} of r2" in shown(app, DetailPane)
        assert bool(app.query("#lesson")) is with_lesson
        assert "starting" not in status_bar(app)

        await pilot.press("left_square_bracket")
        assert app.selected == "r1" and "say_hello" in shown(app, Waterfall)
        await pilot.press("home")
        assert app.cursor == 0 and "#1 of r1" in shown(app, DetailPane)

        # A replay sends nothing: firing, composing and step mode are not offered (nor in the footer).
        for action in ("fire", "compose", "toggle_step_mode"):
            assert app.check_action(action, ()) is False, action
        footer = {b.binding.action for b in app.screen.active_bindings.values() if b.binding.show}
        assert not footer & {"fire", "compose", "toggle_step_mode"}
        await pilot.press("enter", "c", "s")
        assert not app.busy and not isinstance(app.screen, Composer) and not said
        assert "STEP MODE" not in status_bar(app)
        assert list(app.store.requests) == ["r1", "r2"] and app.is_running
        await pilot.press("q")
    assert app.return_code == 0


async def test_a_replay_opens_on_its_latest_request() -> None:
    events = await recorded_lesson_one()
    app = TracerApp(ReplayController(events, title="a recording"))
    async with running(app) as pilot:
        await pilot.pause()
        assert app.selected == "r2", f"the replay opened on {app.selected}, not on its latest request"
        assert "r2: GET /goodbye/Ada" in shown(app, Pipeline)
        await pilot.press("q")


async def test_replay_exports_without_a_server(tmp_path: Path) -> None:
    events = await recorded_lesson_one()
    out = tmp_path / "exports"
    out.mkdir()
    app = TracerApp(ReplayController(events, title="a recording"), export_dir=out)
    async with running(app) as pilot:
        await pilot.press("e")
        (session,) = out.iterdir()
        exported = read_jsonl(session / "1" / "trace.jsonl")
        assert [e.to_dict() for e in exported] == [json.loads(json.dumps(e.to_dict())) for e in events]
        await pilot.press("q")


async def test_enter_asks_for_a_prediction_before_firing(monkeypatch: pytest.MonkeyPatch) -> None:
    app = lesson_app()
    async with running(app) as pilot:
        said = record_notifications(app, monkeypatch)
        await pilot.press("n")  # step 2 has a question
        await pilot.press("enter")
        assert said[-1].startswith("Predict first: press 1-3") and not app.busy and 1 not in app.outcomes
        await pilot.press("2")
        await fire(pilot)  # answered: Enter fires at once
        assert app.revealed == {1} and all(o.ok for o in app.outcomes[1])
        await pilot.press("q")
