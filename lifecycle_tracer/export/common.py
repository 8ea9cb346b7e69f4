"""What every export starts from: requests grouped, secrets hidden again, one request picked."""

from __future__ import annotations

from collections.abc import Iterable

from ..events import TraceEvent
from ..redaction import redact_request


def group(events: Iterable[TraceEvent]) -> dict[str, list[TraceEvent]]:
    out: dict[str, list[TraceEvent]] = {}
    for ev in events:
        out.setdefault(ev.request_id, []).append(ev)
    return {rid: sorted(evs, key=lambda e: e.seq) for rid, evs in out.items()}


def redacted(events: list[TraceEvent]) -> list[TraceEvent]:
    """The events with secrets hidden again, request by request, in the order given.

    The recorded sentences are dropped: they were written from the facts
    before hiding, so they are written again from the hidden ones.
    """
    by_request: dict[str, list[int]] = {}
    for i, e in enumerate(events):
        by_request.setdefault(e.request_id, []).append(i)
    out: list[TraceEvent] = list(events)
    for positions in by_request.values():
        evs = [events[i] for i in positions]
        details, names = redact_request([e.detail for e in evs], [e.name for e in evs])
        for i, e, detail, name in zip(positions, evs, details, names, strict=True):
            out[i] = TraceEvent(e.request_id, e.seq, e.stage, e.kind, name, e.t_ns, detail, None)
    return out


def pick_request(groups: dict[str, list[TraceEvent]], request_id: str | None) -> list[TraceEvent]:
    if request_id is not None:
        if request_id not in groups:
            raise KeyError(f"There is no request {request_id!r} in the trace; it has {', '.join(groups) or 'none'}.")
        return groups[request_id]
    for evs in groups.values():  # the first real request, not the lifespan
        if evs and evs[0].detail.get("type") != "lifespan":
            return evs
    raise KeyError("The trace holds no request to export.")


