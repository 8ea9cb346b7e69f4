"""``LifecycleTrace``: one test's record of an app's requests, with questions that read as English.

The ``lifecycle_trace`` pytest fixture (``pytest_plugin.py``) hands these out;
``traced(app)`` does the same without pytest. Each helper reads what the
tracer recorded for one request and never re-derives FastAPI's rules, so an
answer is what really happened in this FastAPI; where the fact it needs was
not recorded, the helper returns None rather than guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from .events import TraceEvent
from .instrument.tracer import instrument, tracer_of, uninstrument
from .sinks.memory import Recorder

_ID = re.compile(r"(\D*)(\d+)")  # a tracer's id: its prefix and its number, "r12", "startup3"

# FastAPI's own route classes: their endpoints run through the calls the tracer
# hooks, so a request routed to one and missing an endpoint event never reached it.
_SEEN_ENDPOINTS = ("APIRoute", "APIWebSocketRoute")


class Teardown(NamedTuple):
    """A yield dependency's code after ``yield``: whose it was, and when it began.

    ``when`` is ``"before response"`` (nothing had been sent to the client yet),
    ``"while responding"`` (the response had started, its last byte had not gone
    out), ``"after response"`` (the whole response had been handed to the
    server), or None where that was not recorded. It compares equal to a plain
    tuple: ``Teardown("get_db", "after response") == ("get_db", "after response")``.
    """

    name: str
    when: str | None


class Param(NamedTuple):
    """One error of FastAPI's validation, from its ``loc`` (see ``failed_params``); ``Param("body", "qty") == ("body", "qty")``."""

    location: str
    name: str


