"""While the TUI owns the terminal, what the server and the app write goes into the TUI instead.

uvicorn's handlers hold the stream they were given when its ``Config`` was
made, before Textual took the terminal; an endpoint's ``print()``, a
warning, a thread's uncaught exception write to ``sys.stdout`` and
``sys.stderr``; the app's own loggers reach stderr through logging's last
resort. Any of it, written while Textual draws, lands over the panes.

``LogCapture.start()`` takes it all in: every logging handler that writes
to a terminal (and uvicorn's, whatever their stream) is taken off its logger
and replaced by a tap, the root logger gets one too, and ``sys.stdout`` and
``sys.stderr`` become line collectors over Textual's own capture. ``stop()``
puts every handler and stream back. Each line is attributed to the request
it was written in (the tracer's ``current`` context variable, or for a
logged exception, the trace the request's outermost probe held while the
exception went through it) and redacted with that request's secrets.
"""

from __future__ import annotations

import itertools
import logging
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import serverlog
from ..instrument.trace import RequestTrace, current
from ..logsecrets import redaction, trace_for
from .streams import Lines, Tap, to_terminal, unbind
from .tracebacks import Failure, failure_of

MAX_ENTRIES = 1000
MAX_REQUESTS = 500  # requests whose failures are kept (the history keeps 500 by default)


@dataclass(frozen=True)
class LogEntry:
    seq: int
    time: float
    level: str  # the record's level name, or "stdout"/"stderr" for written text
    source: str  # the logger's name; "" for written text
    request_id: str | None  # the request it was written during, when it was
    text: str  # redacted, not yet made visible
    failure: Failure | None = None


class LogCapture:
    def __init__(self, *, redact: bool = True, on_entry: Callable[[], None] | None = None) -> None:
        self.redact = redact  # for lines written outside any request (inside one, its tracer's setting holds)
        self.on_entry = on_entry  # called (on the writing thread) for the first entry of each batch
        self.active = False
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._entries: deque[LogEntry] = deque(maxlen=MAX_ENTRIES)
        self._new: list[LogEntry] = []
        self._posted = False
        self._failures: OrderedDict[str, list[LogEntry]] = OrderedDict()
        self._taken: dict[logging.Logger, list[logging.Handler]] = {}
        self._streams: tuple[Any, Any] | None = None

    # -- what the UI reads ------------------------------------------------------
    def drain(self) -> list[LogEntry]:
        with self._lock:
            batch, self._new = self._new, []
            self._posted = False
        return batch

    def entries(self) -> list[LogEntry]:
        with self._lock:
            return list(self._entries)

    def take_all(self) -> list[LogEntry]:
        """Every entry kept, the new ones counted as drained (for a pane filled from scratch)."""
        with self._lock:
            self._new = []
            self._posted = False
            return list(self._entries)

    def failures(self, request_id: str) -> list[LogEntry]:
        with self._lock:
            return list(self._failures.get(request_id, ()))

    # -- taking over and giving back ------------------------------------------
    def start(self) -> None:
        if self.active:
            return
        self.active = True
        self._streams = (sys.stdout, sys.stderr)
        sys.stdout = Lines(self, "stdout", sys.stdout)
        sys.stderr = Lines(self, "stderr", sys.stderr)
        loggers = [logging.getLogger(), *(lg for lg in logging.Logger.manager.loggerDict.values()
                                           if isinstance(lg, logging.Logger))]
        for logger in loggers:
            self._take(logger)
        root = logging.getLogger()
        if root not in self._taken:  # no handler of its own on the terminal: take logging's last resort's place
            tap = Tap(self, [], getattr(logging.lastResort, "level", logging.WARNING))
            root.addHandler(tap)
            self._taken[root] = []
        serverlog.on_new_handlers(self.take_uvicorn)

    def take_uvicorn(self) -> None:
        """uvicorn configured its loggers again (a new ``Config``): take its new handlers too."""
        for name in serverlog.UVICORN_LOGGERS:
            self._take(logging.getLogger(name))

    def stop(self) -> None:
        if not self.active:
            return
        self.active = False
        serverlog.forget_new_handlers(self.take_uvicorn)
        for logger, taken in self._taken.items():
            for handler in list(logger.handlers):
                if isinstance(handler, Tap) and handler.capture is self:
                    logger.removeHandler(handler)
            for handler in taken:
                unbind(handler)
                logger.addHandler(handler)
        self._taken.clear()
        assert self._streams is not None
        out, err = self._streams
        if isinstance(sys.stdout, Lines) and sys.stdout.capture is self:
            sys.stdout.flush()
            sys.stdout = out
        if isinstance(sys.stderr, Lines) and sys.stderr.capture is self:
            sys.stderr.flush()
            sys.stderr = err

    def _take(self, logger: logging.Logger) -> None:
        every = logger.name.partition(".")[0] == "uvicorn"  # uvicorn's handlers write to stderr/stdout, as configured
        taken = [h for h in logger.handlers if to_terminal(h, every)]
        if not taken:
            return
        for handler in taken:
            logger.removeHandler(handler)
        tap = next((h for h in logger.handlers if isinstance(h, Tap) and h.capture is self), None)
        if tap is not None:  # more handlers beside the ones already taken
            tap.taken.extend(taken)
            tap.setLevel(min(h.level for h in tap.taken))
        else:  # new, or reconfigured (its tap went with its old handlers): its handlers now are what to put back
            tap = Tap(self, taken, min(h.level for h in taken))
            logger.addHandler(tap)
        self._taken[logger] = tap.taken

    # -- collecting -------------------------------------------------------------
    def add_record(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        trace = trace_for(exc)
        redact, clean = self._redaction(trace)
        try:
            message = record.getMessage()
        except Exception:  # bad arguments for its format: show the format itself
            message = str(record.msg)
        text = clean(message).rstrip("\n")
        failure = failure_of(exc, redact, clean) if exc is not None else None
        if record.exc_text and failure is None:
            text += "\n" + clean(record.exc_text)
        if record.stack_info:
            text += "\n" + clean(record.stack_info)
        self._add(record.created, record.levelname, record.name, trace, text, failure)

    def add_text(self, stream: str, line: str) -> None:
        trace = current.get()
        self._add(time.time(), stream, "", trace, self._redaction(trace)[1](line), None)

    def _add(self, when: float, level: str, source: str, trace: RequestTrace | None, text: str,
             failure: Failure | None) -> None:
        rid = trace.request_id if trace is not None else None
        with self._lock:
            entry = LogEntry(next(self._seq), when, level, source, rid, text, failure)
            self._entries.append(entry)
            self._new.append(entry)
            if len(self._new) > MAX_ENTRIES:  # nobody drains (the UI is gone): keep the newest
                del self._new[: len(self._new) - MAX_ENTRIES]
            if failure is not None and rid is not None:
                self._failures.setdefault(rid, []).append(entry)
                self._failures.move_to_end(rid)
                while len(self._failures) > MAX_REQUESTS:
                    self._failures.popitem(last=False)
            notify = not self._posted and self.on_entry is not None
            self._posted = True
        if notify:
            self.on_entry()  # type: ignore[misc]

    def _redaction(self, trace: RequestTrace | None) -> tuple[Any, Callable[[str], str]]:
        return redaction(trace, self.redact)

