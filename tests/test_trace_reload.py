"""``trace --reload``: an edited route is served after a save, and the viewer (this process) stays."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from lifecycle_tracer.server import free_port

APP = 'from fastapi import FastAPI\napp = FastAPI()\n\n@app.get("/hi")\ndef hi():\n    return {{"v": {v}}}\n'


def until(predicate, what: str, polls: int = 3000) -> None:  # type: ignore[no-untyped-def]
    for _ in range(polls):
        if predicate():
            return
        time.sleep(0.01)  # polling a condition, not waiting out a race
    raise AssertionError(f"timed out waiting for {what}")


def answer(url: str) -> object:
    try:
        return httpx.get(url, timeout=5).json()
    except (httpx.TransportError, ValueError):
        return None


def test_an_edit_is_served_without_restarting_the_viewer_and_a_broken_one_is_one_sentence(tmp_path: Path) -> None:
    main = tmp_path / "main.py"
    main.write_text(APP.format(v=1), encoding="utf-8")
    port = free_port()
    env = {**os.environ, "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.Popen([sys.executable, "-m", "lifecycle_tracer", "trace", "--plain", "--reload", "--port",
                             str(port)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    url = f"http://127.0.0.1:{port}/hi"
    text = lambda: "".join(lines)  # noqa: E731
    try:
        until(lambda: answer(url) == {"v": 1}, "the first version to answer")
        until(lambda: "GET /hi → 200" in text(), "its trace")
        main.write_text(APP.format(v=2), encoding="utf-8")
        until(lambda: answer(url) == {"v": 2}, "the edited route to be served")
        main.write_text("def broken(:\n", encoding="utf-8")
        until(lambda: "lifecycle-tracer: Importing 'main' failed" in text(), "the broken edit's sentence")
        main.write_text(APP.format(v=3), encoding="utf-8")
        until(lambda: answer(url) == {"v": 3}, "the fixed route to be served")
        until(lambda: len(set(re.findall(r"p(\d+)\.r\d+: GET /hi → 200", text()))) >= 3, "each version's trace")
        assert proc.poll() is None  # the viewer is the same process throughout
        assert "Traceback" not in text().split("Importing 'main' failed")[0]
    finally:
        proc.send_signal(signal.SIGTERM)  # the child reloader goes with it
        proc.wait(30)
        reader.join(10)
        proc.stdout.close()  # type: ignore[union-attr]
    until(lambda: answer(url) is None, "the app to stop with the viewer")


def test_the_tui_shows_the_reloading_apps_requests(tmp_path: Path) -> None:
    import asyncio

    from test_tui import running, wait_for

    from lifecycle_tracer.tui.app import TracerApp
    from lifecycle_tracer.tui.live import ChildAppController

    (tmp_path / "main.py").write_text(APP.format(v=1), encoding="utf-8")
    controller = ChildAppController("main:app", host="127.0.0.1", port=free_port(), app_dir=tmp_path,
                                    record=None, show_secrets=False, reload=True)
    controller.viewer.start()
    app = TracerApp(controller)

    async def scenario() -> None:
        async with running(app) as pilot:
            assert app.check_action("compose", ()) is not False
            url = controller.url + "/hi"
            async with httpx.AsyncClient() as client:
                for _ in range(3000):  # the child is still starting: poll until it answers
                    try:
                        if (await client.get(url)).json() == {"v": 1}:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.01)
            await wait_for(pilot, lambda: any(r.endswith(".r1") and r.startswith("p") for r in app.store.requests),
                           "the request streamed from the child")
            await pilot.press("q")

    asyncio.run(scenario())
    until(lambda: answer(controller.url + "/hi") is None, "the child to stop with the TUI")


SELF_STREAMING = ('from fastapi import FastAPI\nfrom lifecycle_tracer import instrument\n'
                  'from lifecycle_tracer.sinks import LiveSink\n\napp = FastAPI()\n'
                  'instrument(app, sink=LiveSink())  # the app streams to a viewer of its own\n\n'
                  '@app.get("/hi")\ndef hi():\n    return {"v": 1}\n')


def test_an_app_that_streams_to_its_own_viewer_is_traced_once(tmp_path: Path) -> None:
    """Its LiveSink keeps its own address: it is not sent to trace's viewer a second time under the same pid."""
    (tmp_path / "main.py").write_text(SELF_STREAMING, encoding="utf-8")
    port = free_port()
    env = {**os.environ, "COLUMNS": "200", "PYTHONIOENCODING": "utf-8",
           "LIFECYCLE_TRACER_VIEWER": f"127.0.0.1:{free_port()}"}  # the app's own viewer: nobody listens there
    proc = subprocess.Popen([sys.executable, "-m", "lifecycle_tracer", "trace", "--plain", "--reload", "--port",
                             str(port)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    text = lambda: "".join(lines)  # noqa: E731
    try:
        until(lambda: answer(f"http://127.0.0.1:{port}/hi") == {"v": 1}, "the app to answer")
        httpx.get(f"http://127.0.0.1:{port}/hi?second=1", timeout=5)
        # Each request is printed whole once it has ended: its rule line says it is all there.
        until(lambda: "received GET /hi?second=1" in text()
              and len(re.findall(r"p\d+\.r\d+: GET /hi → 200", text())) >= 2, "both requests' traces")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        reader.join(10)
        proc.stdout.close()  # type: ignore[union-attr]
    out = text()
    assert len(re.findall(r"\) connected\.", out)) == 1, out  # trace's own sink, not the app's too
    assert len(re.findall(r"p\d+\.r\d+: GET /hi → 200", out)) == 2, out  # the two requests, each once
    assert out.count("received GET /hi?second=1") == 1, out
