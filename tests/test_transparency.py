"""Transparency: a traced app answers exactly like the untraced one.

Every corpus app (tests/corpus/) is built twice with ``make_app()``; one copy
is instrumented, and both get the same requests. Status, headers (as ordered
pairs, ``date`` aside), body bytes, escaping exceptions, warnings, lifespan
messages and WebSocket conversations must be identical.

Three ways of running:

* in-process, over ``httpx.ASGITransport`` (HTTP) and Starlette's
  ``TestClient`` (WebSockets), traced with a ``Recorder``;
* the same, traced with a sink that raises on every event (a ``Recorder`` is
  added behind it to prove tracing was on);
* through real uvicorn servers on 127.0.0.1 (one untraced, one traced server
  per corpus app, started once per session; WebSockets too when the
  ``websockets`` package is installed).

Two more checks: many requests at once on one traced app, and untraced apps in
this process (where ``instrument()`` has patched FastAPI's internals) against
a reference process that never loads the tracer.

Warnings are compared for HTTP, in-process and over uvicorn (the warning
machinery is process-wide, so a server thread's warnings are recorded too), and
for in-process WebSockets.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import pickle
import re
import sys
import threading
import time
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import httpx
import pytest
import uvicorn
from corpus import APPS, WS, CorpusApp, Req
from starlette.websockets import WebSocketDisconnect

if TYPE_CHECKING:
    from lifecycle_tracer import Recorder, TraceEvent

with warnings.catch_warnings():
    # Import-time deprecations that are not this project's: Starlette >= 1.x
    # asks for httpx2 instead of httpx, and older Starlettes name anyio aliases
    # that recent anyio deprecates.
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette\.testclient` is deprecated")
    warnings.filterwarnings("ignore", message=r"The anyio\.abc\.\w+ alias is deprecated", category=DeprecationWarning)
    from starlette.testclient import TestClient, WebSocketDenialResponse

try:  # WebSockets over uvicorn need a client library (and uvicorn a server one)
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect as ws_connect
except ImportError:  # pragma: no cover - depends on the environment
    ws_connect = None

TESTS_DIR = Path(__file__).resolve().parent
RECEIVE_TIMEOUT = 10.0  # a safety net against hangs, never a race cover


class BoomSink:
    """A sink that fails on every event; tracing must not disturb the app."""

    def __init__(self) -> None:
        self.calls = 0

    def emit(self, event: TraceEvent) -> None:
        self.calls += 1
        raise RuntimeError("boom")


# --------------------------------------------------------------------------
# Outcomes: plain, comparable descriptions of what a client observed.


@dataclass(frozen=True)
class Answer:
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


@dataclass(frozen=True)
class Raised:
    exception: tuple[Any, ...]


@dataclass(frozen=True)
class Run:
    answers: tuple[Answer | Raised, ...]
    warnings: tuple[tuple[str, str], ...]
    lifespan: tuple[tuple[Any, ...], ...]


def type_name(obj: Any) -> str:
    tp = obj if isinstance(obj, type) else type(obj)
    if tp.__module__ == "builtins":
        return tp.__qualname__
    return f"{tp.__module__}.{tp.__qualname__}"


def safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception as inner:  # an exception whose __str__ fails (see corpus.exceptions_app)
        return f"<str() raised {type_name(inner)}>"


# Randomness that is the same feature in both copies, not a tracer effect:
# the temporary directory files_app makes, the boundary of a multi-range answer.
# Clock readings: cookie expiry dates (max_age, delete_cookie) and, in older
# Starlettes, the MTIME field of a gzip header.
_TMPDIR = re.compile(rb"corpus-files-[A-Za-z0-9_]+")
_BYTERANGES = re.compile(rb"multipart/byteranges; boundary=([0-9a-f]+)")
_COOKIE_EXPIRES = re.compile(rb"expires=[^;]+GMT", re.IGNORECASE)


def _scrub(data: bytes, boundary: bytes | None = None) -> bytes:
    data = _TMPDIR.sub(b"corpus-files-<tmp>", data)
    return data.replace(boundary, b"<boundary>") if boundary else data


def describe_exception(exc: BaseException) -> tuple[Any, ...]:
    text = _scrub(safe_str(exc).encode()).decode()
    if isinstance(exc, BaseExceptionGroup):
        return (type_name(exc), text, tuple(describe_exception(e) for e in exc.exceptions))
    return (type_name(exc), text)


def without_date(raw: Any) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((bytes(k), bytes(v)) for k, v in raw if bytes(k).lower() != b"date")


def make_answer(status: int, raw_headers: Any, body: bytes) -> Answer:
    headers = without_date(raw_headers)
    boundary = None
    gzipped = False
    for key, value in headers:
        found = _BYTERANGES.search(value)  # in Content-Type (older Starlettes: Content-Range)
        if found:
            boundary = found.group(1)
        gzipped = gzipped or (key.lower() == b"content-encoding" and value == b"gzip")
    scrubbed = []
    for key, value in headers:
        value = _scrub(value, boundary)
        if key.lower() == b"set-cookie":
            value = _COOKIE_EXPIRES.sub(b"expires=<clock>", value)
        scrubbed.append((key, value))
    if gzipped and body[:2] == b"\x1f\x8b" and len(body) >= 10:
        body = body[:4] + b"\0\0\0\0" + body[8:]  # RFC 1952 MTIME
    return Answer(status, tuple(scrubbed), _scrub(body, boundary))


def warning_list(caught: list[warnings.WarningMessage]) -> tuple[tuple[str, str], ...]:
    return tuple((w.category.__name__, str(w.message)) for w in caught)


@contextlib.contextmanager
def recording_warnings() -> Iterator[list[warnings.WarningMessage]]:
    # No cyclic garbage collection while recording: a ResourceWarning from some
    # earlier test's garbage must not land in one run's list and not the other's.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield caught
    finally:
        if was_enabled:
            gc.enable()


# --------------------------------------------------------------------------
# Building the two copies.


# lifecycle_tracer is imported only where an app gets traced, so that the
# reference process of test_untraced_apps_unaffected_by_installed_hooks can run
# this module's harness without ever loading it.


class Traced:
    """A traced copy's sinks: the Recorder, and the BoomSink in front of it if any."""

    def __init__(self, sink: str) -> None:
        from lifecycle_tracer import Recorder

        self.recorder = Recorder()
        self.boom = BoomSink() if sink == "boom" else None

    def check(self, expected: int, scope_type: str = "http") -> None:
        assert_traced(self.recorder, expected, scope_type)
        if self.boom is not None:  # the failing sink really was called, every time
            assert self.boom.calls == len(self.recorder.events) > 0


