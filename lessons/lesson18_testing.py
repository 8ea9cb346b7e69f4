"""Lesson 18: Testing.

A test does not need a server. `fastapi.testclient.TestClient(app)` is an
HTTP client that calls the app's ASGI interface directly, in the same
process: there is no socket and no uvicorn. And a test can swap a
dependency for a fake with `app.dependency_overrides`, so it never touches
the real database or the real clock.

This lesson's steps fire some requests through uvicorn, as before, and some
through a `TestClient` on the same traced app, so the two traces can be
compared. The app below is a small library. Its test setup, at the end of
the app, does not keep the tests away from the real database yet: the
exercise is yours to fix.
"""

import inspect
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request

# Importing TestClient warns on both supported stacks, about the libraries under it
# (step 1 quotes the warning); recorded here instead of printed mid-lesson.
with warnings.catch_warnings(record=True) as _imported:
    warnings.simplefilter("always")
    from fastapi.testclient import TestClient
IMPORT_WARNINGS = [str(w.message) for w in _imported]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    # What the lifespan loads; each request gets it as request.state.catalogue.
    yield {"catalogue": {1: "Dune", 2: "Emma"}}


app = FastAPI(title="Library", lifespan=lifespan)


class Database:
    """Stands in for a connection to the library's real database."""

    def loans(self) -> list[str]:
        return ["Dune, lent to ada"]

    def close(self) -> None:
        pass


def get_db() -> Iterator[Database]:
    db = Database()
    try:
        yield db
    finally:
        db.close()


def get_today() -> date:
    return date.today()


@app.get("/hello/{name}")
async def hello(name: str):
    return {"hello": name}


@app.get("/books/{book_id}")
async def read_book(book_id: int, request: Request):
    return {"book_id": book_id, "title": request.state.catalogue[book_id]}


@app.get("/books/{book_id}/due")
async def due_date(book_id: int, today: Annotated[date, Depends(get_today)]):
    return {"book_id": book_id, "due": (today + timedelta(days=14)).isoformat()}


@app.get("/loans")
def list_loans(db: Annotated[Database, Depends(get_db)]):
    return {"loans": db.loans()}


# ---------------------------------------------------------------------------
# What a test suite's setup does (in a project of your own, in tests/conftest.py).
# ---------------------------------------------------------------------------


def frozen_today() -> date:
    return date(2030, 1, 1)


app.dependency_overrides[get_today] = frozen_today  # step 3


class FakeDatabase:
    def loans(self) -> list[str]:
        return ["Test book, lent to nobody"]

    def close(self) -> None:
        pass


def get_fake_db() -> Iterator[FakeDatabase]:
    db = FakeDatabase()
    try:
        yield db
    finally:
        db.close()


# ── exercise fake-db: your code starts here ──
app.dependency_overrides[get_fake_db] = get_db  # tests must not touch the real database
# ── exercise fake-db: your code ends here ──


# ---------------------------------------------------------------------------
# The lesson: what the tracer shows, step by step.
# ---------------------------------------------------------------------------

import starlette.testclient  # noqa: E402

from lifecycle_tracer.course import (  # noqa: E402
    Check,
    Exercise,
    Lesson,
    Question,
    Step,
    StepResult,
    body,
    custom,
    has,
    lacks,
    status,
)
from lifecycle_tracer.course import Request as TracedRequest  # noqa: E402

WHO = ("through uvicorn", "from the TestClient")

# The HTTP client package TestClient builds on: Starlette 1.x prefers httpx2 and falls back to
# httpx (with the deprecation warning step 1 quotes); older Starlette knows only httpx.
CLIENT_BASE = TestClient.__bases__[0]
CLIENT_PACKAGE = CLIENT_BASE.__module__.split(".")[0]
PREFERS_HTTPX2 = "import httpx2" in inspect.getsource(starlette.testclient)


def _of(i: int, check: Check) -> Check:
    """The same check, on the step's i-th request (0: through uvicorn, 1: from the TestClient)."""

    def test(r: StepResult) -> bool | str:
        return check.test(StepResult([r.responses[i]], [r.traces[i]], r.elapsed, r.session))

    return custom(f"{WHO[i]}: {check.describe}", test)


def _client_is(host: str) -> Check:
    def test(r: StepResult) -> bool | str:
        client = r.events[0].detail.get("client") or [None]
        return client[0] == host or f"the request line names {client}"

    return custom(f"the request line names the client {host}", test)


