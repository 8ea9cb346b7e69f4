"""A request's events as nested bars: the shape both waterfalls draw (TUI and HTML)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .events import TraceEvent


@dataclass
class Bar:
    """A start/end pair (``end_ns`` None while it runs) or a point, in ns from the request's start."""

    event: TraceEvent
    start_ns: int
    end_ns: int | None
    depth: int
    end_event: TraceEvent | None = None

    @property
    def point(self) -> bool:
        return self.event.kind == "point"

    @property
    def failed(self) -> bool:
        ev = self.end_event or self.event
        if self.event.stage == "exception" or ev.detail.get("ok") is False:
            return True
        # An HTTPException passing up to ExceptionMiddleware is on its way to a handler, not a failure.
        return "raised" in ev.detail and not ev.detail.get("passes_up")


def bars(events: list[TraceEvent]) -> list[Bar]:
    """Start/end pairs as nested bars, points as bars of no length, in event order."""
    if not events:
        return []
    t0 = events[0].t_ns
    out: list[Bar] = []
    open_: dict[tuple[Any, ...], list[Bar]] = {}
    depth = 0
    for ev in events:
        # A request's end is named "request" whatever its start was called.
        key = ("request",) if ev.stage == "request" else (ev.stage, ev.name, ev.detail.get("phase"))
        if ev.kind == "start":
            bar = Bar(ev, ev.t_ns - t0, None, depth)
            open_.setdefault(key, []).append(bar)
            out.append(bar)
            depth += 1
        elif ev.kind == "end":
            depth = max(depth - 1, 0)
            stack = open_.get(key)
            if stack:
                bar = stack.pop()
                bar.end_ns, bar.end_event = ev.t_ns - t0, ev
        else:
            out.append(Bar(ev, ev.t_ns - t0, None, depth))
    return out
