"""Requests as Chrome trace event JSON: what ui.perfetto.dev and chrome://tracing open.

Each request is a track (a ``tid``) named by a ``thread_name`` metadata event.
Its stages are ``B``/``E`` slices, written in event order: a begin and an end
each carry one time, so a child that ends with its parent can never be read
as ending after it (a complete ``X`` slice's ``ts + dur`` is two rounded
numbers added). Points are thread-scoped instant events. Background tasks and
teardown that started after the response was sent, and any stage that
overlaps its neighbour instead of nesting in it, are async ``b``/``e`` slices
on tracks of their own, so the request's nesting stays whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import count
from typing import Any

from ..events import TraceEvent
from .spans import Span, exchange, json_safe, spans

PID = 1
AFTER_RESPONSE = "after the response"  # the category of the async slices
_HEAD = '{"displayTimeUnit":"ms","traceEvents":[\n'


def perfetto_file(groups: Iterable[tuple[str, list[TraceEvent]]], title: str) -> Iterator[str]:
    """The whole file as text, one request at a time, one trace event a line."""
    yield _HEAD + _line({"ph": "M", "name": "process_name", "pid": PID, "tid": 0, "args": {"name": title}})
    ids = count(1)
    for tid, (rid, events) in enumerate(groups, start=1):
        for event in request_events(rid, events, tid, ids):
            yield ",\n" + _line(event)
    yield "\n]}\n"


def _line(event: dict[str, Any]) -> str:
    return json.dumps(event, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def request_events(rid: str, events: list[TraceEvent], tid: int, ids: Iterator[int]) -> list[dict[str, Any]]:
    """One request's trace events: its track's name and order, then its slices and instants in event order."""
    out: list[dict[str, Any]] = [
        {"ph": "M", "name": "thread_name", "pid": PID, "tid": tid, "args": {"name": exchange(rid, events).title}},
        {"ph": "M", "name": "thread_sort_index", "pid": PID, "tid": tid, "args": {"sort_index": tid}},
    ]
    timed: list[tuple[float, int, dict[str, Any]]] = []  # (seq, tie-break, event)
    all_spans = spans(events)
    async_id: dict[int, int] = {}  # span index -> the id of the async track it is drawn on
    for s in all_spans:
        base = {"name": s.label, "cat": s.start.stage, "pid": PID, "tid": tid}
        if s.point:
            timed.append((s.start.seq, 0, {**base, "ph": "i", "s": "t", "ts": _us(s.begin_ns),
                                           "args": _args(rid, s.start)}))
            continue
        parent = s.parent
        inherited = parent is not None and parent in async_id and not s.loose
        if s.after_response or s.loose or inherited:
            async_id[s.index] = async_id[parent] if inherited and parent is not None else next(ids)
            base = {**base, "cat": AFTER_RESPONSE if s.after_response else "overlapping", "id": async_id[s.index]}
            begin, end = "b", "e"
        else:
            begin, end = "B", "E"
        timed.append((s.start.seq, 0, {**base, "ph": begin, "ts": _us(s.begin_ns), "args": _span_args(rid, s)}))
        # An end never recorded closes after every recorded event, the innermost first.
        at = (s.end.seq, 0) if s.ended else (events[-1].seq + 0.5, -s.index)
        timed.append((*at, {**base, "ph": end, "ts": _us(s.end_ns)}))
    timed.sort(key=lambda t: (t[0], t[1]))
    out.extend(event for _, _, event in timed)
    return out


def _us(ns: int) -> float:
    # Microseconds, the format's unit; one division of each recorded time, so equal and ordered stay so.
    return ns / 1000


def _args(rid: str, ev: TraceEvent) -> dict[str, Any]:
    return {"request": rid, "seq": ev.seq, "explain": json_safe(ev.explain), "facts": json_safe(ev.detail)}


def _span_args(rid: str, s: Span) -> dict[str, Any]:
    args = _args(rid, s.start)
    if s.ended:
        args["end"] = {"seq": s.end.seq, "explain": json_safe(s.end.explain), "facts": json_safe(s.end.detail)}
    else:
        args["ended"] = False  # still running at the recording's last event of this request
    if s.failed:
        args["failed"] = True
    return args
