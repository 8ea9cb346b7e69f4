"""What every export starts from: requests grouped, secrets hidden again, one request picked."""

from __future__ import annotations

from collections.abc import Iterable

from ..events import TraceEvent
from ..redaction import redact_detail


def group(events: Iterable[TraceEvent]) -> dict[str, list[TraceEvent]]:
    out: dict[str, list[TraceEvent]] = {}
    for ev in events:
        out.setdefault(ev.request_id, []).append(ev)
    return {rid: sorted(evs, key=lambda e: e.seq) for rid, evs in out.items()}


def redacted(events: list[TraceEvent]) -> list[TraceEvent]:
    return [TraceEvent(e.request_id, e.seq, e.stage, e.kind, e.name, e.t_ns, redact_detail(e.detail), e.explain)
            for e in events]


def pick_request(groups: dict[str, list[TraceEvent]], request_id: str | None) -> list[TraceEvent]:
    if request_id is not None:
        if request_id not in groups:
            raise KeyError(f"There is no request {request_id!r} in the trace; it has {', '.join(groups) or 'none'}.")
        return groups[request_id]
    for evs in groups.values():  # the first real request, not the lifespan
        if evs and evs[0].detail.get("type") != "lifespan":
            return evs
    raise KeyError("The trace holds no request to export.")


