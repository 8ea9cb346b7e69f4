"""The stand-ins LogCapture puts where output went: a logging handler, and sys.stdout/sys.stderr.

Both hand what they get to the capture (``add_record``, ``add_text``) on
the thread that wrote it, so the capture can tell which request it was
written in. The rest says which handlers write to the terminal, and points
those made while the TUI ran back at it afterwards.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import threading
from typing import Any


class Tap(logging.Handler):
    """Stands in for the handlers it took off a logger: takes what any of them would have written."""

    def __init__(self, capture: Any, taken: list[logging.Handler], level: int) -> None:
        super().__init__(level)
        self.capture = capture
        self.taken = taken

    def filter(self, record: logging.LogRecord) -> bool:  # type: ignore[override]
        if not self.taken:
            return bool(super().filter(record))
        return any(record.levelno >= h.level and h.filter(record) for h in self.taken)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.capture.add_record(record)
        except Exception:  # a log line must never break the code that logs it
            self.handleError(record)


class Lines(io.TextIOBase):
    """``sys.stdout`` or ``sys.stderr`` while the TUI runs: each line written becomes an entry.

    Lines are collected per thread (an endpoint's ``print`` writes its text
    and its newline separately) and also handed to the stream below, Textual's
    own capture, which shows them in Textual's devtools and drops them otherwise.
    """

    def __init__(self, capture: Any, name: str, below: Any) -> None:
        super().__init__()
        self.capture = capture
        self.name = name
        self.below = below
        self._partial: dict[int, str] = {}
        self._lock = threading.Lock()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:  # what is written here is read in a pane, not by a terminal
        return False

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if not self.capture.active:  # left behind somewhere after the TUI ended: the terminal is back
            return terminal(self.name).write(text)
        key = threading.get_ident()
        with self._lock:
            *lines, rest = (self._partial.pop(key, "") + text).split("\n")
            if rest:
                self._partial[key] = rest
        for line in lines:
            self.capture.add_text(self.name, line)
        with contextlib.suppress(Exception):  # Textual's capture may have gone with its app
            self.below.write(text)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            rest = self._partial.pop(threading.get_ident(), None)
        if rest:
            self.capture.add_text(self.name, rest)


def terminal(name: str) -> Any:
    return sys.__stdout__ if name == "stdout" else sys.__stderr__


def textual_capture() -> tuple[type, ...]:
    try:
        from textual.app import _PrintCapture

        return (_PrintCapture,)
    except ImportError:  # a Textual without it
        return ()


def to_terminal(handler: logging.Handler, every_stream: bool) -> bool:
    """Whether ``handler`` writes to the terminal (a file is left alone)."""
    if not isinstance(handler, logging.StreamHandler) or isinstance(handler, logging.FileHandler):
        return False
    if every_stream:
        return True
    stream = handler.stream
    if stream is sys.__stdout__ or stream is sys.__stderr__ or isinstance(stream, (Lines, *textual_capture())):
        return True
    try:
        return bool(stream.isatty()) or stream.fileno() in (1, 2)
    except Exception:  # no file descriptor: a StringIO, pytest's capture
        return False


def unbind(handler: logging.Handler) -> None:
    """A handler made while the TUI ran writes to a stream that ends with it: point it at the terminal again."""
    if isinstance(handler, logging.StreamHandler) and isinstance(handler.stream, (Lines, *textual_capture())):
        name = handler.stream.name if isinstance(handler.stream, Lines) else (
            "stderr" if getattr(handler.stream, "stderr", True) else "stdout")
        handler.setStream(terminal(name))
