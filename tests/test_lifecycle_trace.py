"""The ``lifecycle_trace`` fixture's helpers on a real FastAPI app, with both clients a user's tests use.

The fixture comes from the installed ``pytest11`` entry point here too.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

import anyio
import httpx
import pytest
from fastapi import BackgroundTasks, Body, Depends, FastAPI, Header, HTTPException, Query
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel

from lifecycle_tracer.server import ServerThread
from lifecycle_tracer.testing import LifecycleTrace, Param, Teardown

with warnings.catch_warnings():  # Starlette >= 1.x asks for httpx2 at import; not this project's warning
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette\.testclient` is deprecated")
    warnings.filterwarnings("ignore", message=r"The anyio\.abc\.\w+ alias is deprecated", category=DeprecationWarning)
    from starlette.testclient import TestClient


class Thing(BaseModel):
    name: str
    price: float


class Order(BaseModel):
    item: str
    qty: int


# One app for every test, as in a user's project: each test's fixture leaves it as it was.
app = FastAPI()
log: list[str] = []  # what the app's own code saw happen
release = threading.Event()  # holds /slow's background task until the test lets it go


@pytest.fixture(autouse=True)
def fresh_log() -> None:
    log.clear()
    release.clear()


def get_settings() -> dict[str, str]:
    return {}


def get_db(settings: Any = Depends(get_settings)) -> Any:
    yield "db"
    log.append("db closed")


async def get_user(db: Any = Depends(get_db), again: Any = Depends(get_settings)) -> Any:
    yield "ada"
    log.append("user closed")


def early() -> Any:
    yield "early"


@app.exception_handler(ValueError)
async def value_error_handler(request: Any, exc: ValueError) -> JSONResponse:
    return JSONResponse({"error": str(exc)}, status_code=400)


@app.get("/items/{item_id}")
def read_item(item_id: int, bg: BackgroundTasks, q: int = Query(0), x_count: int = Header(0),
              user: Any = Depends(get_user), first: Any = Depends(early, scope="function")) -> dict[str, int]:
    bg.add_task(log.append, "background")
    return {"id": item_id}


@app.get("/slow")
def slow(bg: BackgroundTasks, db: Any = Depends(get_db)) -> str:
    bg.add_task(release.wait, 30)
    return "ok"


@app.get("/async")
async def read_async() -> str:
    return "ok"


@app.get("/boom")
async def boom(user: Any = Depends(get_user)) -> None:
    raise ValueError("no such item")


@app.get("/gone")
async def gone() -> None:
    raise HTTPException(404, "gone")


@app.get("/crash")
async def crash() -> None:
    raise RuntimeError("unexpected")


@app.post("/things")
def create(thing: Thing) -> Thing:
    return thing


async def plain(request: Any) -> PlainTextResponse:
    return PlainTextResponse("plain")


@app.post("/orders")
def order(order: Order) -> Order:
    return order


@app.post("/orders/embedded")
def order_embedded(order: Order = Body(embed=True)) -> Order:
    return order


@app.get("/search")
def search(n: int) -> int:
    return n


app.add_route("/plain", plain)  # a Starlette route: FastAPI does not run its endpoint


def test_dependencies_and_teardowns_in_order(lifecycle_trace: Any) -> None:
    trace = lifecycle_trace(app)
    assert TestClient(app).get("/items/3").status_code == 200
    # get_settings is asked for twice and runs once: the second is FastAPI's cache.
    assert trace.dependencies() == ["get_settings", "get_db", "get_user", "early"]
    assert trace.teardowns() == [("early", "before response"), ("get_user", "after response"),
                                 ("get_db", "after response")]
    assert [t.name for t in trace.teardowns()] == ["early", "get_user", "get_db"]
    assert isinstance(trace.teardowns()[0], Teardown)
    assert log == ["background", "user closed", "db closed"]


def test_events_are_whole_when_the_test_client_returns(lifecycle_trace: Any) -> None:
    trace = lifecycle_trace(app)
    TestClient(app).get("/items/3")
    # Read straight away, no helper and no wait: the background task and the teardowns are in.
    last = trace.events[-1]
    assert (last.stage, last.kind) == ("request", "end")
    assert any(e.stage == "middleware" for e in trace.events)  # through the probes between the app's layers
    stages = [(e.stage, e.kind, e.detail.get("phase")) for e in trace.events]
    assert ("background", "end", None) in stages and stages.count(("dependency", "end", "teardown")) == 3


@pytest.mark.anyio
async def test_the_async_client_through_asgi_transport(lifecycle_trace: Any) -> None:
    trace = lifecycle_trace(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        responses: dict[str, int] = {}

        async def get(path: str) -> None:
            responses[path] = (await client.get(path)).status_code

        async with anyio.create_task_group() as tg:  # two requests at once: the trace keeps them apart
            tg.start_soon(get, "/items/3")
            tg.start_soon(get, "/boom")
        # The client returned: every event is in already, as with TestClient.
        assert all((evs[-1].stage, evs[-1].kind) == ("request", "end") for evs in trace.by_request().values())
    ids = {evs[0].name: rid for rid, evs in trace.by_request().items()}
    assert responses == {"/items/3": 200, "/boom": 400}
    assert trace.handler(ids["GET /boom"]) == "value_error_handler"
    assert trace.handler(ids["GET /items/3"]) is None
    assert trace.endpoint_thread(ids["GET /boom"]) == "event loop"
    assert trace.endpoint_thread(ids["GET /items/3"]) == "threadpool"
    assert trace.teardowns(ids["GET /boom"]) == [("get_user", "before response"), ("get_db", "before response")]


def test_which_handler_answered(lifecycle_trace: Any) -> None:
    trace = lifecycle_trace(app)
    client = TestClient(app, raise_server_exceptions=False)
    cases = {"/boom": (400, "value_error_handler"), "/items/x": (422, "request_validation_exception_handler"),
             "/gone": (404, "http_exception_handler"), "/crash": (500, None), "/async": (200, None)}
    for path, (status, handler) in cases.items():
        assert client.get(path).status_code == status
        assert (trace.status(), trace.handler()) == (status, handler), path


def test_whether_and_where_the_endpoint_ran(lifecycle_trace: Any) -> None:
    trace = lifecycle_trace(app)
    client = TestClient(app)
    cases = {"/items/3": (True, "threadpool"), "/async": (True, "event loop"), "/items/x": (False, None),
             "/nowhere": (False, None), "/plain": (None, None)}
    for path, expected in cases.items():
        client.get(path)
        assert (trace.endpoint_ran(), trace.endpoint_thread()) == expected, path


def test_which_parameters_failed_validation(lifecycle_trace: Any) -> None:
    trace = lifecycle_trace(app)
    client = TestClient(app)
    client.get("/items/x?q=y", headers={"x-count": "many"})
    assert trace.failed_params() == [("path", "item_id"), ("query", "q"), ("header", "x-count")]
    assert trace.status() == 422
    client.post("/things", json={"price": "free"})
    assert trace.failed_params() == [("body", "name"), ("body", "price")]  # the fields, as FastAPI's 422 names them
    client.get("/items/3")
    assert trace.failed_params() == []
    assert trace.failed_params("r1")[0].location == "path"


def test_requests_by_id_and_mistakes_said_plainly(lifecycle_trace: Any) -> None:
    trace = lifecycle_trace(app)
    assert repr(trace) == "<LifecycleTrace: no request yet>"
    with pytest.raises(LookupError, match="no request has reached the app since lifecycle_trace"):
        trace.status()
    with TestClient(app) as client:  # its lifespan is traced too, and is no request
        client.get("/items/3")
        client.get("/boom")
    assert (trace.status("r1"), trace.status("r2"), trace.status()) == (200, 400, 400)
    assert repr(trace) == "<LifecycleTrace: 2 request(s), the last r2 GET /boom>"
    with pytest.raises(LookupError, match=r"no request 'r9' .* \(the requests are: r1, r2\)"):
        trace.dependencies("r9")


def test_over_a_real_server_the_helpers_wait_for_the_end(lifecycle_trace: Any) -> None:
    trace: LifecycleTrace = lifecycle_trace(app)
    with ServerThread(app) as server:
        try:
            assert httpx.get(server.url + "/slow").text == '"ok"'
            # The client has its answer; the background task holds the rest of the request back.
            with pytest.raises(TimeoutError, match=r"request r1 had not ended after 0\.2 s"):
                trace.wait_complete(timeout=0.2)
            assert log == []
        finally:
            release.set()
        assert trace.teardowns() == [("get_db", "after response")]  # waits for the request's end event
        assert log == ["db closed"]


# Each: the request, and what FastAPI's 422 says failed (its detail's locs, as failed_params shows them).
FAILURES: dict[str, tuple[str, str, dict[str, Any], list[tuple[str, str]]]] = {
    "a missing body field": ("POST", "/orders", {"json": {"item": "pen"}}, [("body", "qty")]),
    "a wrong-typed body field": ("POST", "/orders", {"json": {"item": "pen", "qty": "many"}}, [("body", "qty")]),
    "two failed body fields": ("POST", "/orders", {"json": {"qty": "many"}}, [("body", "item"), ("body", "qty")]),
    # FastAPI's loc is ["body", 1]: the character where the JSON parser stopped.
    "malformed JSON": ("POST", "/orders", {"content": b"{bad", "headers": {"content-type": "application/json"}},
                       [("body", "1")]),
    "no body at all": ("POST", "/orders", {}, [("body", "")]),
    "a missing query parameter": ("GET", "/search", {}, [("query", "n")]),
    "a wrong path parameter type": ("GET", "/items/x", {}, [("path", "item_id")]),
    "a field missing inside an embedded body": ("POST", "/orders/embedded", {"json": {"order": {"item": "pen"}}},
                                                [("body", "order.qty")]),
    "an embedded body not embedded": ("POST", "/orders/embedded", {"json": {"item": "pen", "qty": 1}},
                                      [("body", "order")]),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_failed_params_are_what_fastapis_422_reports(lifecycle_trace: Any, case: str) -> None:
    method, path, request, expected = FAILURES[case]
    trace = lifecycle_trace(app)
    response = TestClient(app).request(method, path, **request)
    assert response.status_code == 422
    locs = [d["loc"] for d in response.json()["detail"]]
    assert trace.failed_params() == [(loc[0], ".".join(str(part) for part in loc[1:])) for loc in locs]
    assert trace.failed_params() == expected
    assert all(isinstance(p, Param) for p in trace.failed_params())