class LifecycleTrace(Recorder):
    """Every request through the app since ``lifecycle_trace(app)``, and helpers that question one of them.

    It is a ``Recorder`` (``events``, ``by_request()``, ``wait_for()``). Each
    helper takes a ``request_id`` (``"r1"``, ``"r2"``... in the order requests
    arrived) and, without one, answers for the last request to arrive.
    Requests are numbered from ``r1`` even when the app traces itself and its
    tracer numbered requests before: the events here then carry this trace's
    ids, and the app's own sinks keep the tracer's.

    A helper first waits for that request's end event, at most ``timeout``
    seconds (5 unless given), so it never reads half a request.
    FastAPI's ``TestClient`` and httpx's ``ASGITransport`` return only once the
    app has finished (background tasks and teardowns included), so the end is
    already there; over a real server the client has its answer before the
    teardowns and background tasks run, and the wait covers them.
    """

    def __init__(self, timeout: float = 5.0) -> None:
        super().__init__()
        self.timeout = timeout
        # Per id prefix, how many ids the app's tracer had handed out before this trace began (its
        # r7 is r2 here after 5), None until known. Requests numbered before began before this
        # trace and are left out, as when instrument() comes while a request is under way.
        self._before: dict[str, int] | None = {}

    def emit(self, event: TraceEvent) -> None:
        before = self._before
        if before:
            found = _ID.fullmatch(event.request_id)
            if found is not None:
                prefix, number = found.group(1), int(found.group(2)) - before.get(found.group(1), 0)
                if number <= 0:
                    return
                event = tuple.__new__(TraceEvent, (f"{prefix}{number}", *event[1:]))
        elif before is None:
            return
        super().emit(event)

    def __repr__(self) -> str:
        # pytest prints it under a failed assertion ("where ... = <LifecycleTrace: ...>").
        starts = self._starts()
        if not starts:
            return "<LifecycleTrace: no request yet>"
        last = starts[-1]
        return f"<LifecycleTrace: {len(starts)} request(s), the last {last.request_id} {last.name}>"

    def wait_complete(self, request_id: str | None = None, timeout: float | None = None) -> str:
        """Wait until the request's end event is recorded (its last event: nothing of it comes later); return its id.

        Raises ``TimeoutError`` if it has not ended within ``timeout`` seconds.

            with httpx.Client(base_url=server_url) as client:
                client.get("/items/1")      # a real server answers before the teardowns run
            trace.wait_complete()           # now they have run; the helpers do this themselves
        """
        rid = self._resolve(request_id)
        limit = self.timeout if timeout is None else timeout
        if not self.wait_for(lambda events: _has_ended(events, rid), limit):
            raise TimeoutError(f"request {rid} had not ended after {limit:g} s; a streamed response "
                               "the client has not read to the end, or an open WebSocket, keeps it going")
        return rid

    def dependencies(self, request_id: str | None = None) -> list[str]:
        """The dependencies whose code ran, in the order each began (a sub-dependency before the one needing it).

        Names are qualified names (``Settings.load``). One that FastAPI took
        from its per-request cache did not run again and is listed once.

            client.get("/items/3")
            assert trace.dependencies() == ["get_settings", "get_db", "get_user"]
        """
        return [e.name for e in self._request(request_id)
                if e.stage == "dependency" and e.kind == "start" and e.detail.get("phase") == "setup"]

    def teardowns(self, request_id: str | None = None) -> list[Teardown]:
        """The yield dependencies whose code after ``yield`` ran, in the order it ran, with when each began (``Teardown``).

            client.get("/items/3")
            assert trace.teardowns() == [("get_user", "after response"), ("get_db", "after response")]
            assert [t.name for t in trace.teardowns()] == ["get_user", "get_db"]
        """
        return [Teardown(e.name, _when(e.detail)) for e in self._request(request_id)
                if e.stage == "dependency" and e.kind == "start" and e.detail.get("phase") == "teardown"]

    def handler(self, request_id: str | None = None) -> str | None:
        """The name of the exception handler that answered, or None if no handler did.

        FastAPI's own handlers count (a 422 is answered by
        ``request_validation_exception_handler``). None also when an exception
        reached the server with no handler for it: the client's 500 then came
        from ServerErrorMiddleware itself.

            client.get("/boom")
            assert trace.handler() == "value_error_handler"
        """
        answered = [e for e in self._request(request_id) if e.stage == "exception" and e.detail.get("handled") is True]
        return answered[-1].detail.get("handler") if answered else None

    def endpoint_ran(self, request_id: str | None = None) -> bool | None:
        """Whether the route's endpoint function was called.

        False when something answered before it (validation's 422, a
        dependency that raised, a middleware, the router's 404); None when the
        request went to a route whose endpoint the tracer does not see (a plain
        Starlette ``Route``, a mounted app that is not traced, a custom route class).

            client.get("/items/not-a-number")
            assert trace.endpoint_ran() is False
        """
        events = self._request(request_id)
        if any(e.stage == "endpoint" for e in events):
            return True
        routing = [e.detail for e in events if e.stage == "routing"]
        if not routing or routing[-1].get("matched") is False:
            return False  # the router was never reached, or it answered itself
        return False if routing[-1].get("route_kind") in _SEEN_ENDPOINTS else None

    def endpoint_thread(self, request_id: str | None = None) -> str | None:
        """Where the endpoint's code ran, as observed: ``"event loop"`` or ``"threadpool"``.

        FastAPI awaits an ``async def`` endpoint on the event loop and hands a
        plain ``def`` one to a worker thread; this is the thread it was seen on.
        None if the endpoint did not run or its thread was not recorded.

            client.get("/items/3")
            assert trace.endpoint_thread() == "threadpool"
        """
        for e in self._request(request_id):
            if e.stage == "endpoint" and e.kind in ("start", "point"):
                on_worker = e.detail.get("threadpool")
                if on_worker is not None:  # a sync generator's thread is known once its first item is pulled
                    return "threadpool" if on_worker else "event loop"
        return None

    def failed_params(self, request_id: str | None = None) -> list[Param]:
        """What failed validation, as FastAPI reported it: one ``Param`` per error of its 422, in the 422's order.

        Each is an error's ``loc`` as FastAPI produced it (the 422 body's ``detail[i]["loc"]``):

        - ``location``, its first part: where FastAPI looked, ``"path"``,
          ``"query"``, ``"header"``, ``"cookie"`` or ``"body"`` (form fields and
          files are ``"body"`` too).
        - ``name``, the rest joined with ``"."``: the name FastAPI looked for
          (a header's ``x-token``, a query parameter's alias); in a body, the
          field's (``qty`` of ``order: Order``, ``order.qty`` once ``order`` is
          embedded or one of several body parameters, ``items.0.qty`` in a list);
          ``""`` for the body as a whole (none sent, not a JSON object, or a
          single body value that failed); for a body that is not valid JSON,
          FastAPI's ``loc`` is ``["body", position]``, the character where
          parsing failed, so the name is that position (``"1"``).

        Empty if every check passed or none was made (the tracer keeps 20 errors per check).

            client.get("/items/x?q=y")
            assert trace.failed_params() == [("path", "item_id"), ("query", "q")]
            client.post("/orders", json={"item": "pen"})
            assert trace.failed_params() == [("body", "qty")]
            assert trace.status() == 422
        """
        failed = []
        for e in self._request(request_id):
            if e.stage == "validation" and e.detail.get("ok") is False:
                for err in e.detail.get("errors") or ():
                    loc = err.get("loc") or ()
                    if loc:
                        failed.append(Param(str(loc[0]), ".".join(str(part) for part in loc[1:])))
        return failed

    def status(self, request_id: str | None = None) -> int | None:
        """The HTTP status the client got, or None if no response was started.

            client.get("/items/3")
            assert trace.status() == 200
        """
        ends = [e for e in self._request(request_id) if e.stage == "request" and e.kind == "end"]
        return ends[-1].detail.get("status_code") if ends else None

    def _starts(self) -> list[TraceEvent]:
        with self._lock:
            events = list(self.events)
        # The app's lifespan startup and shutdown are traced too, but are not requests.
        return [e for e in events if e.stage == "request" and e.kind == "start" and e.detail.get("type") != "lifespan"]

    def _resolve(self, request_id: str | None) -> str:
        starts = self._starts()
        if request_id is None:
            if not starts:
                raise LookupError("no request has reached the app since lifecycle_trace(app): send one first, "
                                  "with a client of that same app object")
            return starts[-1].request_id
        if not any(e.request_id == request_id for e in starts):
            known = ", ".join(e.request_id for e in starts) or "none yet"
            raise LookupError(f"no request {request_id!r} reached the app in this trace (the requests are: {known})")
        return request_id

    def _request(self, request_id: str | None) -> list[TraceEvent]:
        rid = self.wait_complete(request_id)
        with self._lock:
            events = [e for e in self.events if e.request_id == rid]
        return sorted(events, key=lambda e: e.seq)


