"""The ``lifecycle_trace`` fixture as a user's project meets it: a fresh test file, a separate pytest.

Each test writes a user's test file (its own FastAPI app, no conftest, nothing
imported from lifecycle_tracer) and runs it in a new pytest process, so the
fixture can only come from the ``pytest11`` entry point the package installs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

README = Path(__file__).resolve().parent.parent / "README.md"

USER_APP = '''
import httpx
import pytest
from fastapi import Depends, FastAPI, Query
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

app = FastAPI()
closed = []


def get_settings():
    return {"dsn": "sqlite://"}


def get_db(settings=Depends(get_settings)):
    yield "db"
    closed.append("db")


async def get_user(db=Depends(get_db)):
    yield "ada"
    closed.append("user")


def get_audit():
    yield "audit"


@app.exception_handler(ValueError)
async def value_error_handler(request, exc):
    return JSONResponse({"error": str(exc)}, status_code=400)


@app.get("/items/{item_id}")
def read_item(item_id: int, q: int = Query(0), user=Depends(get_user),
              audit=Depends(get_audit, scope="function")):
    return {"id": item_id}


@app.get("/boom")
async def boom(user=Depends(get_user)):
    raise ValueError("no such item")
'''

USER_TESTS = USER_APP + '''

STACK_BEFORE = app.middleware_stack


def test_sync_client(lifecycle_trace):
    trace = lifecycle_trace(app)
    client = TestClient(app)
    assert client.get("/items/3").status_code == 200
    assert trace.dependencies() == ["get_settings", "get_db", "get_user", "get_audit"]
    assert trace.teardowns() == [("get_audit", "before response"), ("get_user", "after response"),
                                 ("get_db", "after response")]
    assert closed == ["user", "db"]  # the app's own view of the same order
    assert trace.endpoint_ran() is True
    assert trace.endpoint_thread() == "threadpool"
    assert trace.handler() is None
    assert trace.status() == 200

    client.get("/items/x?q=y")
    assert trace.failed_params() == [("path", "item_id"), ("query", "q")]
    assert trace.status() == 422
    assert trace.endpoint_ran() is False
    assert trace.handler() == "request_validation_exception_handler"

    assert client.get("/boom").status_code == 400
    assert trace.handler() == "value_error_handler"
    assert trace.endpoint_thread() == "event loop"
    assert trace.dependencies("r1") == ["get_settings", "get_db", "get_user", "get_audit"]
    assert list(trace.by_request()) == ["r1", "r2", "r3"]


@pytest.mark.anyio
async def test_async_client(lifecycle_trace):
    trace = lifecycle_trace(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/boom")).status_code == 400
    assert trace.handler() == "value_error_handler"
    assert trace.teardowns() == [("get_user", "before response"), ("get_db", "before response")]
    assert trace.endpoint_thread() == "event loop"


def test_the_app_is_as_before():
    # Runs after the two above: their fixtures have undone the tracing.
    assert "_lifecycle_tracer" not in app.__dict__
    assert "build_middleware_stack" not in app.__dict__
    assert app.middleware_stack is STACK_BEFORE is None
    assert TestClient(app).get("/items/3").status_code == 200
'''

WRONG_ORDER = USER_APP + '''

def test_db_closes_first(lifecycle_trace):
    trace = lifecycle_trace(app)
    TestClient(app).get("/items/3")
    assert trace.teardowns() == [("get_audit", "before response"), ("get_db", "after response"),
                                 ("get_user", "after response")]
'''


def test_a_users_tests_pass_with_only_the_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_users_app=USER_TESTS)
    assert not (pytester.path / "conftest.py").exists()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_without_the_plugin_the_fixture_is_missing(pytester: pytest.Pytester) -> None:
    # The same file, with the entry point's plugin switched off: nothing else provides the fixture.
    pytester.makepyfile(test_users_app=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:lifecycle_tracer")
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(["*fixture 'lifecycle_trace' not found*"])


def test_a_wrong_teardown_order_fails_readably(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_wrong=WRONG_ORDER)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*At index 1 diff: Teardown(name='get_user', when='after response') != ('get_db', 'after response')*",
    ])


# A user's app that traces itself at import, streaming to a LiveSink as the README shows.
SELF_TRACED_APP = '''
import socket

from fastapi import FastAPI
from lifecycle_tracer import LiveSink, Recorder, instrument


def unused_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


app = FastAPI()
live = LiveSink(f"127.0.0.1:{unused_port()}")  # no viewer: it counts each event it is given as dropped
tracer = instrument(app, sink=live)
own = Recorder()
instrument(app, sink=own)


@app.get("/a")
def a():
    return "a"


@app.get("/b")
def b():
    return "b"
'''

SELF_TRACED_TESTS = '''
from fastapi.testclient import TestClient

from self_traced_app import app, live, own, tracer


def check(lifecycle_trace, first, second):
    given = live.dropped
    trace = lifecycle_trace(app)
    client = TestClient(app)
    assert client.get(first).status_code == 200
    assert client.get(second).status_code == 200
    requests = trace.by_request()
    assert list(requests) == ["r1", "r2"]
    assert [requests["r1"][0].name, requests["r2"][0].name] == [f"GET {first}", f"GET {second}"]
    assert trace.status("r1") == trace.status("r2") == 200
    assert live.dropped > given  # the app's LiveSink was given this test's events too
    assert tracer.sinks == (live, own, trace)


def test_a(lifecycle_trace):
    check(lifecycle_trace, "/a", "/b")


def test_b(lifecycle_trace):
    check(lifecycle_trace, "/b", "/a")


def test_z_the_app_traces_itself_as_before():
    assert app.__dict__["_lifecycle_tracer"] is tracer and tracer.enabled
    assert tracer.sinks == (live, own)
    starts = [e.request_id for e in own.events if (e.stage, e.kind) == ("request", "start")]
    assert starts == ["r1", "r2", "r3", "r4"]  # its own ids went on across the tests
'''


@pytest.mark.parametrize("order", [["test_a", "test_b"], ["test_b", "test_a"]])
def test_a_self_traced_apps_requests_are_numbered_from_r1_in_each_test(pytester: pytest.Pytester,
                                                                        order: list[str]) -> None:
    pytester.makepyfile(self_traced_app=SELF_TRACED_APP, test_self_traced=SELF_TRACED_TESTS)
    ids = [f"test_self_traced.py::{name}" for name in [*order, "test_z_the_app_traces_itself_as_before"]]
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v", *ids)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines([f"*{ids[0]} PASSED*", f"*{ids[1]} PASSED*", f"*{ids[2]} PASSED*"])


def readme_example() -> str:
    section = README.read_text(encoding="utf-8").split("## Test your own app's lifecycle", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found, "the README's section has no python example"
    return found.group(1)


def test_the_readme_example_passes(pytester: pytest.Pytester) -> None:
    example = readme_example()
    assert "lifecycle_trace(app)" in example and "import lifecycle_tracer" not in example
    pytester.makepyfile(test_readme=example)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=example.count("\ndef test_"))
