"""Step mode: a real request held at each boundary inside a running uvicorn."""

from __future__ import annotations

import queue
import threading

import httpx
from stage_app import make_app

from lifecycle_tracer import Recorder, TraceEvent, instrument
from lifecycle_tracer.instrument.stepper import Stepper
from lifecycle_tracer.server import ServerThread


def test_step_through_a_request_while_others_are_served() -> None:
    app = make_app()
    rec = Recorder()
    tracer = instrument(app, sink=rec)
    pauses: queue.Queue[TraceEvent] = queue.Queue()
    stepper = Stepper(on_pause=pauses.put, select=lambda scope: scope.get("path", "").startswith("/items"))
    tracer.stepper = stepper
    stepper.enable()
    with ServerThread(app) as server:
        result: dict[str, httpx.Response] = {}
        client = threading.Thread(target=lambda: result.setdefault("r", httpx.get(server.url + "/items/3", timeout=60)))
        client.start()
        first = pauses.get(timeout=30)
        assert (first.stage, first.kind, first.name) == ("middleware", "start", "ServerErrorMiddleware")
        assert stepper.paused() == [first]
        # While the request is held, the server answers others at once.
        assert httpx.get(server.url + "/plain", timeout=30).text == "hello"
        assert "r" not in result
        seen = [first]
        for _ in range(8):  # walk it forward a few boundaries, one key press each
            assert stepper.release()
            seen.append(pauses.get(timeout=30))
        stages = [e.stage for e in seen]
        assert stages[:5] == ["middleware"] * 5 and "routing" in stages
        held = seen[-1]
        assert rec.by_request()[held.request_id][-1] == held  # nothing happens past the held boundary
        assert "r" not in result  # still waiting for us
        stepper.disable()  # leaving step mode releases every paused request
        client.join(timeout=30)
        assert result["r"].status_code == 200 and result["r"].json() == {"name": "item3"}
    assert not stepper.paused()


def test_stepper_disabled_costs_nothing_in_behaviour() -> None:
    app = make_app()
    rec = Recorder()
    tracer = instrument(app, sink=rec)
    tracer.stepper = Stepper()  # present but off
    with ServerThread(app) as server:
        assert httpx.get(server.url + "/items/3", timeout=30).json() == {"name": "item3"}
