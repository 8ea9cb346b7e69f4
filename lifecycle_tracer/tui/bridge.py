"""The sink that carries events from the server's threads to the UI thread.

``emit`` runs on whatever thread produced the event. It only appends to a
buffer; the first event of a batch posts one ``EventsArrived`` message and
the UI drains everything buffered when it handles it, so a burst becomes
one UI update per frame instead of one per event.
"""

from __future__ import annotations

import threading
from typing import Any

from ..events import TraceEvent
from .messages import EventsArrived


class UISink:
    # If the UI falls this far behind (a server in another process could outrun
    # it), the oldest buffered events are dropped rather than memory growing.
    MAX_BUFFER = 500_000

    def __init__(self, target: Any = None) -> None:
        self._lock = threading.Lock()
        self._buffer: list[TraceEvent] = []
        self._posted = False
        self.dropped = 0
        self.target = target  # the App, set once it exists

    def emit(self, event: TraceEvent) -> None:
        with self._lock:
            self._buffer.append(event)
            if len(self._buffer) > self.MAX_BUFFER:
                half = len(self._buffer) // 2
                del self._buffer[:half]
                self.dropped += half
            if self._posted or self.target is None:
                return
            self._posted = True
        self.target.post_message(EventsArrived())

    def drain(self) -> list[TraceEvent]:
        with self._lock:
            batch, self._buffer = self._buffer, []
            self._posted = False
        return batch

    def attach(self, target: Any) -> None:
        with self._lock:
            self.target = target
            pending = bool(self._buffer) and not self._posted
            if pending:
                self._posted = True
        if pending:
            target.post_message(EventsArrived())
