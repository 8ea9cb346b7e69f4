"""The server's log inside the TUI: nothing reaches the terminal behind Textual's back.

Lesson 9's unhandled errors are served by a real uvicorn: its "Exception in
ASGI application" and traceback, an endpoint's print(), the app's own
logging all land in the TUI (the log pane, l; a failed request's traceback
in the detail pane, its raising line highlighted), attributed to the request
they were written in, redacted, and everything is put back when the TUI ends.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from rich.console import Group
from rich.syntax import Syntax
from test_tui import fire, plain, record_notifications, shown, wait_for
from textual.pilot import Pilot

from lifecycle_tracer.course.loader import find, load
from lifecycle_tracer.course.session import LessonSession
from lifecycle_tracer.tui.app import TracerApp
from lifecycle_tracer.tui.capture import LogCapture
from lifecycle_tracer.tui.controllers import AppController, LessonController
from lifecycle_tracer.tui.logs import LogPane
from lifecycle_tracer.tui.panes import DetailPane

pytestmark = pytest.mark.anyio

LESSON9 = Path(__file__).resolve().parents[1] / "lessons" / "lesson09_errors.py"
SIZES = [(100, 30), (160, 48)]


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("LIFECYCLE_TRACER_HOME", str(folder))
    return folder


def line_of(text: str) -> int:
    """The line of lesson 9 holding ``text`` (read from the file, so an edit of the lesson moves it)."""
    lines = LESSON9.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


@asynccontextmanager
async def running(app: TracerApp, size: tuple[int, int]) -> AsyncIterator[Pilot[Any]]:
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.ready, "the app's server to start")
        yield pilot


def logged(app: TracerApp) -> str:
    return app.query_one(LogPane).text()


# -- the capture on its own, under a real uvicorn --------------------------------------------


def test_capture_takes_uvicorns_traceback_and_gives_its_handlers_back(capfd: pytest.CaptureFixture[str]) -> None:
    session = LessonSession(load(find("lesson9")))  # uvicorn.Config() is made here, as the TUI's controllers do
    before = {name: list(logging.getLogger(name).handlers) for name in ("", "uvicorn", "uvicorn.access")}
    streams = (sys.stdout, sys.stderr)
    capture = LogCapture()
    capture.start()
    try:
        with session:
            assert session.client is not None
            crash = {"Connection": "close"}
            assert session.client.get("/stats/average?total=10&count=0", headers=crash).status_code == 500
            assert session.client.get("/admin/stats", headers=crash).status_code == 500
            ids = [rid for rid in session.rec.by_request() if rid.startswith("r")]
    finally:
        capture.stop()
    assert "Exception in ASGI application" not in capfd.readouterr().err
    failures = [e for e in capture.entries() if e.failure is not None]
    assert [(e.level, e.source, e.request_id) for e in failures] == [
        ("ERROR", "uvicorn.error", ids[0]), ("ERROR", "uvicorn.error", ids[1])]
    zero, admin = (e.failure for e in failures)
    assert zero is not None and admin is not None
    assert zero.raised.name == "ZeroDivisionError" and zero.raised.message == "division by zero"
    culprit = zero.culprit()
    assert culprit is not None and (culprit.file, culprit.line, culprit.func) == (
        str(LESSON9), line_of("total / count"), "average")
    # The middleware raised it: the deepest frame of the lesson's code is there, not in Starlette.
    culprit = admin.culprit()
    assert culprit is not None and (culprit.line, culprit.func) == (line_of("raise HTTPException(status_code=401"),
                                                                   "guard_private_paths")
    assert zero.lines()[-1] == "ZeroDivisionError: division by zero"
    # Everything is back: the same handlers on the same loggers, the same streams.
    assert {name: list(logging.getLogger(name).handlers) for name in before} == before
    assert (sys.stdout, sys.stderr) == streams
    logging.getLogger("uvicorn.error").error("after the capture")
    assert "after the capture" in capfd.readouterr().err


def test_a_uvicorn_configured_while_captured_is_taken_too_and_then_points_at_the_terminal(
    capfd: pytest.CaptureFixture[str],
) -> None:
    import uvicorn

    from lifecycle_tracer.server import Server

    capture = LogCapture()
    capture.start()
    try:
        # Config() points uvicorn's new handlers at sys.stderr, which is the capture's now; Server() says so.
        Server(uvicorn.Config(FastAPI(), log_level="warning"))
        logging.getLogger("uvicorn.error").error("while captured")
    finally:
        capture.stop()
    assert [(e.level, e.source, e.text) for e in capture.entries()] == [("ERROR", "uvicorn.error", "while captured")]
    assert "while captured" not in capfd.readouterr().err
    (handler,) = logging.getLogger("uvicorn").handlers
    assert isinstance(handler, logging.StreamHandler) and handler.stream is sys.__stderr__
    logging.getLogger("uvicorn.error").error("after the capture")
    assert "after the capture" in capfd.readouterr().err


# -- in the TUI ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_an_unhandled_error_shows_its_traceback_beside_its_trace(
    size: tuple[int, int], capfd: pytest.CaptureFixture[str],
) -> None:
    app = TracerApp(LessonController(load(find("lesson9"))))
    async with running(app, size) as pilot:
        await pilot.press("n", "n")
        assert app.step_index == 2
        await fire(pilot)
        rid = app.selected
        assert rid is not None
        await wait_for(pilot, lambda: "Traceback in the server's log" in shown(app, DetailPane),
                       "the traceback beside the failed request")
        detail = shown(app, DetailPane)
        assert "ZeroDivisionError: division by zero" in detail
        assert f"raised at lessons/lesson09_errors.py:{line_of('total / count')}, in average" in detail
        assert "Your code on the way, outermost first:" in detail
        assert f"lessons/lesson09_errors.py:{line_of('return await call_next(request)')} in guard_private_paths" \
            in detail
        content = app.query_one(DetailPane).content
        assert isinstance(content, Group)
        syntax = [part for r in content.renderables if isinstance(r, Group)
                  for part in r.renderables if isinstance(part, Syntax)]
        assert len(syntax) == 1 and syntax[0].highlight_lines == {line_of("total / count")}
        assert "total / count" in plain(syntax[0])
        # Where the exception had not gone by yet (the request's start), no traceback.
        await pilot.press("home")
        assert "Traceback in the server's log" not in shown(app, DetailPane)

        assert not app.query_one(LogPane).display
        await pilot.press("l")
        pane = app.query_one(LogPane)
        assert pane.display
        await wait_for(pilot, lambda: "Exception in ASGI application" in logged(app), "the log pane's lines")
        text = logged(app)
        assert f"ERROR uvicorn.error [{rid}] Exception in ASGI application" in text
        assert text.rstrip().endswith("ZeroDivisionError: division by zero")  # newest last
        assert pane.region.bottom <= size[1] - 1  # the footer stays visible under it
        await pilot.press("l")
        assert not pane.display
    assert "Exception in ASGI application" not in capfd.readouterr().err


def traced_app() -> FastAPI:
    app = FastAPI()
    log = logging.getLogger("tui_logs_test_app")

    @app.get("/print/{word}")
    async def printing(word: str) -> dict[str, str]:
        print(f"printed {word} token=hunter2hunter2")
        log.warning("warned about %s", word)
        return {"word": word}

    @app.get("/sync")
    def in_a_thread() -> dict[str, str]:
        print("from the threadpool", file=sys.stderr)
        return {}

    @app.get("/leak")
    async def leak(request: Request) -> dict[str, str]:
        raise ValueError(f"the client sent {request.headers['authorization']}")

    return app


async def test_prints_logs_and_a_secret_in_an_exception_are_attributed_and_redacted(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
) -> None:
    controller = AppController(traced_app(), "tests:app", host="127.0.0.1", port=0, record=None, show_secrets=False)
    app = TracerApp(controller)
    secret = "Bearer s3cr3t-t0ken-value"
    async with running(app, (100, 30)) as pilot:
        said = record_notifications(app, monkeypatch)
        url = controller.server.url
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            assert (await client.get("/print/hello")).status_code == 200
            assert (await client.get("/sync")).status_code == 200
            assert (await client.get("/leak", headers={"Authorization": secret, "Connection": "close"})
                    ).status_code == 500
        await wait_for(pilot, lambda: any("press l" in s for s in said), "the hint that the log has lines")
        await wait_for(pilot, lambda: len(app.store.order) >= 3 and app.log_capture is not None
                       and len(app.log_capture.failures(app.store.order[-1])) == 1, "the third request's traceback")
        first, second, third = app.store.order[-3:]
        await pilot.press("l")
        await wait_for(pilot, lambda: "Exception in ASGI application" in logged(app), "the log pane's lines")
        text = logged(app)
        assert f"stdout [{first}] printed hello token=[redacted]" in text
        assert f"WARNING tui_logs_test_app [{first}] warned about hello" in text
        assert f"stderr [{second}] from the threadpool" in text
        assert f"[{third}] Exception in ASGI application" in text
        assert "ValueError: the client sent [redacted]" in text
        # The client's text cannot steer the terminal from the log pane either.
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            assert (await client.get("/print/%1B%5D0%3BPWNED%07")).status_code == 200
        await wait_for(pilot, lambda: "PWNED" in logged(app), "the escaped line")
        assert r"printed \x1b]0;PWNED\x07 token" in logged(app) and "\x1b" not in logged(app)
        app.selected, app.cursor, app.follow_latest = third, None, False
        app.refresh_request()
        assert "ValueError: the client sent [redacted]" in shown(app, DetailPane)
        assert "s3cr3t" not in logged(app) and "s3cr3t" not in shown(app, DetailPane) and "hunter2" not in logged(app)
    out = capfd.readouterr()
    assert "Exception in ASGI application" not in out.err and "warned about" not in out.err


async def test_after_the_tui_every_handler_and_stream_is_back(capfd: pytest.CaptureFixture[str]) -> None:
    controller = LessonController(load(find("lesson9")))
    handlers = {name: list(logging.getLogger(name).handlers) for name in ("", "uvicorn", "uvicorn.access")}
    streams = (sys.stdout, sys.stderr)
    app = TracerApp(controller)
    async with running(app, (100, 30)) as pilot:
        assert getattr(sys.stdout, "capture", None) is app.log_capture is getattr(sys.stderr, "capture", None)
        await pilot.press("q")
    assert (sys.stdout, sys.stderr) == streams
    assert {name: list(logging.getLogger(name).handlers) for name in handlers} == handlers
    try:
        raise RuntimeError("a traceback after the TUI")
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    assert "RuntimeError: a traceback after the TUI" in capfd.readouterr().err
