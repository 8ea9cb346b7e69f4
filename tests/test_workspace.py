"""``init`` and the learner's workspace, through the real command.

After ``pip install .`` the lessons live in site-packages, so an edit there is
lost or impossible; ``init`` copies them into a folder the learner owns, and
inside it every command runs those copies.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lifecycle_tracer import __version__
from lifecycle_tracer.course.loader import discover, find, load, packaged_dir
from lifecycle_tracer.tui.app import TracerApp
from lifecycle_tracer.tui.controllers import LessonController

PACKAGED = discover(packaged_dir())


def cli(*args: str, cwd: Path, home: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LIFECYCLE_TRACER_LESSONS"}
    env.update(LIFECYCLE_TRACER_HOME=str(home), COLUMNS="200", **extra)
    return subprocess.run([sys.executable, "-m", "lifecycle_tracer", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def ws(tmp_path: Path, home: Path) -> Path:
    done = cli("init", cwd=tmp_path, home=home)
    assert done.returncode == 0, done.stderr
    return tmp_path / "lifecycle-lessons"


def break_lesson1(ws: Path) -> None:
    """The learner's edit: lesson 1 checks for a 200, so answering 201 fails a check."""
    lesson = ws / "lesson01_hello.py"
    text = lesson.read_text(encoding="utf-8")
    edited = text.replace('@app.get("/hello/{name}")', '@app.get("/hello/{name}", status_code=201)')
    assert edited != text, "lesson 1 changed: update this test's edit"
    lesson.write_text(edited, encoding="utf-8")


def test_init_copies_every_lesson_and_says_where(tmp_path: Path, home: Path) -> None:
    done = cli("init", cwd=tmp_path, home=home)
    ws = tmp_path / "lifecycle-lessons"
    assert done.returncode == 0, done.stderr
    assert len(PACKAGED) >= 18
    for lesson in PACKAGED:
        assert (ws / lesson.path.name).read_bytes() == lesson.path.read_bytes()
    assert (ws / ".lifecycle-tracer").read_text(encoding="utf-8") == f"lifecycle-tracer {__version__}\n"
    assert f"Copied {len(PACKAGED)} lessons to {ws}." in done.stdout
    assert "cd lifecycle-lessons, open lesson01_hello.py, change it, and run `lifecycle-tracer run lesson1`." in done.stdout
    assert done.stderr == ""


def test_run_uses_the_learners_copy_inside_the_workspace_and_the_packaged_one_outside(
        tmp_path: Path, home: Path, ws: Path) -> None:
    break_lesson1(ws)
    inside = cli("run", "lesson1", "--plain", cwd=ws, home=home)
    assert inside.returncode == 1, inside.stdout + inside.stderr
    assert f"lesson1 · lesson from {ws / 'lesson01_hello.py'} (your copy)" in inside.stdout
    assert "⇒  201" in inside.stdout
    assert "✗ CHECK FAILED: the response status is 200: the status was 201" in inside.stdout

    (ws / "notes").mkdir()  # the marker is looked for upward, so a subfolder is still the workspace
    below = cli("run", "1", "--plain", cwd=ws / "notes", home=home)
    assert below.returncode == 1 and "(your copy)" in below.stdout and "the status was 201" in below.stdout

    outside = cli("run", "lesson1", "--plain", cwd=tmp_path, home=home)
    assert outside.returncode == 0, outside.stdout + outside.stderr
    assert f"lesson1 · lesson from {PACKAGED[0].path.resolve()}\n" in outside.stdout  # the packaged path, unnamed
    assert "⇒  201" not in outside.stdout and "⇒  200" in outside.stdout and "Every check of the lesson's steps passed." in outside.stdout


