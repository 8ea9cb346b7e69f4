"""uvicorn's own log lines, made safe for a terminal.

uvicorn logs an app's exception with its message and traceback, and its
access log prints the request path; both are the client's text. Its
handlers keep their format and stream, and every line they write goes
through ``visible()`` first, so a request cannot steer the terminal this way either.
"""

from __future__ import annotations

import logging

from .visible import visible

_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


class VisibleFormatter(logging.Formatter):
    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return visible(self.inner.format(record), newlines=True)


def guard_uvicorn_logs() -> None:
    """Wrap the formatter of every handler uvicorn configured (call after ``uvicorn.Config()``)."""
    for name in _LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if not isinstance(handler.formatter, VisibleFormatter):
                handler.setFormatter(VisibleFormatter(handler.formatter or logging.Formatter()))