def _host_header(value: str) -> Check:
    def test(r: StepResult) -> bool | str:
        got = dict(r.events[0].detail.get("headers") or []).get("host")
        return got == value or f"Host was {got!r}"

    return custom(f"the request's Host header is {value}", test)


def _endpoint_thread(r: StepResult, i: int) -> str | None:
    start = next((e for e in r.traces[i] if e.stage == "endpoint" and e.kind == "start"), None)
    return start.detail.get("thread") if start is not None else None


def _other_thread(r: StepResult) -> bool | str:
    mine, theirs = _endpoint_thread(r, 1), _endpoint_thread(r, 0)
    return (mine is not None and theirs is not None and mine != theirs) or f"both ran on {theirs!r}"


def _same_layers(r: StepResult) -> bool | str:
    def shape(trace: list) -> list[tuple[str, str, str]]:
        return [(e.stage, e.kind, e.name if e.stage in ("middleware", "endpoint") else "") for e in trace]

    a, b = shape(r.traces[0]), shape(r.traces[1])
    return a == b or f"through uvicorn: {len(a)} events, from the TestClient: {len(b)}; they differ"


def _startups(r: StepResult) -> list[list]:
    return [evs for evs in r.session.values()
            if evs and evs[0].detail.get("type") == "lifespan" and evs[0].detail.get("phase") == "startup"]


def _no_startup_for_the_test(r: StepResult) -> bool | str:
    """uvicorn's startup finished before the TestClient's request, and none began while it ran."""
    test = r.traces[1]
    begun, ended = test[0].t_ns, test[-1].t_ns
    before = [evs for evs in _startups(r) if evs[-1].t_ns < begun]
    during = [evs for evs in _startups(r) if begun <= evs[0].t_ns <= ended]
    if not before:
        return "no lifespan startup finished before the request"
    return not during or f"{len(during)} lifespan startup(s) began during the TestClient's request"


def _what_testclient_does(r: StepResult) -> bool | str:
    """On a small app of its own, not the lesson's: TestClient runs the lifespan only when entered,
    and by default raises an endpoint's exception into the test."""
    ran: list[str] = []

    @asynccontextmanager
    async def probe_lifespan(probe: FastAPI) -> AsyncIterator[None]:
        ran.append("startup")
        yield
        ran.append("shutdown")

    probe = FastAPI(lifespan=probe_lifespan)

    @probe.get("/boom")
    async def boom():
        raise LookupError("raised in the endpoint")

    client = TestClient(probe)
    try:
        if client.get("/docs").status_code != 200 or ran:
            return f"without `with`, the lifespan ran: {ran}"
    finally:
        client.close()
    with TestClient(probe) as entered:
        inside = list(ran)
        try:
            entered.get("/boom")
        except LookupError:
            raised = True
        else:
            raised = False
    if inside != ["startup"] or ran != ["startup", "shutdown"]:
        return f"with `with`, the lifespan ran {inside} inside and {ran} in all"
    return raised or "the endpoint's exception did not reach the test"


_BUILT_ON = (f"a subclass of `{CLIENT_PACKAGE}.Client`; Starlette {starlette.__version__} builds it on the "
             "httpx2 package when that is installed, else on httpx" if PREFERS_HTTPX2
             else f"a subclass of `{CLIENT_PACKAGE}.Client`")

def _fake_teardown_after_response(r: StepResult) -> bool | str:
    def first(test) -> int | None:
        return next((i for i, e in enumerate(r.events) if test(e)), None)

    sent = first(lambda e: e.stage == "response" and e.kind == "end")
    teardown = first(lambda e: e.stage == "dependency" and e.kind == "start" and e.detail.get("phase") == "teardown"
                     and e.name.split(".")[-1] == "get_fake_db")
    if sent is None or teardown is None:
        return "the trace has no response end" if sent is None else "get_fake_db's teardown never started"
    return sent < teardown or "get_fake_db's teardown started before the response had gone out"


if IMPORT_WARNINGS:
    _IMPORT_NOTE = f"""
(Importing `fastapi.testclient` warned on this machine: “{IMPORT_WARNINGS[0]}”
That is about the libraries under TestClient, not about your app; tests run
with the same packages will show it too, in pytest's warnings summary.)
"""
else:
    _IMPORT_NOTE = ""


