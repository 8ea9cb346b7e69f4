"""uvicorn's own log lines, made safe for a terminal.

uvicorn logs an app's exception with its message and traceback, and its
access log prints the request path; both are the client's text. Its
handlers keep their format and stream, and every line they write goes
through ``visible()`` first, so a request cannot steer the terminal this way either.

While the TUI runs, those handlers must not write to the terminal at all
(it would land over the panes): the TUI's log capture takes them off their
loggers, and asks here to hear of the new ones each ``uvicorn.Config()`` makes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .visible import visible

UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

_listeners: list[Callable[[], None]] = []


class VisibleFormatter(logging.Formatter):
    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        text = self.inner.format(record)
        try:  # the secrets the tracer hid in the request's events, hidden in its log lines too
            from .logsecrets import redaction, trace_for

            exc = record.exc_info[1] if record.exc_info else None
            trace = trace_for(exc)
            if trace is not None:
                text = redaction(trace, True)[1](text)
        except Exception:  # masking is a nicety over visible(): never lose the line for it
            pass
        return visible(text, newlines=True)


def guard_uvicorn_logs() -> None:
    """Wrap the formatter of every handler uvicorn configured (call after ``uvicorn.Config()``)."""
    for name in UVICORN_LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if not isinstance(handler.formatter, VisibleFormatter):
                handler.setFormatter(VisibleFormatter(handler.formatter or logging.Formatter()))
    for listener in list(_listeners):
        listener()


def on_new_handlers(listener: Callable[[], None]) -> None:
    """Call ``listener`` each time uvicorn has configured its loggers again."""
    _listeners.append(listener)


def forget_new_handlers(listener: Callable[[], None]) -> None:
    if listener in _listeners:
        _listeners.remove(listener)