def build(capp: CorpusApp, sink: str | None) -> tuple[Any, Traced | None]:
    """A fresh app; traced with a Recorder, or with a BoomSink and a Recorder behind it."""
    app = capp.module.make_app()
    if sink is None:
        return app, None
    if sink not in ("recorder", "boom"):  # pragma: no cover
        raise ValueError(sink)
    from lifecycle_tracer import instrument

    traced = Traced(sink)
    if traced.boom is None:
        instrument(app, sink=traced.recorder)
    else:
        instrument(app, sink=traced.boom).add_sink(traced.recorder)
    return app, traced


def completed_requests(events: list[TraceEvent]) -> dict[str, tuple[bool, bool, str | None]]:
    """request id -> (has request start, has request end, scope type)."""
    out: dict[str, tuple[bool, bool, str | None]] = {}
    for ev in events:
        start, end, typ = out.get(ev.request_id, (False, False, None))
        if ev.stage == "request" and ev.kind == "start":
            start, typ = True, ev.detail.get("type")
        elif ev.stage == "request" and ev.kind == "end":
            end = True
        out[ev.request_id] = (start, end, typ)
    return out


def assert_traced(recorder: Recorder, expected: int, scope_type: str = "http") -> None:
    """The tracer really was on: one request start and end per request sent.

    Only connections of ``scope_type`` are counted; whatever else the tracer
    reports (the lifespan, say) is not this test's business.
    """
    seen = {rid: v for rid, v in completed_requests(list(recorder.events)).items() if v[2] == scope_type}
    assert len(seen) == expected, f"expected {expected} traced {scope_type} request(s), the Recorder saw {seen}"
    for rid, (start, end, _typ) in seen.items():
        assert start and end, f"request {rid} lacks its request start/end events: {seen}"


