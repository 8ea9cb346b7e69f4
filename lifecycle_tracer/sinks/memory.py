"""``Recorder``: keeps events in memory, for tests, lessons and anyone who waits on them."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from ..events import TraceEvent


class Recorder:
    """Keeps every event in the order it was emitted.

    ``max_events`` bounds memory for long sessions: past it, the oldest
    quarter is dropped (whole requests' worth, oldest first).

    ``emit`` takes no lock: ``list.append`` is atomic, and the condition is
    notified only while some thread is inside ``wait_for``.
    """

    def __init__(self, max_events: int | None = None) -> None:
        self.events: list[TraceEvent] = []
        self.max_events = max_events
        self._completed: list[str] = []
        self._lock = threading.RLock()  # re-entrant: wait_for predicates may call by_request()
        self._cond = threading.Condition(self._lock)
        self._waiters = 0  # threads inside wait_for; changed under the lock

    def emit(self, event: TraceEvent) -> None:
        events = self.events
        events.append(event)
        # After the event itself, so a request counted as completed has all its events in.
        if event.stage == "request" and event.kind == "end" and event.detail.get("type") != "lifespan":
            self._completed.append(event.request_id)
        if self.max_events is not None and len(events) > self.max_events:
            with self._lock:
                if len(events) > self.max_events:  # another thread may have trimmed meanwhile
                    del events[: len(events) // 4]
        # A waiter registers before it tests its predicate, and this test comes after the
        # append, so either the waiter sees the event or we see the waiter and wake it.
        if self._waiters:
            with self._cond:
                self._cond.notify_all()

    def by_request(self) -> dict[str, list[TraceEvent]]:
        """Events grouped by request id, requests in arrival order, each in ``seq`` order."""
        with self._lock:
            events = list(self.events)
        groups: OrderedDict[str, list[TraceEvent]] = OrderedDict()
        for ev in events:
            groups.setdefault(ev.request_id, []).append(ev)
        return {rid: sorted(evs, key=lambda e: e.seq) for rid, evs in groups.items()}

    def clear(self) -> None:
        with self._lock:
            self.events.clear()
            self._completed.clear()

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> bool:
        """Block until ``predicate(events)`` is true; for code off the event loop."""
        with self._cond:
            self._waiters += 1
            try:
                return self._cond.wait_for(lambda: predicate(self.events), timeout)
            finally:
                self._waiters -= 1

    def completed(self) -> list[str]:
        """Ids of requests (and WebSocket connections) whose final event has arrived.

        The app's lifespan startup and shutdown are traced too, but are not requests.
        """
        with self._lock:
            return list(self._completed)

    def completed_count(self) -> int:
        with self._lock:
            return len(self._completed)
