"""Per-request state: the ordered, numbered stream of one request's events.

A ``RequestTrace`` lives in a context variable for the duration of one
request, so every hook, on the event loop, in the threadpool or in a
background task, finds the request it belongs to without being told.
"""

from __future__ import annotations

import logging
import threading
from contextvars import ContextVar
from time import monotonic_ns
from typing import TYPE_CHECKING, Any

from ..events import TraceEvent
from ..safe import exc_type, type_name

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


_make = TraceEvent._fast
current: ContextVar[RequestTrace | None] = ContextVar("lifecycle_tracer_request", default=None)


class PendingDependency:
    """A plain dependency that has been called but whose end we have not seen.

    FastAPI calls a plain dependency inline (``await call(...)`` or the
    threadpool), with no hook around the call itself; the call is over when
    control next reaches one of our hooks, so the end is emitted then.
    """

    __slots__ = ("call", "cache", "detail", "name")

    def __init__(self, name: str, detail: dict[str, Any], call: Any, cache: Any) -> None:
        self.name = name
        self.detail = detail
        self.call = call
        self.cache = cache


class RequestTrace:
    __slots__ = (
        "_last_t",
        "_lock",
        "_seq",
        "dep_depth",
        "dep_path",
        "ended",
        "exc_reported",
        "layer_hits",
        "last_event",
        "paused_seq",
        "pending_dep",
        "request_id",
        "resp_bytes",
        "resp_chunks",
        "resp_done",
        "response_started",
        "scope",
        "status_code",
        "suppress_at",
        "t0",
        "tracer",
        "validation_seen",
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
        self.ended = False
        self.status_code: int | None = None
        self.response_started = False
        self.resp_bytes = 0
        self.resp_chunks = 0
        self.resp_done = False
        self.layer_hits: list[int] = [0] * 16
        self.dep_depth = 0
        self.dep_path: list[str] = []
        self.suppress_at: int | None = None
        self.pending_dep: PendingDependency | None = None
        self.last_event: TraceEvent | None = None
        self.paused_seq = -1
        self.exc_reported: set[int] = set()
        self.validation_seen = False
        self.ws_close_code: int | None = None

    @property
    def redact(self) -> bool:
        return self.tracer.redact

    def emit(
        self, stage: str, kind: str, name: str, detail: dict[str, Any], explain: str
    ) -> None:
        with self._lock:
            if self.ended:
                return
            if self.pending_dep is not None:
                self._flush_dep_locked(None)
            # _emit_locked, inlined: this runs ~30 times per request.
            seq = self._seq
            self._seq = seq + 1
            t = monotonic_ns()
            if t < self._last_t:
                t = self._last_t
            self._last_t = t
            ev = _make(self.request_id, seq, stage, kind, name, t, detail, explain)
            self.last_event = ev
            self.tracer._dispatch(ev)

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

    def _emit_locked(
        self, stage: str, kind: str, name: str, detail: dict[str, Any], explain: str
    ) -> None:
        seq = self._seq
        self._seq = seq + 1
        t = monotonic_ns()
        if t < self._last_t:  # a clock read on another thread can lag by a hair
            t = self._last_t
        self._last_t = t
        self.tracer._dispatch(
            TraceEvent._fast(self.request_id, seq, stage, kind, name, t, detail, explain)
        )

    def flush_dependency(self, raised: BaseException | None) -> None:
        with self._lock:
            if self.pending_dep is not None and not self.ended:
                self._flush_dep_locked(raised)

    def _flush_dep_locked(self, raised: BaseException | None) -> None:
        pending = self.pending_dep
        self.pending_dep = None
        assert pending is not None
        detail = dict(pending.detail)
        if raised is not None:
            detail["raised"] = exc_type(raised)
            explain = (
                f"{pending.name} raised {type(raised).__name__}, so FastAPI stops "
                "solving dependencies and the endpoint will not run."
            )
        else:
            returned = _cached_value(pending.cache, pending.call)
            detail["returned"] = returned
            param = pending.detail.get("param")
            explain = (
                f"{pending.name} finished and returned a {returned}, which FastAPI passes in as '{param}'."
                if param
                else f"{pending.name} finished and returned a {returned}."
            )
        self._emit_locked("dependency", "end", pending.name, detail, explain)

    def finish(self, detail: dict[str, Any], explain: str) -> None:
        """Emit the request's last event; anything later is dropped."""
        with self._lock:
            if self.ended:
                return
            if self.pending_dep is not None:
                self._flush_dep_locked(None)
            self._emit_locked("request", "end", "request", detail, explain)
            self.ended = True


def _cached_value(cache: Any, call: Any) -> str:
    try:
        for key, value in cache.items():
            if isinstance(key, tuple) and key and key[0] is call:
                return type_name(value)
    except Exception:
        pass
    return "value"
