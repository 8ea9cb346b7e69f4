"""``Recorder``: keeps events in memory, for tests, lessons and anyone who waits on them."""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from typing import Any

from ..events import TraceEvent

DEFAULT_MAX_EVENTS = 100_000  # about 40 MB: some 2,600 requests of ~40 events at ~400 bytes each


class Recorder:
    """Keeps the events in the order they were emitted, the newest ``max_events`` of them.

    ``max_events`` (100,000 unless given; ``None`` keeps everything) bounds
    memory for long sessions: an event takes about 400 bytes and a request
    a few dozen events, so the default holds some 2,600 requests in about
    40 MB. Past the bound the oldest quarter is dropped, cut where no
    request was under way, so that whole requests go; only if no such place
    comes soon after the quarter (a WebSocket that stays open, a steady
    overlap) is the cut made at the quarter itself, through requests.

    ``completed()`` is bounded too (``max_events // 2`` ids, as each request
    has at least two events): ``completed_count()`` still counts every
    completed request, and ``completed_since(n)`` gives those after the
    first ``n``, whatever was dropped.

    ``emit`` takes no lock: ``list.append`` is atomic, and the condition is
    notified only while some thread is inside ``wait_for``.
    """

    def __init__(self, max_events: int | None = DEFAULT_MAX_EVENTS) -> None:
        if max_events is not None and max_events < 4:
            raise ValueError("max_events must be at least 4, or None to keep every event")
        self.events: list[TraceEvent] = []
        self.max_events = max_events
        self._completed: list[str] = []
        self._completed_dropped = 0  # ids trimmed off the front of _completed; changed under the lock
        # Where a cut drops whole requests: positions (counting every event ever emitted) right
        # after an event that left no request under way. Set and deque operations are atomic, so
        # emit keeps them without a lock; a trim running meanwhile may skew one, costing only its wholeness.
        self._open: set[str] = set()
        self._quiet: deque[int] = deque()
        self._dropped = 0  # events trimmed off the front of events; changed under the lock
        self._lock = threading.RLock()  # re-entrant: wait_for predicates may call by_request()
        self._cond = threading.Condition(self._lock)
        self._waiters = 0  # threads inside wait_for; changed under the lock

    def emit(self, event: TraceEvent) -> None:
        events = self.events
        events.append(event)
        if event.stage == "request":  # two events a request: the rest pay one comparison
            self._boundary(event)
        max_events = self.max_events
        if max_events is not None and len(events) > max_events:
            with self._lock:
                if len(events) > max_events:  # another thread may have trimmed meanwhile
                    self._trim()
        # A waiter registers before it tests its predicate, and this test comes after the
        # append, so either the waiter sees the event or we see the waiter and wake it.
        if self._waiters:
            with self._cond:
                self._cond.notify_all()

    def _boundary(self, event: TraceEvent) -> None:
        """A request's start or end: note where a cut would drop whole requests; count it completed."""
        limit = self.max_events
        if event.kind == "start":
            if limit is not None:
                self._open.add(event.request_id)
            return
        if event.kind != "end":
            return
        if limit is not None:
            self._open.discard(event.request_id)
            if not self._open:
                self._quiet.append(self._dropped + len(self.events))
        # After the event itself, so a request counted as completed has all its events in.
        if event.detail.get("type") != "lifespan":
            completed = self._completed
            completed.append(event.request_id)
            if limit is not None and len(completed) > limit // 2:
                with self._lock:
                    if len(completed) > limit // 2:
                        cut = len(completed) // 4
                        del completed[:cut]
                        self._completed_dropped += cut

    def _trim(self) -> None:
        """Drop the oldest quarter of events, whole requests if it can; under the lock."""
        events = self.events
        quarter = len(events) // 4
        # Events emitted on other threads meanwhile land past the end; a cut within the quarters is safe.
        start, quiet = self._dropped, self._quiet
        while quiet and quiet[0] < start + quarter:
            quiet.popleft()
        cut = quiet[0] - start if quiet and quiet[0] <= start + 2 * quarter else quarter
        del events[:cut]
        self._dropped += cut

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
            self._dropped += len(self.events)
            self.events.clear()
            self._quiet.clear()
            self._completed.clear()
            self._completed_dropped = 0

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> bool:
        """Block until ``predicate(events)`` is true; for code off the event loop."""
        with self._cond:
            self._waiters += 1
            try:
                return self._cond.wait_for(lambda: predicate(self.events), timeout)
            finally:
                self._waiters -= 1

    def completed(self) -> list[str]:
        """Ids of requests (and WebSocket connections) whose final event has arrived, the newest kept ones.

        The app's lifespan startup and shutdown are traced too, but are not requests.
        """
        with self._lock:
            return list(self._completed)

    def completed_since(self, n: int) -> list[str]:
        """Ids of the requests completed after the first ``n`` (as counted by ``completed_count()``)."""
        with self._lock:
            return self._completed[max(n - self._completed_dropped, 0):]

    def completed_count(self) -> int:
        """How many requests have completed, including those no longer kept."""
        with self._lock:
            return self._completed_dropped + len(self._completed)
