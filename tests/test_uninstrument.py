"""``uninstrument(app)`` and ``traced(app)`` leave a real FastAPI app as it was before it was traced."""

from __future__ import annotations

import warnings
from typing import Any

import fastapi.dependencies.utils as du
import fastapi.routing as fr
from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse

from lifecycle_tracer import Recorder, instrument, uninstrument
from lifecycle_tracer.instrument import hooks
from lifecycle_tracer.instrument.probes import LayerProbe, RouterProbe
from lifecycle_tracer.instrument.trace import current
from lifecycle_tracer.instrument.tracer import tracer_of
from lifecycle_tracer.testing import traced

with warnings.catch_warnings():  # Starlette >= 1.x asks for httpx2 at import; not this project's warning
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette\.testclient` is deprecated")
    warnings.filterwarnings("ignore", message=r"The anyio\.abc\.\w+ alias is deprecated", category=DeprecationWarning)
    from starlette.testclient import TestClient


def make_app(seen: list[Any]) -> FastAPI:
    app = FastAPI()

    def get_db() -> Any:
        yield "db"
        seen.append("db closed")

    @app.exception_handler(ValueError)
    async def value_error_handler(request: Any, exc: ValueError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    @app.get("/items/{item_id}")
    async def read_item(item_id: int, db: Any = Depends(get_db)) -> dict[str, int]:
        seen.append(current.get())  # the trace the hooks see inside the endpoint
        return {"id": item_id}

    @app.get("/boom")
    async def boom() -> None:
        raise ValueError("nope")

    return app


def layers(app: Any) -> list[tuple[Any, Any, dict[str, Any]]]:
    """Each layer of the built stack, the app it calls, and the handlers it holds."""
    out, node = [], app.middleware_stack
    while node is not None and node is not app.router:
        handlers = {**getattr(node, "_exception_handlers", {}), **getattr(node, "_status_handlers", {})}
        if type(node).__name__ == "ServerErrorMiddleware":
            handlers["server errors"] = node.handler
        out.append((node, node.app, handlers))
        node = node.app
    return out


def answers(client: TestClient) -> list[tuple[int, str]]:
    return [(r.status_code, r.text) for r in (client.get("/items/3"), client.get("/boom"), client.get("/items/x"))]


def test_an_app_that_had_not_served_gets_its_own_stack_back() -> None:
    seen: list[Any] = []
    app = make_app(seen)
    untraced = answers(TestClient(make_app([])))
    rec = Recorder()
    instrument(app, sink=rec)
    client = TestClient(app)
    assert answers(client) == untraced and rec.completed() == ["r1", "r2", "r3"]
    assert uninstrument(app) is True
    assert app.middleware_stack is None  # built afresh, untraced, on the next request
    assert "build_middleware_stack" not in app.__dict__ and tracer_of(app) is None
    emitted = len(rec.events)
    assert answers(client) == untraced
    assert len(rec.events) == emitted
    assert not any(isinstance(inner, LayerProbe | RouterProbe) for _, inner, _ in layers(app))
    assert uninstrument(app) is False  # nothing left to undo


def test_a_serving_app_gets_the_same_stack_object_back() -> None:
    seen: list[Any] = []
    app = make_app(seen)
    client = TestClient(app)
    untraced = answers(client)
    stack, before = app.middleware_stack, layers(app)
    rec = Recorder()
    instrument(app, sink=rec)
    assert answers(client) == untraced and len(rec.completed()) == 3
    assert any(isinstance(inner, LayerProbe) for _, inner, _ in layers(app))  # probes sat between the layers
    uninstrument(app)
    assert app.middleware_stack is stack
    after = layers(app)
    assert [(node, inner) for node, inner, _ in after] == [(node, inner) for node, inner, _ in before]
    for (_, _, was), (_, _, now) in zip(before, after, strict=True):
        assert now.keys() == was.keys() and all(now[key] is was[key] for key in was)  # the handlers unwrapped
    emitted = len(rec.events)
    assert answers(client) == untraced
    assert len(rec.events) == emitted


def test_mounted_apps_it_traced_are_undone_and_others_kept() -> None:
    parent, sub, kept = FastAPI(), make_app([]), make_app([])
    own = Recorder()
    kept_tracer = instrument(kept, sink=own)  # traced by the app's own code, before the test
    parent.mount("/sub", sub)
    parent.mount("/kept", kept)
    with traced(parent) as trace:
        client = TestClient(parent)
        assert client.get("/sub/items/1").status_code == 200
        assert client.get("/kept/items/2").status_code == 200
        assert tracer_of(sub) is not None
        assert [e.name for e in trace.by_request()["r1"] if e.stage == "routing"] == ["/sub/{path}", "/sub/items/{item_id}"]
    assert tracer_of(parent) is None and tracer_of(sub) is None
    assert "build_middleware_stack" not in sub.__dict__ and sub.middleware_stack is None
    assert tracer_of(kept) is kept_tracer and kept_tracer.enabled and kept_tracer.sinks == (own,)
    TestClient(kept).get("/items/3")
    assert own.completed()  # still traced, into its own sink


def test_an_app_that_traces_itself_keeps_its_tracer() -> None:
    app = make_app([])
    own = Recorder()
    tracer = instrument(app, sink=own)
    client = TestClient(app)
    with traced(app) as trace:
        client.get("/items/3")
        assert trace.status() == 200 and own.completed() == ["r1"]
    assert tracer_of(app) is tracer and tracer.sinks == (own,)
    client.get("/items/4")
    assert own.completed() == ["r1", "r2"] and trace.completed() == ["r1"]


def test_the_process_wide_hooks_stay_and_are_inert() -> None:
    seen: list[Any] = []
    app, other = make_app(seen), make_app([])
    untraced = answers(TestClient(make_app([])))
    others = Recorder()
    instrument(other, sink=others)  # another app in the process, still traced
    with traced(app):
        TestClient(app).get("/items/3")
    # The hooks are still in FastAPI's modules...
    assert hooks._installed
    assert fr.run_endpoint_function.__wrapped__ is not None and du.solve_dependencies.__wrapped__ is not None
    seen.clear()
    # ...and a request through the untraced app takes their pass-through path: no trace is
    # current inside it, nothing is emitted anywhere, and FastAPI behaves as untouched.
    assert answers(TestClient(app)) == untraced
    assert seen == [None, "db closed"]
    assert others.events == []
    uninstrument(other)
