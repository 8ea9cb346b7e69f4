"""Which request a log line belongs to, and its text with that request's secrets masked.

uvicorn logs an app's exception after the request is over, when the
tracer's ``current`` is reset; the request's outermost probe is on the
exception's path, and its frame still holds the trace it opened. Both the
TUI's log capture and the plain-mode log formatter use this, so a secret the
tracer hid in the events is hidden in the server's own lines too.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

from .instrument.trace import RequestTrace, current
from .redaction import RequestSecrets, redact_raw

MAX_CHAIN, MAX_WALK = 5, 1000  # as the TUI's tracebacks walk them


def walk(exc: BaseException, most: int = MAX_WALK) -> list[TracebackType]:
    """Every traceback entry of ``exc`` and of the exceptions it was raised from or during."""
    out: list[TracebackType] = []
    seen: set[int] = set()
    now: BaseException | None = exc
    while now is not None and id(now) not in seen and len(seen) < MAX_CHAIN:
        seen.add(id(now))
        tb = now.__traceback__
        while tb is not None and len(out) < most:
            out.append(tb)
            tb = tb.tb_next
        now = now.__cause__ or (None if now.__suppress_context__ else now.__context__)
    return out


def trace_of(exc: BaseException) -> RequestTrace | None:
    """The trace of the request ``exc`` escaped from, read off its traceback."""
    from .instrument.probes import RequestProbe

    code = RequestProbe.__call__.__code__
    for tb in walk(exc):
        if tb.tb_frame.f_code is code:
            trace = tb.tb_frame.f_locals.get("trace")
            if isinstance(trace, RequestTrace):
                return trace
    return None


def trace_for(exc: BaseException | None) -> RequestTrace | None:
    """The request a line is written for: the one running, else the one its exception escaped from."""
    trace = current.get()
    if trace is None and exc is not None:
        trace = trace_of(exc)
    return trace


def redaction(trace: RequestTrace | None, default: Any) -> tuple[Any, Callable[[str], str]]:
    """What ``exc_message`` is given, and what masks any other text: the request's secrets, when it has any."""
    redact: Any = trace.redact if trace is not None else default
    if not redact:
        return False, _same
    extra = getattr(redact, "extra", ())

    def clean(text: str) -> str:
        text = redact_raw(text, None, extra)
        return redact.mask_str(text) if isinstance(redact, RequestSecrets) else text

    return redact, clean


def _same(text: str) -> str:
    return text
