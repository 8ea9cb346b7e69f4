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

import io
import logging
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO

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


class MaskedStream(io.TextIOBase):
    """``sys.stdout`` or ``sys.stderr`` of ``trace``'s child: each line masked before it is written.

    The app's own ``print()``, ``logging`` and ``warnings`` lines reach the parent through these
    streams; a line written while a request runs is masked with that request's secrets (the values
    the tracer hid in its events), and any line has its ``name=value`` secrets hidden. Lines are
    masked whole: ``print("token", value)`` writes its words one at a time.
    """

    def __init__(self, inner: TextIO) -> None:
        super().__init__()
        self.inner = inner
        self._part = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            self._part += text
            if "\n" in self._part:
                done, _, self._part = self._part.rpartition("\n")
                self.inner.write(_masked(done + "\n"))
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._part:
                self.inner.write(_masked(self._part))
                self._part = ""
        self.inner.flush()

    def fileno(self) -> int:
        return self.inner.fileno()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.inner.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self.inner.errors

    @property
    def buffer(self) -> Any:  # an app writing bytes (sys.stdout.buffer.write) gets the stream's own, unmasked
        self.flush()
        return self.inner.buffer

    def __getattr__(self, name: str) -> Any:  # reconfigure(), line_buffering...: the stream's own
        if name == "inner" or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.inner, name)


def _masked(text: str) -> str:
    try:
        from .logsecrets import redaction, trace_for

        return redaction(trace_for(None), True)[1](text)
    except Exception:  # never lose the app's line for the mask
        return text


def mask_std_streams() -> None:
    """In ``trace``'s child, before the app is imported: its handlers then hold the masked streams."""
    if not isinstance(sys.stdout, MaskedStream):
        sys.stdout = MaskedStream(sys.stdout)
    if not isinstance(sys.stderr, MaskedStream):
        sys.stderr = MaskedStream(sys.stderr)
