"""Keys and flows: clicking the history, ↑/↓ and following the newest, and keys that say why they did nothing."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from test_tui import fire, lesson_app, record_notifications, running, shown, wait_for
from textual.widgets import Static

from lifecycle_tracer.tui.panes import History

pytestmark = pytest.mark.anyio


async def _three_requests(pilot) -> list[str]:  # type: ignore[no-untyped-def]
    app = pilot.app
    for _ in range(3):
        await fire(pilot)
    await wait_for(pilot, lambda: len([r for r in app.store.order if r.startswith("r")]) >= 3, "three requests")
    return [r for r in app.store.order if r.startswith("r")]


async def test_clicking_a_history_row_selects_that_row_and_the_header_selects_none(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app = lesson_app()
    async with running(app) as pilot:
        rows = await _three_requests(pilot)
        history = app.query_one(History)
        order = list(app.store.order)
        # The widget's first row is its border, the second the header, then one row per request.
        await pilot.click(History, offset=(3, 2 + order.index(rows[0])))
        await wait_for(pilot, lambda: app.selected == rows[0], "the clicked row to be selected")
        assert history.selected == rows[0]
        await pilot.click(History, offset=(3, 2 + order.index(rows[1])))
        await wait_for(pilot, lambda: app.selected == rows[1], "the second clicked row")
        await pilot.click(History, offset=(3, 1))  # the header row
        await pilot.pause()
        assert app.selected == rows[1]
        await pilot.press("q")


async def test_up_and_down_move_between_requests_and_f_follows_the_newest(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app = lesson_app()
    said = record_notifications(app, monkeypatch)
    async with running(app) as pilot:
        assert isinstance(app.focused, History)
        rows = await _three_requests(pilot)
        assert app.selected == rows[-1]
        await pilot.press("up")
        assert app.selected == rows[-2] and not app.follow_latest
        before = len(app.store.order)
        # A request from elsewhere (a browser, curl) arrives: the learner's choice stays.
        await asyncio.to_thread(httpx.get, app.controller.session.server.url + "/hello/Zed", timeout=30)
        await wait_for(pilot, lambda: len(app.store.order) > before, "the outside request's trace")
        assert app.selected == rows[-2]
        await pilot.press("down")
        assert app.selected == rows[-1]
        await pilot.press("f")
        newest = app.store.order[-1]
        assert app.selected == newest and app.follow_latest
        assert said[-1].startswith("Following the newest request")
        await pilot.press("q")


async def test_keys_that_cannot_go_further_say_so_and_the_last_step_shows_the_summary(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app = lesson_app()
    said = record_notifications(app, monkeypatch)
    async with running(app) as pilot:
        await pilot.press("p")
        assert said[-1] == "This is the first step."
        lesson = app.controller.lesson
        for _ in range(len(lesson.steps) - 1):
            await pilot.press("n")
        assert "Summary" in shown(app, "#lesson") and "Next lesson" in shown(app, "#lesson")
        await pilot.press("n")
        assert said[-1].startswith(f"That was the last step of {lesson.id}")
        await fire(pilot)
        await pilot.press("end")
        await pilot.press("space")  # not in step mode: Space travels, and at the end it says so
        assert said[-1].startswith("This is the request's last event")
        await pilot.press("home", "left")
        assert said[-1].startswith("This is the request's first event")
        assert isinstance(app.query_one("#lesson"), Static)
        await pilot.press("q")


async def test_the_panes_draw_again_after_a_resize() -> None:
    from lifecycle_tracer.tui.panes import Waterfall

    app = lesson_app()
    async with running(app) as pilot:
        await fire(pilot)
        wide = shown(app, Waterfall)
        await pilot.resize_terminal(100, 30)
        # Drawn again to the new width without a key being pressed.
        await wait_for(pilot, lambda: shown(app, Waterfall) != wide, "the waterfall to be drawn at the new width")
        assert max(len(line) for line in shown(app, Waterfall).splitlines()) < max(len(x) for x in wide.splitlines())
        await pilot.press("q")


async def test_an_export_goes_into_one_folder_per_session_and_to_the_browser_when_served(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = lesson_app(export_dir=tmp_path)
    delivered: list[str] = []
    async with running(app) as pilot:
        await fire(pilot)
        # As under --web: Textual's delivery is what the browser downloads (the driver is the browser's).
        type(app).is_web = property(lambda self: True)  # type: ignore[method-assign,assignment]
        try:
            app.deliver_binary = lambda path, **kw: delivered.append(kw["save_filename"])  # type: ignore[method-assign]
            await pilot.press("e")
            await pilot.press("e")
        finally:
            del type(app).is_web
        (session,) = tmp_path.iterdir()
        assert sorted(p.name for p in session.iterdir()) == ["1", "1.zip", "2", "2.zip"]
        # One download per export: a browser that blocks pop-ups lets only the first of several through.
        assert delivered == ["lifecycle-tracer-1.zip", "lifecycle-tracer-2.zip"]
        import zipfile

        with zipfile.ZipFile(session / "1.zip") as zf:
            names = set(zf.namelist())
        assert {f"lifecycle-tracer-1/{n}" for n in ("trace.html", "trace.jsonl", "trace.har")} <= names
        await pilot.press("q")


async def test_at_100x30_the_history_keeps_its_status_and_ms_columns() -> None:
    app = lesson_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.ready, "the app's server to start")
        await fire(pilot)
        history = app.query_one(History)
        lines = [history.render_line(y).text for y in range(len(app.store.order) + 1)]
        assert "st" in lines[0] and "ms" in lines[0]
        view = app.store.get(app.selected)
        row = next(line for line in lines if line.startswith(view.request_id))
        assert " 200 " in row and f"{view.duration_ms:.1f}"[:5] in row
        await pilot.press("q")


async def test_before_the_first_request_the_picture_says_how_one_arrives_in_this_mode() -> None:
    from fastapi import FastAPI

    from lifecycle_tracer.tui.app import TracerApp
    from lifecycle_tracer.tui.controllers import AppController, ReplayController
    from lifecycle_tracer.tui.panes import Pipeline

    app = lesson_app()
    async with running(app) as pilot:
        assert "press Enter to fire the step's request" in shown(app, Pipeline)
        await pilot.press("q")

    own = FastAPI()
    controller = AppController(own, "mine:app", host="127.0.0.1", port=0, record=None, show_secrets=False)
    app = TracerApp(controller)
    async with running(app) as pilot:
        await wait_for(pilot, lambda: controller.server.url in shown(app, Pipeline), "the URL to send requests to")
        words = shown(app, Pipeline)
        assert "Enter" not in words and "step" not in words and "press c to compose" in words
        await pilot.press("q")

    app = TracerApp(ReplayController([], title="an empty recording"))
    async with running(app) as pilot:
        words = shown(app, Pipeline)
        assert "holds no request" in words and "Enter" not in words and "compose" not in words
        await pilot.press("q")


async def test_at_100x30_the_lesson_pane_scrolls_to_the_answer_after_a_run_and_by_keyboard() -> None:
    from textual.containers import VerticalScroll

    from lifecycle_tracer.tui.lesson_pane import LessonPane

    app = lesson_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.ready, "the app's server to start")
        scroll, pane = app.query_one("#lesson-scroll", VerticalScroll), app.query_one(LessonPane)
        await pilot.press("n", "2")  # step 2 asks a question; answer it
        assert scroll.scroll_y == 0 and scroll.max_scroll_y > 0  # the step does not fit: the test means something
        await pilot.press("shift+down")
        await wait_for(pilot, lambda: scroll.scroll_y == 3, "Shift+↓ to scroll the lesson pane")
        await pilot.press("shift+up")
        await wait_for(pilot, lambda: scroll.scroll_y == 0, "Shift+↑ to scroll it back")

        await fire(pilot)
        console = app.console
        from rich.console import Group

        lines = console.render_lines(Group(*pane._parts), console.options.update_width(pane.size.width), pad=False)
        texts = ["".join(seg.text for seg in line) for line in lines]
        correct = next(i for i, t in enumerate(texts) if "✓ correct" in t)
        await wait_for(pilot, lambda: scroll.scroll_y > 0, "the pane to scroll to the answer")
        assert scroll.scroll_y <= correct < scroll.scroll_y + scroll.size.height, (scroll.scroll_y, correct)

        await pilot.press("n")  # the next step is read from its title
        await wait_for(pilot, lambda: scroll.scroll_y == 0, "the next step to start at its top")
        await pilot.press("q")


async def test_a_step_with_no_request_checks_its_answer_on_enter() -> None:
    """Lesson 13 step 1 asks about the lifespan and sends nothing: Enter checks the answer and reveals it."""
    from lifecycle_tracer.course.loader import find, load
    from lifecycle_tracer.tui.app import TracerApp
    from lifecycle_tracer.tui.controllers import LessonController

    app = TracerApp(LessonController(load(find("lesson13"))))
    async with running(app) as pilot:
        step = app.controller.lesson.steps[0]  # type: ignore[union-attr]
        assert step.request is None and step.question is not None
        assert "press Enter to check your answer" in shown(app, "#lesson")
        await pilot.press(str(step.question.answer + 1))
        assert "Your prediction is in" in shown(app, "#lesson") and "Predict first" not in shown(app, "#lesson")
        await fire(pilot)
        assert 0 in app.revealed and app.outcomes[0] and all(o.ok for o in app.outcomes[0])
        assert "✓ correct" in shown(app, "#lesson")
        await pilot.press("q")


async def test_a_step_that_sends_several_requests_says_how_to_reach_each(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from lifecycle_tracer.course.loader import find, load
    from lifecycle_tracer.course.session import step_requests
    from lifecycle_tracer.tui.app import TracerApp
    from lifecycle_tracer.tui.controllers import LessonController

    app = TracerApp(LessonController(load(find("lesson3"))))
    steps = app.controller.lesson.steps  # type: ignore[union-attr]
    index = next(i for i, s in enumerate(steps) if s.request is not None and len(step_requests(s)) > 1)
    async with running(app) as pilot:
        said = record_notifications(app, monkeypatch)
        for _ in range(index):
            await pilot.press("n")
        if steps[index].question is not None:
            await pilot.press("1")
        await fire(pilot)
        notes = [s for s in said if "requests (" in s]
        assert notes and "[ and ] move between them" in notes[-1]
        assert all(rid in notes[-1] for rid in list(app.store.requests)[-len(step_requests(steps[index])):])
        await pilot.press("q")