# --------------------------------------------------------------------------
# In-process HTTP.


@dataclass
class Lifespan:
    state: dict[str, Any]
    events: list[tuple[Any, ...]]  # what the app sent back, and any exception it raised

    @property
    def started(self) -> bool:
        return bool(self.events) and self.events[0] == ("lifespan.startup.complete",)


def _lifespan_event(message: dict[str, Any]) -> tuple[Any, ...]:
    if "message" in message:  # a failure carries the traceback text
        return (message["type"], _scrub(str(message["message"]).encode()).decode())
    return (message["type"],)


@contextlib.asynccontextmanager
async def asgi_lifespan(app: Any) -> AsyncIterator[Lifespan]:
    """Run the app's lifespan over the ASGI protocol, as a server does."""
    lifespan = Lifespan(state={}, events=[])
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": lifespan.state}
    to_app, app_inbox = anyio.create_memory_object_stream[dict[str, Any]](4)
    app_outbox, from_app = anyio.create_memory_object_stream[dict[str, Any]](4)

    raised: list[tuple[Any, ...]] = []

    async def run_app() -> None:
        async with app_outbox:
            try:
                await app(scope, app_inbox.receive, app_outbox.send)
            except Exception as exc:  # Starlette re-raises after reporting *.failed
                raised.append(("raised", describe_exception(exc)))

    async def next_event() -> None:
        try:
            lifespan.events.append(_lifespan_event(await from_app.receive()))
        except anyio.EndOfStream:
            lifespan.events.append(("app returned",))

    async with to_app, app_inbox, from_app, anyio.create_task_group() as tg:
        tg.start_soon(run_app)
        await to_app.send({"type": "lifespan.startup"})
        await next_event()
        try:
            yield lifespan
        finally:
            if lifespan.started:
                await to_app.send({"type": "lifespan.shutdown"})
                await next_event()
    lifespan.events.extend(raised)  # the app's task is over: it raised, or it did not


def with_lifespan_state(app: Any, state: dict[str, Any]) -> Callable[..., Any]:
    """What a server does with lifespan state: a shallow copy in every request scope."""

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await app({**scope, "state": dict(state)}, receive, send)

    return asgi


def _chunks(data: bytes) -> list[bytes]:
    return [data[i : i + 512] for i in range(0, len(data), 512)]


def build_request(client: httpx.Client | httpx.AsyncClient, req: Req) -> httpx.Request:
    content: Any = req.content
    if req.chunked and content is not None:  # an iterator body goes out chunked
        if isinstance(client, httpx.AsyncClient):

            async def agen(parts: list[bytes] = _chunks(content)) -> AsyncIterator[bytes]:
                for part in parts:
                    yield part

            content = agen()
        else:
            content = iter(_chunks(content))
    return client.build_request(
        req.method,
        req.path,
        params=req.params,
        headers=list(req.headers),
        json=req.json,
        content=content,
        data=req.data,
        files=req.files,
    )


async def send_inprocess(client: httpx.AsyncClient, req: Req) -> Answer:
    response = await client.send(build_request(client, req), stream=True)
    try:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    finally:
        await response.aclose()
    return make_answer(response.status_code, response.headers.raw, body)


