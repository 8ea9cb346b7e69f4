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


def clock() -> int:
    """The tracer's one clock (tests replace it with a counter)."""
    return monotonic_ns()


_make = TraceEvent._fast
current: ContextVar[RequestTrace | None] = ContextVar("lifecycle_tracer_request", default=None)


class RequestTrace:
    """One request's events. ``emit`` is called from the loop and from worker threads."""

    __slots__ = (
        "_last_t",
        "_lock",
        "_seq",
        "dep_path",
        "ended",
        "exc_reported",
        "last_event",
        "layer_hits",
        "loop_thread",
        "match_depth",
        "open_dep",
        "paused_seq",
        "pending",
        "request_id",
        "resp_bytes",
        "resp_chunks",
        "resp_done",
        "response_started",
        "routing",
        "scope",
        "status_code",
        "suppress_at",
        "t0",
        "tracer",
        "validated",
        "validation",
        "worker_hook",
        "streaming",
        "ws_close_code",
    )

    def __init__(self, tracer: Tracer, request_id: str, scope: dict[str, Any]) -> None:
        self.tracer = tracer
        self.request_id = request_id
        self.scope = scope
        self._lock = threading.Lock()
        self._seq = 0
        self._last_t = 0
        self.t0 = 0
        self.loop_thread = threading.get_ident()
        self.ended = False
        self.status_code: int | None = None
        self.response_started = False
        self.resp_bytes = 0
        self.resp_chunks = 0
        self.resp_done = False
        self.layer_hits: list[int] = [0] * 16
        self.dep_path: list[str] = []
        self.suppress_at: int | None = None
        # Something begun whose end is known only when the next event comes
        # (a plain async dependency, the router's decision): a callable that
        # emits it, called under the lock before the next event.
        self.pending: Any = None
        self.routing: Any = None  # the router's observed decision while it is being made
        self.match_depth = 0
        self.open_dep: Any = None  # a dependency FastAPI is calling (see dependencies.py)
        self.validation: Any = None  # parameter checks collected inside one FastAPI helper call
        self.validated = False  # whether any parameter or body check was reported
        self.last_event: TraceEvent | None = None
        self.paused_seq = -1
        self.exc_reported: set[int] = set()
        self.ws_close_code: int | None = None
        self.worker_hook: Any = None  # see threads.py
        self.streaming: Any = None  # a generator endpoint whose items are still to be pulled

    @property
    def redact(self) -> bool:
        return self.tracer.redact

    def on_worker(self) -> bool:
        """Whether the calling code runs on a worker thread rather than the request's event loop."""
        return threading.get_ident() != self.loop_thread

    def emit(self, stage: str, kind: str, name: str, detail: dict[str, Any]) -> None:
        with self._lock:
            if self.ended:
                return
            pending = self.pending
            if pending is not None:
                self.pending = None
                try:
                    pending()
                except Exception as exc:
                    report_fault("pending event", exc)
            self._emit_locked(stage, kind, name, detail)

    def emit_at(self, t: int, stage: str, kind: str, name: str, detail: dict[str, Any]) -> None:
        """Emit an event that began at ``t`` (a clock reading taken earlier, when it happened)."""
        with self._lock:
            if self.ended:
                return
            pending = self.pending
            if pending is not None:
                self.pending = None
                try:
                    pending()
                except Exception as exc:
                    report_fault("pending event", exc)
            self._emit_locked(stage, kind, name, detail, t)

    def _emit_locked(self, stage: str, kind: str, name: str, detail: dict[str, Any], t: int = 0) -> None:
        seq = self._seq
        self._seq = seq + 1
        if not t:
            t = clock()
        if t < self._last_t:  # a clock read on another thread can lag by a hair
            t = self._last_t
        self._last_t = t
        ev = _make(self.request_id, seq, stage, kind, name, t, detail)
        self.last_event = ev
        self.tracer._dispatch(ev)

    def flush_pending(self) -> None:
        """Emit what is pending now (the caller knows its end has come)."""
        with self._lock:
            pending = self.pending
            if pending is not None and not self.ended:
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
            try:
                await stepper.wait(event, self.scope)
            except Exception as exc:
                report_fault("step mode", exc)

    def finish(self, detail: dict[str, Any]) -> None:
        """Emit the request's last event; anything later is dropped."""
        with self._lock:
            if self.ended:
                return
            pending = self.pending
            if pending is not None:
                self.pending = None
                try:
                    pending()
                except Exception as exc:
                    report_fault("pending event", exc)
            self._emit_locked("request", "end", "request", detail)
            self.ended = True
