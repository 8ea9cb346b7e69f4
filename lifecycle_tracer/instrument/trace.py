"""Per-request state: the ordered, numbered stream of one request's events.

A ``RequestTrace`` lives in a context variable for the duration of one
request, so every hook, on the event loop, in the threadpool or in a
background task, finds the request it belongs to without being told.
Hooks hand it facts only; the sentence is written when someone reads it.
"""

from __future__ import annotations

import logging
import threading
from contextvars import ContextVar
from time import monotonic_ns
from typing import TYPE_CHECKING, Any

from ..events import TraceEvent
from ..redaction import RequestSecrets

if TYPE_CHECKING:
    from .tracer import Tracer

logger = logging.getLogger("lifecycle_tracer")
_reported: set[str] = set()


def report_fault(where: str, exc: BaseException) -> None:
    """Log a fault inside the tracer once per place; never raise."""
    try:
        key = f"{where}:{type(exc).__name__}"
        if key in _reported:
            return
        _reported.add(key)
        logger.warning(
            "lifecycle-tracer: internal fault in %s (%s: %s); tracing of this "
            "stage is degraded, the request itself is unaffected",
            where,
            type(exc).__name__,
            exc,
            exc_info=exc,
        )
    except Exception:  # logging must never break the request either
        pass


# The tracer's one clock; tests replace it (here and where it is imported) with a counter.
clock = monotonic_ns


_tuple_new = tuple.__new__
current: ContextVar[RequestTrace | None] = ContextVar("lifecycle_tracer_request", default=None)