async def run_inprocess(app: Any, req: Req, *, raise_app_exceptions: bool, root_path: str = "") -> Run:
    answers: list[Answer | Raised] = []
    with recording_warnings() as caught:
        async with asgi_lifespan(app) as lifespan:
            if lifespan.started:  # a server does not serve an app whose startup failed
                transport = httpx.ASGITransport(
                    app=with_lifespan_state(app, lifespan.state),
                    raise_app_exceptions=raise_app_exceptions,
                    root_path=root_path,
                )
                async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                    for r in req.all_requests():
                        try:
                            answers.append(await send_inprocess(client, r))
                        except Exception as exc:
                            answers.append(Raised(describe_exception(exc)))
    return Run(tuple(answers), warning_list(caught), tuple(lifespan.events))


def check_corpus_expectation(req: Req, run: Run, raise_app_exceptions: bool) -> None:
    """The untraced app does what the corpus says, so each case tests what it claims."""
    if req.expect_lifespan is not None:
        assert [e[0] for e in run.lifespan] == list(req.expect_lifespan), run.lifespan
    else:
        assert [e[0] for e in run.lifespan] == ["lifespan.startup.complete", "lifespan.shutdown.complete"], run.lifespan
    if not run.answers:
        return
    first = run.answers[0]
    if req.expect_raises is not None and raise_app_exceptions:
        assert isinstance(first, Raised), f"{req.id}: expected {req.expect_raises} to escape, got {first}"
        assert first.exception[0] == req.expect_raises, first
    elif req.expect_status is not None:
        assert isinstance(first, Answer), f"{req.id}: expected status {req.expect_status}, got {first}"
        assert first.status == req.expect_status, f"{req.id}: {first.status} {first.body[:300]!r}"


HTTP_CASES = [pytest.param(capp, req, id=f"{capp.name}-{req.id}") for capp in APPS for req in capp.requests]
WS_CASES = [pytest.param(capp, ws, id=f"{capp.name}-{ws.id}") for capp in APPS for ws in capp.websockets]
SINKS = [pytest.param("recorder", id="recorder"), pytest.param("boom", id="boom-sink")]


# The untraced answers, computed once per (app, request, mode) and shared by
# both sink variants; each comes from a fresh make_app() like the traced copy.
_REFERENCE: dict[tuple[str, str, bool], Run] = {}


async def reference_run(capp: CorpusApp, req: Req, raise_app_exceptions: bool) -> Run:
    key = (capp.name, req.id, raise_app_exceptions)
    if key not in _REFERENCE:
        plain, _ = build(capp, None)
        run = await run_inprocess(plain, req, raise_app_exceptions=raise_app_exceptions, root_path=capp.root_path)
        check_corpus_expectation(req, run, raise_app_exceptions)
        _REFERENCE[key] = run
    return _REFERENCE[key]


def any_raised(*runs: Run) -> bool:
    return any(isinstance(a, Raised) for run in runs for a in run.answers)


@pytest.mark.anyio
@pytest.mark.parametrize("sink", SINKS)
@pytest.mark.parametrize(("capp", "req"), HTTP_CASES)
async def test_http_in_process(capp: CorpusApp, req: Req, sink: str) -> None:
    for raise_app_exceptions in (True, False):
        expected = await reference_run(capp, req, raise_app_exceptions)
        traced, sinks = build(capp, sink)
        assert sinks is not None
        actual = await run_inprocess(traced, req, raise_app_exceptions=raise_app_exceptions, root_path=capp.root_path)
        mode = f"raise_app_exceptions={raise_app_exceptions}"
        assert actual.answers == expected.answers, f"traced answers differ ({mode})"
        assert actual.warnings == expected.warnings, f"traced warnings differ ({mode})"
        assert actual.lifespan == expected.lifespan, f"traced lifespan differs ({mode})"
        sinks.check(len(actual.answers))
        if not any_raised(expected, actual):
            break  # nothing escaped the app, so raise_app_exceptions=False changes nothing


# Many requests at once on one app: each request's trace lives in a context
# variable, so interleaved requests must not see each other's state.
CONCURRENT_APPS = ("basics", "streaming", "sse", "routing", "exceptions", "dependencies", "files", "mounts")


