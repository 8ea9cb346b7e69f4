"""A request's events as nested bars: the shape both waterfalls draw (TUI and HTML).

Times here are the request's own: in step mode the learner held the request
at boundaries, and each event made after a hold carries ``held_ns`` (the
hold time before it, see ``RequestTrace.checkpoint``). Bars and durations
leave that time out; ``held_ns`` says it as its own fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # explain's sentences use this module, and events use explain
    from .events import TraceEvent


def held_ns(event: TraceEvent) -> int:
    """How long step mode had held the request before ``event`` (0 in a recording made without holds)."""
    held = event.detail.get("held_ns")
    return held if type(held) is int and held > 0 else 0


def ran_ns(events: list[TraceEvent]) -> int:
    """From the first event to the last, without the time step mode held the request in between."""
    if len(events) < 2:
        return 0
    first, last = events[0], events[-1]
    return max(last.t_ns - first.t_ns - (held_ns(last) - held_ns(first)), 0)


def held_between(events: list[TraceEvent]) -> int:
    """The time step mode held the request between its first event and its last."""
    return max(held_ns(events[-1]) - held_ns(events[0]), 0) if events else 0


def request_ns(detail: dict[str, Any]) -> int | None:
    """A request end's ``duration_ns`` (wall time, as recorded) without the time it was held."""
    duration = detail.get("duration_ns")
    if type(duration) is not int:
        return None
    held = detail.get("held_ns")
    return max(duration - held, 0) if type(held) is int and held > 0 else duration


def held_words(ns: int) -> str:
    """A hold as the learner reads it: seconds, to a tenth (a hold is a person's pause)."""
    return f"held {ns / 1e9:.1f} s in step mode"


@dataclass
class Bar:
    """A start/end pair (``end_ns`` None while it runs) or a point, in ns from the request's start.

    Times leave out step mode's holds; ``held_ns`` is the hold time inside the bar.
    """

    event: TraceEvent
    start_ns: int
    end_ns: int | None
    depth: int
    end_event: TraceEvent | None = None
    held_ns: int = 0

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
    t0 = events[0].t_ns - held_ns(events[0])

    def at(ev: TraceEvent) -> int:
        return max(ev.t_ns - t0 - held_ns(ev), 0)

    out: list[Bar] = []
    open_: dict[tuple[Any, ...], list[Bar]] = {}
    depth = 0
    for ev in events:
        # A request's end is named "request" whatever its start was called.
        key = ("request",) if ev.stage == "request" else (ev.stage, ev.name, ev.detail.get("phase"))
        if ev.kind == "start":
            bar = Bar(ev, at(ev), None, depth)
            open_.setdefault(key, []).append(bar)
            out.append(bar)
            depth += 1
        elif ev.kind == "end":
            depth = max(depth - 1, 0)
            stack = open_.get(key)
            if stack:
                bar = stack.pop()
                bar.end_ns, bar.end_event = max(at(ev), bar.start_ns), ev
                bar.held_ns = max(held_ns(ev) - held_ns(bar.event), 0)
        else:
            out.append(Bar(ev, at(ev), None, depth))
    return out
