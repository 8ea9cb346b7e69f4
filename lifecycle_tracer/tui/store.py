"""What the UI knows: a bounded history of requests and their events.

Plain Python, no Textual, so it can be tested and benchmarked alone. The
UI thread owns it; events from other threads are handed over in batches.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ..events import TraceEvent
from ..timeline import request_ns

DEFAULT_MAX_REQUESTS = 500


@dataclass
class RequestView:
    request_id: str
    events: list[TraceEvent] = field(default_factory=list)

    @property
    def first(self) -> TraceEvent | None:
        return self.events[0] if self.events else None

    @property
    def done(self) -> bool:
        return bool(self.events) and self.events[-1].stage == "request" and self.events[-1].kind == "end"

    @property
    def is_lifespan(self) -> bool:
        return bool(self.events) and self.events[0].detail.get("type") == "lifespan"

    @property
    def method(self) -> str:
        first = self.first
        if not first:
            return ""
        method = first.detail.get("method")  # a WebSocket's scope has no method
        return str(method) if method else ("WEBSOCKET" if first.detail.get("type") == "websocket" else "")

    @property
    def path(self) -> str:
        first = self.first
        if first is None:
            return ""
        if self.is_lifespan:
            return first.name
        query = first.detail.get("query_string")
        return str(first.detail.get("path", "")) + (f"?{query}" if query else "")

    @property
    def status(self) -> Any:
        if not self.done:
            return None
        last = self.events[-1]
        if self.is_lifespan:
            return "ok" if last.detail.get("ok") else "failed"
        return last.detail.get("status_code")

    @property
    def duration_ms(self) -> float | None:
        if not self.done:
            return None
        return (request_ns(self.events[-1].detail) or 0) / 1e6  # without step mode's holds


class TraceStore:
    """Requests in arrival order, the oldest dropped past ``max_requests``."""

    def __init__(self, max_requests: int = DEFAULT_MAX_REQUESTS) -> None:
        self.max_requests = max_requests
        self.requests: OrderedDict[str, RequestView] = OrderedDict()
        self.order: list[str] = []  # the same ids as a list, for drawing rows by index
        self.events_seen = 0
        self.dropped = 0

    def add(self, events: list[TraceEvent]) -> tuple[list[str], list[str], list[str]]:
        """Add a batch; returns (new request ids, updated ids, dropped ids)."""
        new: list[str] = []
        updated: set[str] = set()
        for ev in events:
            view = self.requests.get(ev.request_id)
            if view is None:
                view = self.requests[ev.request_id] = RequestView(ev.request_id)
                self.order.append(ev.request_id)
                new.append(ev.request_id)
            view.events.append(ev)
            updated.add(ev.request_id)
        self.events_seen += len(events)
        dropped: list[str] = []
        while len(self.requests) > self.max_requests:
            rid, _ = self.requests.popitem(last=False)
            dropped.append(rid)
        if dropped:  # always the oldest, so the front of the list
            del self.order[: len(dropped)]
        self.dropped += len(dropped)
        dropped_set = set(dropped)
        new = [r for r in new if r not in dropped_set]
        return new, [r for r in updated if r not in dropped_set and r not in new], dropped

    def get(self, request_id: str | None) -> RequestView | None:
        return self.requests.get(request_id) if request_id else None

    def latest(self, include_lifespan: bool = False) -> RequestView | None:
        for view in reversed(self.requests.values()):
            if include_lifespan or not view.is_lifespan:
                return view
        return None