def concurrent_requests(capp: CorpusApp) -> list[Req]:
    """Requests whose answers do not depend on the order they are served in."""
    return [
        r
        for r in capp.requests
        if r.method in ("GET", "HEAD", "OPTIONS") and not r.followups and r.expect_raises is None and r.uvicorn
    ]


async def run_concurrently(app: Any, reqs: list[Req], root_path: str) -> tuple[list[Any], list[tuple[str, str]]]:
    results: list[Any] = [None] * len(reqs)
    with recording_warnings() as caught:
        async with asgi_lifespan(app) as lifespan:
            transport = httpx.ASGITransport(
                app=with_lifespan_state(app, lifespan.state), raise_app_exceptions=False, root_path=root_path
            )
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:

                async def one(i: int, req: Req) -> None:
                    try:
                        results[i] = await send_inprocess(client, req)
                    except Exception as exc:
                        results[i] = Raised(describe_exception(exc))

                async with anyio.create_task_group() as tg:
                    for i, req in enumerate(reqs):
                        tg.start_soon(one, i, req)
    return results, sorted(warning_list(caught))


@pytest.mark.anyio
@pytest.mark.parametrize("capp", [pytest.param(c, id=c.name) for c in APPS if c.name in CONCURRENT_APPS])
async def test_concurrent_requests_in_process(capp: CorpusApp) -> None:
    reqs = concurrent_requests(capp) * 3
    assert reqs
    plain, _ = build(capp, None)
    traced, sinks = build(capp, "recorder")
    assert sinks is not None
    expected, expected_warnings = await run_concurrently(plain, reqs, capp.root_path)
    actual, actual_warnings = await run_concurrently(traced, reqs, capp.root_path)
    for req, got, want in zip(reqs, actual, expected, strict=True):
        assert got == want, f"{req.id}: traced answer differs when requests run concurrently"
    assert actual_warnings == expected_warnings
    sinks.check(len(reqs))


# --------------------------------------------------------------------------
# In-process WebSockets, through Starlette's TestClient (the real app, in a thread).


def _receive(session: Any) -> dict[str, Any]:
    # WebSocketTestSession.receive() has no timeout; a lost message must fail
    # the test, not hang it, so receive from the session's stream under one.
    async def receive() -> dict[str, Any]:
        with anyio.fail_after(RECEIVE_TIMEOUT):
            return await session._send_rx.receive()

    return session.portal.call(receive)


def ws_step_testclient(session: Any, step: tuple[Any, ...]) -> tuple[Any, ...] | None:
    action = step[0]
    if action == "send_text":
        session.send_text(step[1])
    elif action == "send_bytes":
        session.send_bytes(step[1])
    elif action == "send_json":
        session.send_json(step[1])
    elif action == "close":
        session.close(step[1])
    elif action == "receive":
        return ("message", tuple(sorted(_receive(session).items())))
    elif action == "await_end":
        pass  # the app's own end (return or crash) is seen when the session exits
    else:  # pragma: no cover
        raise ValueError(step)
    return None


def run_ws_testclient(app: Any, ws: WS) -> tuple[list[tuple[Any, ...]], tuple[tuple[str, str], ...]]:
    conversation: list[tuple[Any, ...]] = []
    with recording_warnings() as caught, TestClient(app) as client:
        try:
            with client.websocket_connect(
                ws.path, subprotocols=list(ws.subprotocols) or None, headers=dict(ws.headers)
            ) as session:
                headers = session.extra_headers
                conversation.append(
                    ("accepted", session.accepted_subprotocol, without_date(headers) if headers else None)
                )
                for step in ws.script:
                    seen = ws_step_testclient(session, step)
                    if seen is not None:
                        conversation.append(seen)
        except WebSocketDenialResponse as denial:
            conversation.append(("denied", denial.status_code, without_date(denial.headers.raw), denial.content))
        except WebSocketDisconnect as exc:
            conversation.append(("closed", exc.code, exc.reason))
        except Exception as exc:
            conversation.append(("raised", describe_exception(exc)))
    return conversation, warning_list(caught)


