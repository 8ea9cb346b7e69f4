"""The exercise in the TUI, with Pilot: not solved, the solution on o, solved after an edit and r, progress kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_tui import fire, running, shown, wait_for

from lifecycle_tracer.course.exercises import solved_text
from lifecycle_tracer.course.loader import MARKER, find, load, packaged_dir
from lifecycle_tracer.course.progress import Progress
from lifecycle_tracer.tui.app import TracerApp
from lifecycle_tracer.tui.controllers import LessonController
from lifecycle_tracer.tui.reading import ReadingScreen

pytestmark = pytest.mark.anyio


@pytest.fixture
def copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Lesson 2 in a workspace of the learner's own, and a private home for progress."""
    monkeypatch.setenv("LIFECYCLE_TRACER_HOME", str(tmp_path / "home"))
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / MARKER).write_text("test\n", encoding="utf-8")
    lesson = ws / "lesson02_parameters.py"
    shutil.copyfile(find("lesson2", packaged_dir()).path, lesson)
    return lesson


async def test_an_exercise_is_shown_unsolved_then_solved_after_an_edit_and_r(copy: Path, tmp_path: Path) -> None:
    controller = LessonController(load(find(str(copy))))
    controller.progress = progress = Progress(tmp_path / "home" / "progress.json")
    app = TracerApp(controller)
    lesson = controller.lesson
    (number, exercise), = lesson.exercises
    async with running(app) as pilot:
        for _ in range(number - 1):
            await pilot.press("n")
        text = shown(app, "#lesson")
        assert f"Exercise 1/1 (step {number}/{number})" in text and exercise.title in text
        assert f"Your code: {copy}, lines " in text

        await pilot.press("o")  # the solution only when asked
        await wait_for(pilot, lambda: isinstance(app.screen, ReadingScreen), "the solution to open")
        solution = shown(app, "ReadingScreen Static")
        assert "One way to solve" in solution and '@app.get("/users/me")' in solution
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ReadingScreen), "the solution to close")

        await fire(pilot)
        text = shown(app, "#lesson")
        assert "✗ not yet: the response status is 200" in text and "CHECK FAILED" not in text
        assert "Not solved yet" in text
        assert number not in progress.data["lesson2"]["exercises"]

        copy.write_text(solved_text(copy.read_text(encoding="utf-8"), copy, [exercise.region]), encoding="utf-8")
        await pilot.press("r")
        await wait_for(pilot, lambda: not app.busy and number - 1 in app.outcomes
                       and all(o.ok for o in app.outcomes[number - 1]), "the edit to solve the exercise")
        text = shown(app, "#lesson")
        assert "✓ Solved: every check of this exercise holds." in text
        assert Progress(progress.path).data["lesson2"]["exercises"] == [number]
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, ReadingScreen), "the glossary to open")
        glossary = shown(app, "ReadingScreen Static")
        assert "teardown" in glossary and "threadpool" in glossary
        await pilot.press("escape")
        await pilot.press("q")



async def test_the_lesson_is_announced_done_once_when_its_last_step_runs(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFECYCLE_TRACER_HOME", str(tmp_path / "home"))
    said: list[str] = []

    def app_for(progress: Progress) -> TracerApp:
        controller = LessonController(load(find("lesson1", packaged_dir())))
        controller.progress = progress
        app = TracerApp(controller)
        monkeypatch.setattr(app, "notify", lambda message, *a, **k: said.append(str(message)))
        return app

    progress = Progress(tmp_path / "home" / "progress.json")
    app = app_for(progress)
    async with running(app) as pilot:
        last = len(app.controller.lesson.steps) - 1
        for step in range(last + 1):
            await fire(pilot)
            done = [m for m in said if "done: every step run" in m]
            assert done == ([] if step < last else ["lesson1 done: every step run."]), (step, said)
            if step < last:
                await pilot.press("n")
    said.clear()
    app = app_for(Progress(progress.path))  # the next run, on a lesson done already
    async with running(app) as pilot:
        await fire(pilot)
        assert not [m for m in said if "done" in m], said
        assert Progress(progress.path).data["lesson1"]["done"] is True