class RequestTrace:
    """One request's events. ``emit`` is called from the loop and from worker threads.

    Most of the state starts at a class-level default and becomes an instance
    attribute only when a hook sets it, so opening a trace costs little.
    """

    status_code: int | None = None
    response_started = False
    resp_bytes = 0
    resp_chunks = 0
    resp_done = False  # the final body message went out, complete
    resp_ended = False  # a response end event was emitted
    disconnected = False  # the server reported http.disconnect
    ended = False
    t0 = 0
    _seq = 0
    _last_t = 0
    # Something begun whose end is known only when the next event comes (the
    # router's decision): a callable that emits it, called before the next event.
    pending: Any = None
    routing: Any = None  # the router's observed decision while it is being made
    match_depth = 0
    open_dep: Any = None  # a dependency FastAPI is calling (see dependencies.py)
    validated = False  # whether any parameter or body check was reported
    checking = False  # inside FastAPI's check of one value
    body_bytes = False  # FastAPI handed the body over as raw bytes (not parsed as JSON)
    last_event: TraceEvent | None = None
    paused_seq = -1
    # Step mode: how long the learner has held the request so far, and each hold's
    # (end, total then) so an event stamped earlier (emit_at) counts only the holds before it.
    held_ns = 0
    holds: list[tuple[int, int]] | None = None
    ws_close_code: int | None = None
    ws_closed_by: str | None = None  # "app" (websocket.close sent) or "client" (websocket.disconnect received)
    worker_hook: Any = None  # see threads.py
    streaming: Any = None  # a generator endpoint whose items are still to be pulled
    secrets: RequestSecrets | None = None  # the values hidden so far (see redact)
    layer_sends: list[Any] | None = None  # each layer's response start as it left the layer (probes.py)

    def __init__(self, tracer: Tracer, request_id: str, scope: dict[str, Any]) -> None:
        self.tracer = tracer
        self.request_id = request_id
        self.scope = scope
        self.root_path = scope.get("root_path", "") or ""  # as the request arrived (routers update the scope)
        self._lock = threading.Lock()
        self.loop_thread = threading.get_ident()
        self.layer_hits: list[int] = [0] * 64  # per stack depth: how often a layer there was entered
        self.dep_path: list[str] = []
        self.exc_reported: set[int] = set()

    @property
    def redact(self) -> RequestSecrets | bool:
        """False when secrets are shown; else this request's ``RequestSecrets``, which is true.

        Hooks hand it to ``preview`` and ``header_pairs``, which hide by name and
        teach it each value they hid; ``emit`` then masks those values by value.
        """
        secrets = self.secrets
        if secrets is None:
            tracer = self.tracer
            if not tracer.redact:
                return False
            secrets = self.secrets = RequestSecrets(tracer.app_secrets.names)
        return secrets

    def on_worker(self) -> bool:
        """Whether the calling code runs on a worker thread rather than the request's event loop."""
        return threading.get_ident() != self.loop_thread

    def emit(self, stage: str, kind: str, name: str, detail: dict[str, Any]) -> None:
        # No lock on this path (it runs ~30 times a request): one request's code runs
        # one step at a time, on the loop or in the one worker thread the loop is
        # awaiting, so its events never race. finish() and emit_at() take the lock.
        if self.ended:
            return
        if self.pending is not None:
            self.flush_pending()
        seq = self._seq
        self._seq = seq + 1
        t = clock()
        if t < self._last_t:  # a clock read on another thread can lag by a hair
            t = self._last_t
        self._last_t = t
        secrets = self.secrets
        if secrets is not None and secrets.values:
            name, detail = secrets.mask_str(name), secrets.mask(detail)
        if self.held_ns:
            detail = {**detail, "held_ns": self.held_ns}
        ev = _tuple_new(TraceEvent, (self.request_id, seq, stage, kind, name, t, detail, None))
        self.last_event = ev
        self.tracer._dispatch(ev)

    def emit_at(self, t: int, stage: str, kind: str, name: str, detail: dict[str, Any]) -> None:
        """Emit an event that began at ``t`` (a clock reading taken earlier, when it happened)."""
        with self._lock:
            if self.ended:
                return
            self._run_pending_locked()
            self._emit_locked(stage, kind, name, detail, t)

    def _emit_locked(self, stage: str, kind: str, name: str, detail: dict[str, Any], t: int = 0) -> None:
        seq = self._seq
        self._seq = seq + 1
        if not t:
            t = clock()
        if t < self._last_t:  # a clock read on another thread can lag by a hair
            t = self._last_t
        self._last_t = t
        secrets = self.secrets
        if secrets is not None and secrets.values:
            name, detail = secrets.mask_str(name), secrets.mask(detail)
        if self.held_ns:
            detail = {**detail, "held_ns": self.held_before(t)}
        ev = _tuple_new(TraceEvent, (self.request_id, seq, stage, kind, name, t, detail, None))
        self.last_event = ev
        self.tracer._dispatch(ev)

    def held_before(self, t: int) -> int:
        """How long the request had been held in step mode before the moment ``t``."""
        held = 0
        for end, total in self.holds or ():
            if end > t:
                break
            held = total
        return held

    def flush_pending(self) -> None:
        """Emit what is pending now (the caller knows its end has come)."""
        with self._lock:
            if not self.ended:
                self._run_pending_locked()

    def _run_pending_locked(self) -> None:
        pending = self.pending
        if pending is not None:
            self.pending = None
            try:
                pending()
            except Exception as exc:
                report_fault("pending event", exc)

    async def checkpoint(self) -> None:
        """In step mode, hold the request here until the learner releases it."""
        stepper = self.tracer.stepper
        event = self.last_event
        if stepper is not None and stepper.enabled and event is not None and not self.ended:
            if event.seq == self.paused_seq:  # already held at this boundary
                return
            self.paused_seq = event.seq
            began = clock()
            try:
                held = await stepper.wait(event, self.scope)
            except Exception as exc:
                report_fault("step mode", exc)
                return
            if held:
                # A fact every later event carries (``held_ns``), so durations can leave it out.
                end = clock()
                self.held_ns += max(end - began, 0)
                if self.holds is None:
                    self.holds = []
                self.holds.append((end, self.held_ns))

    def finish(self, detail: dict[str, Any]) -> None:
        """Emit the request's last event; anything later is dropped."""
        with self._lock:
            if self.ended:
                return
            self._run_pending_locked()
            self._emit_locked("request", "end", "request", detail)
            self.ended = True
