"""``run --watch``: a saved lesson file is reloaded on the same port, its checks run again, and a
broken save is one sentence while the previous version keeps serving.

Each test edits a copy of lesson 1 in tmp_path (LIFECYCLE_TRACER_LESSONS points there). The
plain-mode test reads the real command's output on a reader thread and waits for each line it
needs with a bounded queue timeout; the TUI test polls the app's state (see test_tui.py).
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_tui import SIZE, record_notifications, wait_for

from lifecycle_tracer.course import Request
from lifecycle_tracer.course.loader import find, load
from lifecycle_tracer.course.watch import changes
from lifecycle_tracer.tui.app import TracerApp
from lifecycle_tracer.tui.controllers import LessonController

LESSON = Path(__file__).resolve().parent.parent / "lessons" / "lesson01_hello.py"
LINE_TIMEOUT = 120.0  # per awaited line; reached only if something hangs


@pytest.fixture
def lesson_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "lessons"
    folder.mkdir()
    copy = folder / LESSON.name
    copy.write_text(LESSON.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("LIFECYCLE_TRACER_LESSONS", str(folder))
    monkeypatch.setenv("LIFECYCLE_TRACER_HOME", str(tmp_path / "home"))
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"the lesson no longer contains {old!r}: update this test"
    path.write_text(text.replace(old, new), encoding="utf-8")


class Output:
    """The lines a subprocess prints, read on a thread so every wait has a timeout."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        assert proc.stdout is not None
        stdout = proc.stdout

        def read() -> None:
            for line in stdout:
                self.lines.put(line.rstrip("\n"))
            self.lines.put(None)

        self.stdout = stdout
        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()

    def close(self) -> None:
        """After the process ended: the reader reaches the end of its output, then the pipe is closed."""
        self.reader.join(timeout=LINE_TIMEOUT)
        self.stdout.close()

    def until(self, wanted: Callable[[str], bool], what: str) -> list[str]:
        """Lines up to and including the first that ``wanted`` accepts."""
        got = []
        while True:
            try:
                line = self.lines.get(timeout=LINE_TIMEOUT)
            except queue.Empty:
                raise AssertionError(f"timed out waiting for {what}; the output so far:\n" + "\n".join(self.seen)) from None
            if line is None:
                raise AssertionError(f"the command ended before {what}; its output:\n" + "\n".join(self.seen))
            self.seen.append(line)
            got.append(line)
            if wanted(line):
                return got


def test_plain_watch_reruns_on_save_and_reports_a_broken_save(lesson_copy: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200", "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lifecycle_tracer", "run", "lesson1", "--plain", "--watch"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
        encoding="utf-8", env=env,
    )
    out = Output(proc)
    try:
        first = out.until(lambda line: line.startswith("Watching "), "the watcher to start")
        assert "Every check of the lesson's steps passed." in first
        assert any(str(lesson_copy.resolve()) in line for line in first[-1:]), first[-1]

        # A check of step 1 names the endpoint say_hello: renaming it must turn that check red.
        edit(lesson_copy, "async def say_hello(", "async def say_hi(")
        rerun = out.until(lambda line: line.startswith("After the reload"), "the re-run's summary")
        assert any(line.startswith("─") and f"Reloaded {lesson_copy.name}" in line for line in rerun), rerun
        now_fails = [line for line in rerun if "✓ → ✗ now fails" in line]
        assert len(now_fails) == 1 and "step 1" in now_fails[0] and "say_hello" in now_fails[0], now_fails
        assert "1 check(s) changed" in rerun[-1] and re.search(r"; 1 of \d+ check\(s\) failed", rerun[-1]), rerun[-1]
        assert any("✗ CHECK FAILED" in line and "say_hello" in line for line in rerun)

        # A syntax error: one sentence naming file:line, and nothing re-runs.
        broken_line = len(lesson_copy.read_text(encoding="utf-8").splitlines()) + 1
        with lesson_copy.open("a", encoding="utf-8") as f:
            f.write("app = (\n")
        said = out.until(lambda line: "keeps serving" in line, "the syntax error")
        error = said[-1]
        assert re.search(rf"{re.escape(lesson_copy.name)}:{broken_line}: .*syntax error", error), error
        assert error.endswith("— the previous version keeps serving."), error
        assert not any("Reloaded" in line for line in said), said

        # The fix is picked up again, and every check passes again on the same port.
        text = lesson_copy.read_text(encoding="utf-8")
        lesson_copy.write_text(text.removesuffix("app = (\n").replace("def say_hi(", "def say_hello("), encoding="utf-8")
        fixed = out.until(lambda line: line.startswith("After the reload"), "the fixed re-run")
        assert any("✗ → ✓ now passes" in line and "say_hello" in line for line in fixed), fixed
        assert "every check passed" in fixed[-1], fixed[-1]

        proc.send_signal(signal.SIGINT)  # Ctrl+C: the exit code is the last run's
        code = proc.wait(timeout=LINE_TIMEOUT)
        out.close()
        assert code == 0, "\n".join(out.seen[-5:])
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
        out.close()