def _has_ended(events: list[TraceEvent], rid: str) -> bool:
    return any(e.request_id == rid and e.stage == "request" and e.kind == "end" for e in reversed(events))


def _when(detail: dict[str, Any]) -> str | None:
    started, done = detail.get("response_started"), detail.get("response_done")
    if done is True:
        return "after response"
    if started is False:
        return "before response"
    if started is True and done is False:
        return "while responding"
    return None


@contextmanager
def traced(app: Any, timeout: float = 5.0) -> Iterator[LifecycleTrace]:
    """Record ``app``'s requests into a new ``LifecycleTrace`` for the block, then leave the app as it was.

    An app not yet instrumented is instrumented for the block and
    uninstrumented after it (``uninstrument``). One that traces itself already
    (``instrument(app, sink=...)`` in its own code) keeps its tracer, which only
    has this trace as one more sink during the block; the trace still numbers its
    requests from ``r1``.

        with traced(app) as trace:
            TestClient(app).get("/items/3")
        assert trace.status() == 200
    """
    trace = LifecycleTrace(timeout)
    tracer = tracer_of(app)
    if tracer is not None:
        # Its ids go on from the requests of earlier tests: read where they are once this trace
        # receives events, so a request numbered after that has every event here.
        trace._before = None
        tracer.add_sink(trace)
        trace._before = tracer.issued()
        try:
            yield trace
        finally:
            tracer.remove_sink(trace)
        return
    instrument(app, sink=trace)
    try:
        yield trace
    finally:
        uninstrument(app)