LESSON = Lesson(
    id="lesson18",
    title="Testing",
    topics=["TestClient", "dependency_overrides", "lifespan", "testing"],
    goals=[
        "Send requests from a test with TestClient, and compare its trace with one through uvicorn.",
        "Know when TestClient runs the app's lifespan.",
        "Replace a dependency with `app.dependency_overrides`, and see the override run in the trace.",
        "Know which requests an override holds for, and for how long.",
    ],
    steps=[
        Step(
            title="A request from a test",
            narration=f"""
`TestClient(app)` is an HTTP client ({_BUILT_ON}) whose requests
never leave the process: it turns each one into an ASGI call of the app.
We send the same kind of request both ways at once:
`GET /hello/browser` through uvicorn, and `GET /hello/test` from a
`TestClient` on the same app, as a test would (the step's line for it says
**(TestClient)**). Compare the two traces.
{_IMPORT_NOTE}""",
            request=[TracedRequest("GET", "/hello/browser"), TracedRequest("GET", "/hello/test", via="testclient")],
            look_for=["request", "endpoint"],
            question=Question(
                prompt="No socket, no server. What does the trace show for the TestClient's request?",
                choices=[
                    "Only the endpoint: TestClient calls your function directly",
                    "The same layers and stages as through uvicorn",
                    "Nothing: the tracer only sees requests that uvicorn serves",
                ],
                answer=1,
                why="TestClient calls the app's ASGI interface, the entry point uvicorn calls, with a scope it "
                "builds itself: client ('testclient', 50000), Host: testserver. Everything inside the app runs as "
                "usual. Only uvicorn is missing: no `server: uvicorn` header, and the app runs on an event loop "
                "that TestClient starts in a thread of its own. The trace's first line says so: TestClient, not a "
                "server, handed the request to the app.",
            ),
            hints=["Read the first line of each trace: who handed the request to the app, and who does it say "
                   "the client is? (In the TUI, select that line; in plain mode, run with `--record trace.jsonl` "
                   "and read its JSON.)"],
            checks=[
                status(200),
                _of(1, status(200)),
                _of(0, _client_is("127.0.0.1")),
                _of(1, _client_is("testclient")),
                _of(1, _host_header("testserver")),
                custom("uvicorn's response says `server: uvicorn`; the TestClient's has no server header",
                       lambda r: (r.responses[0].headers.get("server") == "uvicorn"
                                  and "server" not in r.responses[1].headers)
                       or f"server headers: {r.responses[0].headers.get('server')!r}, "
                          f"{r.responses[1].headers.get('server')!r}"),
                custom("both traces have the same events, layer for layer and stage for stage", _same_layers),
                custom("the TestClient's endpoint ran on another thread than uvicorn's event loop", _other_thread),
                custom(f"TestClient is a subclass of {CLIENT_PACKAGE}.Client",
                       lambda r: issubclass(TestClient, starlette.testclient.httpx.Client)
                       or f"its bases are {TestClient.__bases__}"),
            ],
        ),
        Step(
            title="A TestClient made without `with`",
            narration="""
The app's lifespan yields a **state** dict, `{"catalogue": {...}}`: the
server gives every request a copy of it, as `request.state`. uvicorn ran
the lifespan once, when this lesson started. `read_book` reads
`request.state.catalogue`. We ask for a book both ways: `GET /books/1`
through uvicorn, `GET /books/2` from a new `TestClient(app)`, made the way
many test files make one: `client = TestClient(app)`, no `with`.
""",
            request=[TracedRequest("GET", "/books/1"), TracedRequest("GET", "/books/2", via="testclient")],
            look_for=["endpoint", "exception"],
            question=Question(
                prompt="What does the TestClient's GET /books/2 answer?",
                choices=["200 with Emma", "500: the endpoint raised", "404: no book 2"],
                answer=1,
                why="TestClient sends the lifespan startup only when it is entered, `with TestClient(app) as "
                "client:` (and the shutdown when the block ends). This one never is, so its requests get an empty "
                "state: request.state.catalogue does not exist, read_book raises AttributeError, and "
                "ServerErrorMiddleware answers 500. In your own test, TestClient(app) raises that error into the "
                "test instead (raise_server_exceptions=True is its default); the lesson's client is made with "
                "raise_server_exceptions=False, so you see the 500 a browser would get.",
            ),
            hints=[
                "Which line of the TestClient's trace ends with ✗, and what did it raise?",
                "uvicorn's request got the catalogue; which step of the ASGI protocol fills the state?",
            ],
            checks=[
                custom("through uvicorn: 200 with Dune", lambda r: r.responses[0].json() == {"book_id": 1, "title": "Dune"}
                       or f"it answered {r.responses[0].status_code}: {r.responses[0].text[:80]}"),
                _of(1, status(500)),
                _of(1, has("endpoint", "end", name="read_book", raised_name="AttributeError")),
                _of(1, has("exception", name="AttributeError", handled=False, caught_by="ServerErrorMiddleware")),
                custom("uvicorn's lifespan startup ran before; none began for the TestClient's request",
                       _no_startup_for_the_test),
                custom("on an app of its own, TestClient runs the lifespan only inside `with`, "
                       "and by default raises an endpoint's exception into the test", _what_testclient_does),
                custom("raise_server_exceptions is True unless you say otherwise",
                       lambda r: inspect.signature(TestClient).parameters["raise_server_exceptions"].default is True),
            ],
        ),
        Step(
            title="Swap a dependency: app.dependency_overrides",
            narration="""
`due_date` depends on `get_today`, so its answer changes every day, and a
test of it would too. The app's test setup (below the routes) does what a
test would do: `app.dependency_overrides[get_today] = frozen_today`.
`dependency_overrides` is a dict on the app: each key is a dependency as
routes declare it in `Depends(...)`, its value the function to call
instead. We ask for a due date both ways.
""",
            request=[TracedRequest("GET", "/books/1/due"), TracedRequest("GET", "/books/2/due", via="testclient")],
            look_for=["dependency"],
            question=Question(
                prompt="Which of the two requests gets frozen_today instead of get_today?",
                choices=[
                    "Only the TestClient's: overrides are for tests",
                    "Both: the override is set on the app, whoever sends the request",
                    "Neither: overrides must be set before the routes are declared",
                ],
                answer=1,
                why="FastAPI looks in app.dependency_overrides each time it solves a request's dependencies, "
                "whoever sent the request, so the uvicorn request got the frozen date too. The trace names the "
                "function that really ran, frozen_today, for the parameter get_today was declared for. A test "
                "that sets an override should remove it when it is done (`app.dependency_overrides.clear()`), "
                "or every later request to the app gets it too.",
            ),
            checks=[
                status(200),
                _of(0, body(lambda b: b["due"] == "2030-01-15", "the due date is 2030-01-15, from the frozen date")),
                _of(1, body(lambda b: b["due"] == "2030-01-15", "the due date is 2030-01-15, from the frozen date")),
                _of(0, has("dependency", "start", name="frozen_today", param="today", needed_by="due_date")),
                _of(1, has("dependency", "start", name="frozen_today", param="today", needed_by="due_date")),
                _of(0, lacks("dependency", name="get_today")),
                _of(1, lacks("dependency", name="get_today")),
            ],
        ),
        Exercise(
            title="Keep the test away from the real database",
            narration="""
Your turn. The test setup means to replace `get_db` with `get_fake_db`, so
that a test's `GET /loans` reads `FakeDatabase` and never opens the real
database. As the lesson ships it, it does not: the TestClient's request
still runs `get_db` and answers the real loans. Make it answer from `get_fake_db`, with its
teardown run after the response as a real dependency's would, and without
`get_db` running at all.
""",
            region="fake-db",
            request=TracedRequest("GET", "/loans", via="testclient"),
            look_for=["dependency"],
            hints=[
                "Which dependency does the trace show for list_loans's `db` parameter?",
                "FastAPI looks up each dependency as a route declares it, here `Depends(get_db)`, among the keys of "
                "app.dependency_overrides, and calls the value instead. Which function is the key in the setup?",
                "The key is the dependency to replace, the value its replacement: "
                "`app.dependency_overrides[get_db] = get_fake_db`.",
            ],
            checks=[
                status(200),
                has("dependency", "start", name="get_fake_db", phase="setup", param="db"),
                lacks("dependency", name="get_db"),
                has("dependency", "start", name="get_fake_db", phase="teardown"),
                custom("get_fake_db's teardown starts after the response end", _fake_teardown_after_response),
                body(lambda b: b == {"loans": FakeDatabase().loans()}, "the loans come from FakeDatabase"),
            ],
        ),
    ],
    summary="""
`TestClient(app)` sends requests straight into the app's ASGI interface:
the trace has the same layers and stages as through uvicorn, with the
client `testclient`, the host `testserver` and no uvicorn. It runs the
lifespan only inside `with TestClient(app) as client:`, so a test that
needs what the lifespan loads must enter it. `app.dependency_overrides`
maps a dependency to its replacement for every request to the app, test
or not, until it is removed; the trace names the function that really ran.

That was the last lesson. To watch your own app the same way, run
`lifecycle-tracer trace main:app` (your module and the app in it) and send
it requests with a browser, curl or httpie: every request is traced, stage
by stage, as in these lessons.
""",
)