@pytest.mark.anyio
async def test_tui_r_reloads_the_lesson_and_fires_the_step_again(lesson_copy: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    controller = LessonController(load(find("lesson1")))
    assert controller.loaded.file.path == lesson_copy
    app = TracerApp(controller)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.ready, "the app's server to start")
        said = record_notifications(app, monkeypatch)
        url = controller.session.server.url
        reload_key = app.active_bindings["r"]  # in the footer: watching files fails on some systems
        assert reload_key.binding.id == "reload" and reload_key.binding.description == "Reload"
        assert reload_key.binding.show and reload_key.enabled

        edit(lesson_copy, 'f"Hello, {name}{mark}"', 'f"Howdy, {name}{mark}"')
        edit(lesson_copy, "async def say_hello(", "async def say_hi(")
        await pilot.press("r")
        await wait_for(pilot, lambda: any(m.startswith("Reloaded lesson01_hello.py") for m in said), "the reload")
        await wait_for(pilot, lambda: not app.busy and 0 in app.outcomes, "step 1 to be fired again")
        outcomes: list[Any] = app.outcomes[0]
        failed = [o.message for o in outcomes if not o.ok]
        assert len(failed) == 1 and "say_hello" in failed[0], failed
        assert controller.session.server.url == url  # the same server and port
        answer = controller.fire(Request("GET", "/hello/Ada"))
        assert answer.json() == {"message": "Howdy, Ada."}

        lines = lesson_copy.read_text(encoding="utf-8").splitlines()
        with lesson_copy.open("a", encoding="utf-8") as f:
            f.write("def broken(:\n")
        await pilot.press("r")
        await wait_for(pilot, lambda: any("keeps serving" in m for m in said), "the syntax error")
        error = next(m for m in said if "keeps serving" in m)
        assert f"{lesson_copy}:{len(lines) + 1}:" in error and "syntax error" in error, error
        assert controller.fire(Request("GET", "/hello/Ada")).json() == {"message": "Howdy, Ada."}


def test_changes_names_each_check_that_flipped() -> None:
    from lifecycle_tracer.course.format import Outcome

    before = {(1, 0): Outcome(True, "status is 200"), (1, 1): Outcome(False, "has x"), (2, 0): Outcome(True, "gone")}
    after = {(1, 0): Outcome(False, "status is 200"), (1, 1): Outcome(True, "has x"), (3, 0): Outcome(True, "new")}
    lines = changes(before, after)
    assert lines == [
        "  ✓ → ✗ now fails: step 1, check 1: status is 200",
        "  ✗ → ✓ now passes: step 1, check 2: has x",
        "  - step 2, check 1 is gone (it was ✓ gone)",
        "  + step 3, check 1 is new: ✓ new",
    ]
    assert changes(after, after) == []


LIFESPAN_LESSON = '''
import os
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from lifecycle_tracer.course import Lesson, Request as Fire, Step, status

VERSION = "v1"


def log(line):
    with open(os.environ["LIFESPAN_LOG"], "a") as f:
        f.write(line + "\\n")


@asynccontextmanager
async def lifespan(app):
    if VERSION == "broken":
        raise RuntimeError("no database")
    log("start " + VERSION)
    yield {"version": VERSION}
    log("stop " + VERSION)


app = FastAPI(lifespan=lifespan)


@app.get("/version")
async def version(request: Request) -> dict:
    return {"version": request.state.version}


LESSON = Lesson(id="lesson7", title="t", goals=[], topics=[], steps=[Step(title="s", narration="n", request=Fire("GET", "/version"),
                                                     checks=[status(200)])])
'''


def test_reload_runs_the_new_lifespan_and_shuts_the_old_one_down(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from lifecycle_tracer.course.loader import LessonError, LessonFile
    from lifecycle_tracer.course.session import LessonSession
    from lifecycle_tracer.server import LifespanFailed

    path = tmp_path / "lesson07_lifespan.py"
    path.write_text(LIFESPAN_LESSON, encoding="utf-8")
    log = tmp_path / "lifespan.log"
    monkeypatch.setenv("LIFESPAN_LOG", str(log))
    with LessonSession(load(LessonFile(7, "lifespan", path))) as session:
        assert session.client is not None
        url = session.server.url
        assert session.client.get("/version").json() == {"version": "v1"}
        edit(path, 'VERSION = "v1"', 'VERSION = "v2"')
        session.reload()
        assert session.server.url == url
        assert session.client.get("/version").json() == {"version": "v2"}  # the new app's own lifespan state
        assert log.read_text().split("\n") == ["start v1", "start v2", "stop v1", ""]
        ids = [rid for rid in session.rec.by_request() if rid.startswith("r")]
        assert len(ids) == len(set(ids)) == 2  # request ids go on across the reload

        edit(path, 'VERSION = "v2"', 'VERSION = "broken"')
        with pytest.raises(LifespanFailed, match=r"lesson07_lifespan\.py: the new version's lifespan startup failed.*no database"):
            session.reload()
        edit(path, 'VERSION = "broken"', 'VERSION = (')
        with pytest.raises(LessonError, match=r"lesson07_lifespan\.py:\d+: "):
            session.reload()
        assert session.client.get("/version").json() == {"version": "v2"}  # the previous version keeps serving
    assert log.read_text().split("\n") == ["start v1", "start v2", "stop v1", "stop v2", ""]


@pytest.mark.anyio
async def test_tui_watch_reloads_on_save(lesson_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    controller = LessonController(load(find("lesson1")))
    controller.watch = True
    app = TracerApp(controller)
    async with app.run_test(size=SIZE) as pilot:
        said = record_notifications(app, monkeypatch)
        await wait_for(pilot, lambda: app.ready and app.watching, "the file watcher to start")
        edit(lesson_copy, 'f"Hello, {name}{mark}"', 'f"Howdy, {name}{mark}"')
        await wait_for(pilot, lambda: any(m.startswith("Reloaded lesson01_hello.py") for m in said), "the reload")
        await wait_for(pilot, lambda: not app.busy and 0 in app.outcomes, "step 1 to be fired again")
        assert all(o.ok for o in app.outcomes[0])
        assert controller.fire(Request("GET", "/hello/Ada")).json() == {"message": "Howdy, Ada."}