def check_ws_expectation(ws: WS, conversation: list[tuple[Any, ...]]) -> None:
    kinds = {"accept": "accepted", "close": "closed", "deny": "denied"}
    if ws.expect == "raise":
        assert conversation[0][0] == "accepted" and conversation[-1][0] == "raised", conversation
    else:
        assert conversation[0][0] == kinds[ws.expect], conversation
        assert conversation[-1][0] != "raised", conversation


@pytest.mark.parametrize("sink", SINKS)
@pytest.mark.parametrize(("capp", "ws"), WS_CASES)
def test_websocket_in_process(capp: CorpusApp, ws: WS, sink: str) -> None:
    plain, _ = build(capp, None)
    traced, sinks = build(capp, sink)
    assert sinks is not None
    expected, expected_warnings = run_ws_testclient(plain, ws)
    check_ws_expectation(ws, expected)
    actual, actual_warnings = run_ws_testclient(traced, ws)
    assert actual == expected, "traced WebSocket conversation differs"
    assert actual_warnings == expected_warnings, "traced warnings differ"
    sinks.check(1, scope_type="websocket")


# --------------------------------------------------------------------------
# Real uvicorn servers.


class LiveServer:
    """A uvicorn server on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self, app: Any, root_path: str = "") -> None:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            root_path=root_path,
            lifespan="on",
            log_level="warning",
            log_config=None,  # leave the test run's logging setup alone
            access_log=False,
            http="h11",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn-transparency", daemon=True)
        self.port = 0

    def start(self) -> None:
        self.thread.start()
        tick = threading.Event()  # never set: wait() is just a short, bounded poll
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("uvicorn stopped during startup")
            if time.monotonic() > deadline:
                raise TimeoutError("uvicorn did not start")
            tick.wait(0.005)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]

    def stop(self) -> None:
        self.server.should_exit = True

    def join(self) -> None:
        self.thread.join(timeout=20)
        assert not self.thread.is_alive(), "uvicorn did not shut down"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class ServerPair:
    plain: LiveServer
    traced: LiveServer
    recorder: Recorder


class ServerPool:
    """One untraced and one traced server per corpus app, started on first use."""

    def __init__(self) -> None:
        self.pairs: dict[str, ServerPair] = {}

    def get(self, capp: CorpusApp) -> ServerPair:
        pair = self.pairs.get(capp.name)
        if pair is None:
            plain, _ = build(capp, None)
            traced, sinks = build(capp, "recorder")
            assert sinks is not None
            pair = ServerPair(LiveServer(plain, capp.root_path), LiveServer(traced, capp.root_path), sinks.recorder)
            self.pairs[capp.name] = pair
            pair.plain.start()
            pair.traced.start()
        return pair

    def close(self) -> None:
        servers = [s for p in self.pairs.values() for s in (p.plain, p.traced)]
        for server in servers:
            server.stop()
        for server in servers:
            server.join()


@pytest.fixture(scope="session")
def live_servers() -> Iterator[ServerPool]:
    pool = ServerPool()
    try:
        yield pool
    finally:
        pool.close()


def run_over_uvicorn(server: LiveServer, req: Req) -> list[Answer | Raised]:
    answers: list[Answer | Raised] = []
    # A fixed Host header: absolute URLs in answers (redirects, url_for) must
    # not carry the two servers' different ports.
    with httpx.Client(base_url=server.url, headers={"host": "testserver"}, trust_env=False, timeout=20) as client:
        for r in req.all_requests():
            try:
                response = client.send(build_request(client, r), stream=True)
                try:
                    body = b"".join(response.iter_raw())
                finally:
                    response.close()
                answers.append(make_answer(response.status_code, response.headers.raw, body))
            except Exception as exc:
                answers.append(Raised(describe_exception(exc)))
    return answers


def wait_until_traced(recorder: Recorder, total: int, scope_type: str) -> None:
    """The traced server finishes a request after its client has the answer: wait for it."""

    def done(events: list[TraceEvent]) -> bool:
        seen = completed_requests(events)
        return sum(1 for s, e, t in seen.values() if s and e and t == scope_type) >= total

    assert recorder.wait_for(done, timeout=20), f"the traced server did not trace {total} {scope_type} request(s)"


def _traced_so_far(recorder: Recorder, scope_type: str) -> int:
    seen = completed_requests(list(recorder.events))
    return sum(1 for s, e, t in seen.values() if s and e and t == scope_type)


UVICORN_HTTP_CASES = [
    pytest.param(capp, req, id=f"{capp.name}-{req.id}") for capp in APPS for req in capp.requests if req.uvicorn
]


@pytest.mark.parametrize(("capp", "req"), UVICORN_HTTP_CASES)
def test_http_over_uvicorn(capp: CorpusApp, req: Req, live_servers: ServerPool) -> None:
    pair = live_servers.get(capp)
    before = _traced_so_far(pair.recorder, "http")
    # The warning machinery is process-wide, so the servers' threads record
    # into these lists too (the corpus warns before answering, never after).
    with recording_warnings() as caught:
        expected = run_over_uvicorn(pair.plain, req)
    expected_warnings = warning_list(caught)
    with recording_warnings() as caught:
        actual = run_over_uvicorn(pair.traced, req)
    assert actual == expected, "traced answers over uvicorn differ"
    assert warning_list(caught) == expected_warnings, "traced warnings over uvicorn differ"
    wait_until_traced(pair.recorder, before + len(req.all_requests()), "http")


def ws_step_live(conn: Any, step: tuple[Any, ...]) -> tuple[Any, ...] | None:
    action = step[0]
    if action == "send_text" or action == "send_bytes":
        conn.send(step[1])
    elif action == "send_json":
        conn.send(json.dumps(step[1], separators=(",", ":")))
    elif action == "close":
        conn.close(step[1])
    elif action in ("receive", "await_end"):
        try:
            return ("message", conn.recv(timeout=RECEIVE_TIMEOUT))
        except ConnectionClosed as closed:
            frame = closed.rcvd
            return ("closed", type_name(closed), frame.code if frame else None, frame.reason if frame else None)
    else:  # pragma: no cover
        raise ValueError(step)
    return None


_HANDSHAKE_NOISE = {"date", "sec-websocket-accept"}


def run_ws_over_uvicorn(server: LiveServer, ws: WS) -> list[tuple[Any, ...]]:
    conversation: list[tuple[Any, ...]] = []
    url = f"ws://127.0.0.1:{server.port}{ws.path}"
    try:
        with ws_connect(
            url,
            subprotocols=list(ws.subprotocols) or None,  # type: ignore[arg-type]
            additional_headers=list(ws.headers) or None,
            proxy=None,
            open_timeout=RECEIVE_TIMEOUT,
            close_timeout=RECEIVE_TIMEOUT,
        ) as conn:
            assert conn.response is not None
            headers = [
                (k.lower(), v) for k, v in conn.response.headers.raw_items() if k.lower() not in _HANDSHAKE_NOISE
            ]
            conversation.append(("accepted", conn.subprotocol, tuple(headers)))
            for step in ws.script:
                seen = ws_step_live(conn, step)
                if seen is not None:
                    conversation.append(seen)
                    if seen[0] == "closed":
                        break
        conversation.append(("client closed", conn.close_code, conn.close_reason))
    except InvalidStatus as refused:
        response = refused.response
        headers = [(k.lower(), v) for k, v in response.headers.raw_items() if k.lower() not in _HANDSHAKE_NOISE]
        conversation.append(("refused", response.status_code, tuple(headers), response.body))
    except Exception as exc:
        conversation.append(("raised", describe_exception(exc)))
    return conversation


UVICORN_WS_CASES = [
    pytest.param(capp, ws, id=f"{capp.name}-{ws.id}") for capp in APPS for ws in capp.websockets if ws.uvicorn
]


def _websocket_over_uvicorn(capp: CorpusApp, ws: WS, live_servers: ServerPool) -> None:
    pair = live_servers.get(capp)
    before = _traced_so_far(pair.recorder, "websocket")
    expected = run_ws_over_uvicorn(pair.plain, ws)
    actual = run_ws_over_uvicorn(pair.traced, ws)
    assert actual == expected, "traced WebSocket conversation over uvicorn differs"
    wait_until_traced(pair.recorder, before + 1, "websocket")


if ws_connect is not None:  # without the websockets package, WebSockets run in-process only
    test_websocket_over_uvicorn = pytest.mark.parametrize(("capp", "ws"), UVICORN_WS_CASES)(_websocket_over_uvicorn)


# --------------------------------------------------------------------------
# The untraced copies above run in a process where instrument() has patched
# FastAPI's internals (the patches are process-wide and stay). Check that an
# untraced app here still answers like one in a process the tracer never touched.


async def untraced_outcomes() -> dict[tuple[str, str, bool], Run]:
    for capp in APPS:
        for req in capp.requests:
            if any_raised(await reference_run(capp, req, True)):
                await reference_run(capp, req, False)
    return dict(_REFERENCE)


_PRISTINE_SCRIPT = """
import pickle, sys
sys.modules["lifecycle_tracer"] = None  # any import of the tracer fails here
sys.path.insert(0, sys.argv[1])
import anyio
import test_transparency as t
outcomes = anyio.run(t.untraced_outcomes)
t.assert_pristine()
sys.stdout.buffer.write(pickle.dumps(outcomes))
"""


def assert_pristine() -> None:
    """The functions a tracer would wrap are FastAPI's and Starlette's own code."""
    import fastapi
    import fastapi.dependencies.utils as du
    import fastapi.routing as fr
    import starlette
    import starlette._exception_handler as eh
    import starlette.background as bg

    homes = (Path(fastapi.__file__).resolve().parent, Path(starlette.__file__).resolve().parent)
    funcs = {
        "fastapi.routing.run_endpoint_function": fr.run_endpoint_function,
        "fastapi.routing.serialize_response": fr.serialize_response,
        "fastapi.routing.solve_dependencies": fr.solve_dependencies,
        "fastapi.dependencies.utils.solve_dependencies": du.solve_dependencies,
        "fastapi.dependencies.utils.request_params_to_args": du.request_params_to_args,
        "starlette._exception_handler._lookup_exception_handler": eh._lookup_exception_handler,
        "starlette.background.BackgroundTask.__call__": bg.BackgroundTask.__call__,
    }
    foreign = [
        name
        for name, func in funcs.items()
        if not any(home in Path(func.__code__.co_filename).resolve().parents for home in homes)
    ]
    assert not foreign, f"the reference process must run FastAPI untouched, but {foreign} are replaced"


@pytest.mark.anyio
async def test_untraced_apps_unaffected_by_installed_hooks() -> None:
    from lifecycle_tracer import Recorder, instrument

    instrument(APPS[0].module.make_app(), sink=Recorder())  # whatever it installs process-wide is in now
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    proc = await anyio.run_process([sys.executable, "-c", _PRISTINE_SCRIPT, str(TESTS_DIR)], env=env, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    pristine: dict[tuple[str, str, bool], Run] = pickle.loads(proc.stdout)
    here = await untraced_outcomes()
    assert set(pristine) <= set(here)
    for key, run in pristine.items():
        assert across_processes(here[key]) == across_processes(run), (
            f"{key}: an untraced app answers differently once the tracer is installed"
        )


def across_processes(run: Run) -> Run:
    """Starlette builds Allow from a set: its order follows the process's hash seed."""
    answers = []
    for answer in run.answers:
        if isinstance(answer, Answer):
            headers = tuple(
                (k, b", ".join(sorted(v.split(b", "))) if k.lower() == b"allow" else v) for k, v in answer.headers
            )
            answer = Answer(answer.status, headers, answer.body)
        answers.append(answer)
    return Run(tuple(answers), run.warnings, run.lifespan)