def test_init_again_keeps_the_learners_files_and_restores_missing_ones(tmp_path: Path, home: Path, ws: Path) -> None:
    break_lesson1(ws)
    edited = (ws / "lesson01_hello.py").read_bytes()
    (ws / "lesson13_behind_the_route.py").unlink()
    again = cli("init", "lifecycle-lessons", cwd=tmp_path, home=home)
    assert again.returncode == 0, again.stderr
    assert (ws / "lesson01_hello.py").read_bytes() == edited
    assert (ws / "lesson13_behind_the_route.py").read_bytes() == PACKAGED[12].path.read_bytes()
    assert f"added the 1 missing lesson(s) (lesson13_behind_the_route.py) and kept your {len(PACKAGED) - 1} file(s)" in again.stdout
    third = cli("init", str(ws), cwd=tmp_path, home=home)
    assert third.returncode == 0 and f"with all {len(PACKAGED)} lessons; none was changed." in third.stdout
    assert (ws / "lesson01_hello.py").read_bytes() == edited


def test_init_refuses_a_folder_that_holds_other_files(tmp_path: Path, home: Path) -> None:
    mine = tmp_path / "project"
    mine.mkdir()
    (mine / "main.py").write_text("print('mine')\n", encoding="utf-8")
    done = cli("init", "project", cwd=tmp_path, home=home)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "Error: project already holds files and is not a lessons workspace; give `init` a new or empty folder."]
    assert sorted(p.name for p in mine.iterdir()) == ["main.py"]


def test_init_on_a_file_is_one_sentence(tmp_path: Path, home: Path) -> None:
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    done = cli("init", "notes.txt", cwd=tmp_path, home=home)
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["Error: notes.txt is a file, not a folder; give `init` a folder name for the lessons."]
    below = cli("init", "notes.txt/lessons", cwd=tmp_path, home=home)
    assert below.returncode == 2 and len(below.stderr.splitlines()) == 1
    assert below.stderr.startswith("Error: Could not write the lessons into notes.txt/lessons")


def test_list_and_check_inside_the_workspace_use_the_copies(tmp_path: Path, home: Path, ws: Path) -> None:
    (ws / "lesson02_parameters.py").write_text("this is not python(\n", encoding="utf-8")
    listed = cli("list", cwd=ws, home=home)
    assert listed.returncode == 0, listed.stderr
    assert f"Lessons from {ws} (your copy)" in listed.stdout
    assert "broken:" in listed.stdout and "syntax error" in listed.stdout
    packaged = cli("list", cwd=tmp_path, home=home)
    assert "broken:" not in packaged.stdout and "(the installed copy)" in packaged.stdout

    for lesson in ws.glob("lesson*.py"):  # one lesson keeps `check` quick
        if lesson.name != "lesson01_hello.py":
            lesson.unlink()
    break_lesson1(ws)
    checked = cli("check", cwd=ws, home=home)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert f"✗ {ws / 'lesson01_hello.py'}:" in checked.stdout and "the status was 201" in checked.stdout


def test_lessons_variable_still_beats_the_workspace(tmp_path: Path, home: Path, ws: Path) -> None:
    elsewhere = tmp_path / "authoring"
    elsewhere.mkdir()
    (elsewhere / "lesson02_parameters.py").write_bytes(PACKAGED[1].path.read_bytes())
    listed = cli("list", cwd=ws, home=home, LIFECYCLE_TRACER_LESSONS=str(elsewhere))
    assert listed.returncode == 0, listed.stderr
    assert "lesson2" in listed.stdout and "lesson1 " not in listed.stdout
    assert f"Lessons from {elsewhere} (from LIFECYCLE_TRACER_LESSONS)" in listed.stdout


@pytest.mark.anyio
async def test_the_tui_names_the_file_it_runs(ws: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv("LIFECYCLE_TRACER_LESSONS", raising=False)
    monkeypatch.chdir(ws)
    app = TracerApp(LessonController(load(find("lesson1"))))
    async with app.run_test(size=(160, 45)) as pilot:
        for _ in range(3000):  # × 10 ms, until the lesson's server is up
            if app.ready or not app.is_running:
                break
            await pilot.pause(0.01)
        assert app.ready
        assert app.sub_title.startswith("app served at http://127.0.0.1:")
        assert app.sub_title.endswith(" · lesson01_hello.py (your copy)")
