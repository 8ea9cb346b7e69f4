"""Pure functions from a request's events to what the panes show. No Textual here."""

from __future__ import annotations

from ..events import TraceEvent
from ..timeline import request_ns
from .stage_basics import (
    ACTIVE,
    CORE,
    DONE,
    FAILED,
    PENDING,
    SKIPPED,
    STOPPED,
    SYMBOL,
    WORD,
    Chip,
    is_done,
    layer_key,
    layer_label,
    whole,
)
from .stage_states import Reading

__all__ = ["ACTIVE", "CORE", "DONE", "FAILED", "PENDING", "SKIPPED", "STOPPED", "SYMBOL", "WORD", "Chip",
           "event_position", "travel_words", "is_done", "layer_label", "lifespan_line", "outcome", "pipeline"]


def _chip_of(ev: TraceEvent, reading: Reading) -> str:
    if ev.stage == "middleware":
        return layer_key(ev)
    if ev.stage == "request":
        return "client"
    if ev.stage == "websocket":
        return "endpoint" if reading.endpoint_ran else ""
    if ev.stage == "exception":
        return reading.last_failed.key if reading.last_failed else ""
    return {"dependency": "dependencies"}.get(ev.stage, ev.stage)


def pipeline(events: list[TraceEvent]) -> list[Chip]:
    """The stages in order, each with its state after ``events`` (a prefix of the request).

    The client first, then the middleware layers outermost first, then the
    stages inside them. While the request is under way, the stage of the last
    event is ``current``.
    """
    reading = Reading(events)
    by = reading.chips
    handlers = {
        "middleware": reading.middleware, "routing": reading.routing, "dependency": reading.dependency,
        "validation": reading.validation, "endpoint": reading.endpoint, "websocket": reading.websocket,
        "serialization": reading.serialization, "response": reading.response, "background": reading.background,
    }
    if events:
        by["client"].state, by["client"].note = DONE, events[0].name
    for ev in events:
        if ev.stage == "exception":
            reading.exception(ev)
        elif ev.stage in handlers:
            chip = by.get("endpoint" if ev.stage == "websocket" else _chip_of(ev, reading))
            if chip is not None:  # a middleware end without its start: a recording cut at its front
                handlers[ev.stage](ev, chip)
    if is_done(events):
        reading.finish(events[-1])
    reading.notes()
    if events and not is_done(events):
        key = _chip_of(events[-1], reading)
        if key in by:
            by[key].current = True
    return list(by.values())


def outcome(events: list[TraceEvent]) -> tuple[str, str]:
    """The state and words of what came back to the client."""
    if not events:
        return PENDING, ""
    if not is_done(events):
        return PENDING, "the WebSocket is open" if events[0].detail.get("type") == "websocket" else "waiting for the response"
    d = events[-1].detail
    ms = f"{(request_ns(d) or 0) / 1e6:.2f} ms"  # without step mode's holds
    if d.get("type") == "websocket":
        if d.get("accepted") is False:
            return FAILED, f"WebSocket refused → {d.get('status_code')} in {ms}"
        return DONE, f"WebSocket closed {d.get('close_code')} by the {d.get('closed_by') or 'server'} in {ms}"
    status = d.get("status_code")
    if status is None:
        return FAILED, f"no response in {ms}"
    return (FAILED if whole(status) >= 500 else DONE), f"{status} in {ms}"


def lifespan_line(events: list[TraceEvent]) -> str:
    """A lifespan startup or shutdown has no stages: it ran once, before (or after) every request."""
    phase = events[0].detail.get("phase") or events[0].name
    if not is_done(events):
        return f"◉ lifespan {phase} running"
    d = events[-1].detail
    ok = d.get("ok")
    ms = (request_ns(d) or 0) / 1e6
    return f"{'✓' if ok else '✗'} lifespan {phase} {'ok' if ok else 'FAILED'} after {ms:.2f} ms (no request: no stages)"


def event_position(events: list[TraceEvent], index: int) -> str:
    """'event N of M': N counts from 1 (seq + 1), as the detail pane's '#N' does."""
    if not 0 <= index < len(events):
        return ""
    return f"event {events[index].seq + 1} of {len(events)}"


def travel_words(events: list[TraceEvent], cursor: int) -> str:
    """The status line in time travel: where the panes are, and the way back."""
    index = max(0, min(cursor, len(events) - 1))
    return f"time travel: {event_position(events, index)} (End: back to live)"
