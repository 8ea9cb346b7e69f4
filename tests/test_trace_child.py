"""``trace`` in the TUI: the app served in a child process, step mode carried over the channel."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
from test_trace_reload import APP, answer, until
from test_tui import running, wait_for

from lifecycle_tracer.server import free_port
from lifecycle_tracer.tui.app import TracerApp
from lifecycle_tracer.tui.live import ChildAppController

ASYNC_APP = 'from fastapi import FastAPI\napp = FastAPI()\n\n@app.get("/hi")\nasync def hi():\n    return {"v": 1}\n'


def controller_for(tmp_path: Path, source: str, reload: bool = False) -> ChildAppController:
    (tmp_path / "main.py").write_text(source, encoding="utf-8")
    controller = ChildAppController("main:app", host="127.0.0.1", port=free_port(), app_dir=tmp_path,
                                    record=None, show_secrets=False, reload=reload)
    controller.connect()
    return controller


def test_step_mode_holds_the_childs_request_and_space_moves_it_on(tmp_path: Path) -> None:
    controller = controller_for(tmp_path, ASYNC_APP)
    app = TracerApp(controller)

    async def scenario() -> None:
        async with running(app) as pilot:
            assert controller.proc.poll() is None and controller.proc.pid != os.getpid()
            await pilot.press("s")
            assert controller.stepper.enabled
            async with httpx.AsyncClient(timeout=60) as client:
                sent = asyncio.create_task(client.get(controller.url + "/hi"))
                await wait_for(pilot, lambda: app.paused is not None, "the request to be held in the child")
                first = app.paused
                assert first.request_id == "r1"  # one process: its own ids, untagged
                assert not sent.done()  # held in the other process, on its event loop
                await pilot.press("space")
                await wait_for(pilot, lambda: app.paused is not None and app.paused.seq > first.seq,
                               "the request to move on to its next stage, and wait there")
                assert not sent.done()
                await pilot.press("s")  # step mode off: the app lets it go
                response = await asyncio.wait_for(sent, 30)
            assert response.status_code == 200 and response.json() == {"v": 1}
            await wait_for(pilot, lambda: "r1" in app.store.requests and app.store.requests["r1"].done,
                           "the whole request's events")
            end = app.store.requests["r1"].events[-1]
            assert end.detail.get("held_ns", 0) > 0  # the hold is its own fact
            await pilot.press("q")

    asyncio.run(scenario())
    until(lambda: answer(controller.url + "/hi") is None, "the child to stop with the TUI")


def test_a_reloading_app_is_in_step_mode_again_after_a_restart(tmp_path: Path) -> None:
    controller = controller_for(tmp_path, APP.format(v=1), reload=True)
    app = TracerApp(controller)

    async def scenario() -> None:
        async with running(app) as pilot:
            assert app.check_action("toggle_step_mode", ()) is not False
            await wait_for(pilot, lambda: answer(controller.url + "/hi") == {"v": 1}, "the child to serve")
            await pilot.press("s")
            (tmp_path / "main.py").write_text(APP.format(v=2), encoding="utf-8")
            await wait_for(pilot, lambda: controller.viewer.apps >= 2, "the restarted app to connect")
            async with httpx.AsyncClient(timeout=60) as client:
                async def fetch() -> httpx.Response:
                    while True:  # the restarted app is not serving yet: try again
                        try:
                            return await client.get(controller.url + "/hi")
                        except httpx.TransportError:
                            await asyncio.sleep(0.05)

                sent = asyncio.create_task(fetch())
                await wait_for(pilot, lambda: app.paused is not None, "the restarted app to hold the request")
                assert app.paused.request_id.startswith("p")  # each restart's requests are tagged by pid
                await pilot.press("s")
                response = await asyncio.wait_for(sent, 30)
            assert response.json() == {"v": 2}
            await pilot.press("q")

    asyncio.run(scenario())


def test_a_lifespan_that_fails_in_the_child_is_one_sentence(tmp_path: Path) -> None:
    source = ("from contextlib import asynccontextmanager\nfrom fastapi import FastAPI\n\n"
              "@asynccontextmanager\nasync def life(app):\n    raise RuntimeError('no database')\n    yield\n\n"
              "app = FastAPI(lifespan=life)\n")
    controller = controller_for(tmp_path, source)
    app = TracerApp(controller)

    async def scenario() -> None:
        async with app.run_test() as pilot:
            await wait_for(pilot, lambda: controller.failure is not None, "the child to stop during startup")

    asyncio.run(scenario())
    said = str(controller.failure)
    assert said == "The app's lifespan startup failed: RuntimeError: no database; fix the code before `yield` in its lifespan.", said
    assert controller.proc.poll() is not None


def test_the_childs_traceback_reaches_the_tui_with_the_requests_secret_masked(tmp_path: Path) -> None:
    source = ("from fastapi import FastAPI, Header\napp = FastAPI()\n\n@app.get('/boom')\n"
              "async def boom(authorization: str = Header()):\n"
              "    raise RuntimeError(f'could not use {authorization}')\n")
    controller = controller_for(tmp_path, source)
    app = TracerApp(controller)
    secret = "Bearer planted-s3cret-value"

    async def scenario() -> None:
        async with running(app) as pilot:
            async with httpx.AsyncClient(timeout=30) as client:
                response = await client.get(controller.url + "/boom", headers={"Authorization": secret})
            assert response.status_code == 500
            await wait_for(pilot, lambda: any("could not use" in line for line in controller.output),
                           "the child's traceback")
            await pilot.press("q")

    asyncio.run(scenario())
    said = "\n".join(controller.output)
    assert "RuntimeError: could not use" in said and "planted-s3cret-value" not in said, said
