"""A request's events as a tree of spans and a few plain facts: what the Perfetto, OTLP and HAR exports share.

Times are the request's own, as in every other display (``timeline``): step
mode's holds are left out. The tree is built from the order of the events
(``seq``), never from their times alone, so two events stamped with the same
nanosecond still nest as they happened.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..copyas import is_host
from ..events import TraceEvent
from ..timeline import bars, held_ns


@dataclass
class Span:
    """A start/end pair, or a point, with its place in the tree.

    ``begin_ns``/``end_ns`` are the monotonic clock less the holds. ``end`` is
    ``start`` itself for a point, and for a span whose end was never recorded
    (``ended`` False): that one ends at the request's last event.
    ``parent`` is the index of the innermost span that holds it whole, by
    event order; ``loose`` marks a span that overlaps its neighbour instead of
    nesting in it. ``after_response`` marks background tasks and teardown
    that started once the response was sent, and what ran inside them.
    """

    index: int
    start: TraceEvent
    end: TraceEvent
    begin_ns: int
    end_ns: int
    parent: int | None
    point: bool
    ended: bool
    failed: bool
    loose: bool = False
    after_response: bool = False

    @property
    def label(self) -> str:
        """``stage name``, with "(teardown)" added for a dependency's teardown: how each export names a slice."""
        if self.start.stage == "request":
            return self.start.name
        phase = " (teardown)" if self.start.detail.get("phase") == "teardown" else ""
        return f"{self.start.stage} {self.start.name}{phase}"


def spans(events: list[TraceEvent]) -> list[Span]:
    """The request's spans and points in the order they started."""
    if not events:
        return []
    t0 = events[0].t_ns - held_ns(events[0])
    last = events[-1]
    last_ns = max(last.t_ns - held_ns(last) - t0, 0)
    answered = next((e.seq for e in events if e.stage == "response" and e.kind == "end"), None)
    out: list[Span] = []
    ends: list[float] = []  # the seq each span ends at, by index; a point ends at once (never holds another)
    stack: list[int] = []  # spans still open at the event being placed
    for i, bar in enumerate(bars(events)):
        ev, end = bar.event, bar.end_event
        seq = ev.seq
        while stack and ends[stack[-1]] < seq:
            stack.pop()
        parent = stack[-1] if stack else None
        point = bar.point
        # An end never recorded comes after every recorded event: a span whose parent ended before it is loose.
        end_seq = seq if point else (end.seq if end is not None else last.seq + 0.5)
        loose = False
        while parent is not None and ends[parent] < end_seq:
            parent, loose = out[parent].parent, True  # it outlives the span it began in
        end_ns = bar.start_ns if point else (bar.end_ns if bar.end_ns is not None else max(last_ns, bar.start_ns))
        span = Span(i, ev, end or ev, t0 + bar.start_ns, t0 + end_ns, parent, point, point or end is not None,
                    bar.failed, loose)
        later = answered is not None and seq > answered and (
            ev.stage == "background" or ev.detail.get("phase") == "teardown")
        span.after_response = not point and (later or (parent is not None and out[parent].after_response))
        out.append(span)
        ends.append(-1 if point else end_seq)
        if not point:
            stack.append(i)
    return out


@dataclass
class Exchange:
    """What one request and its answer looked like on the wire, as far as the recording says."""

    kind: str  # http, websocket or lifespan
    method: str | None
    path: str
    query: str
    http_version: str | None
    headers: list[list[str]]
    client: list[Any] | None
    status: int | None
    response_headers: list[list[str]]
    body_bytes: int | None
    body_preview: str | None  # the whole body as text, only when the recording kept all of it
    route: str | None
    title: str  # "r3 GET /items/1 → 200"
    scheme: str | None = None  # the scope's, in recordings that kept it
    wall_offset: int | None = None  # unix ns minus recorded ns, from the request's own wall-clock reading
    server: list[Any] | None = None  # [host, port] the server listened on, in recordings that kept it


def exchange(rid: str, events: list[TraceEvent]) -> Exchange:
    start = next((e for e in events if e.stage == "request" and e.kind == "start"), events[0])
    end = next((e for e in reversed(events) if e.stage == "request" and e.kind == "end"), None)
    head = next((e for e in events if e.stage == "response" and e.kind == "start"), None)
    body = next((e for e in reversed(events) if e.stage == "response" and e.kind == "end"), None)
    routing = next((e for e in events if e.stage == "routing" and e.detail.get("matched")), None)
    d = start.detail
    kind = d.get("type") if isinstance(d.get("type"), str) else "http"
    status = _int(end.detail.get("status_code")) if end is not None else None
    if status is None and head is not None:
        status = _int(head.detail.get("status_code"))
    preview = None
    if body is not None and body.detail.get("preview_cut") is False and isinstance(body.detail.get("preview"), str):
        preview = body.detail["preview"]
    if kind == "lifespan":
        outcome = "not ended" if end is None else ("ok" if end.detail.get("ok") else "failed")
    else:
        outcome = "no answer recorded" if status is None else str(status)
    # Lone surrogates (a hand-made file can hold them) become U+FFFD here, before URLs are built from the text.
    return Exchange(
        kind=kind, method=_text(d.get("method")), path=json_safe(_text(d.get("path")) or ""),
        query=json_safe(_text(d.get("query_string")) or ""), http_version=_text(d.get("http_version")),
        headers=json_safe(_pairs(d.get("headers"))), client=_client(d.get("client")), status=status,
        response_headers=json_safe(_pairs(head.detail.get("headers"))) if head is not None else [],
        body_bytes=_int(body.detail.get("bytes")) if body is not None else None, body_preview=preview,
        route=_text(routing.name) if routing is not None else None, title=f"{rid} {start.name} → {outcome}",
        scheme=_text(d.get("scheme")), wall_offset=_wall_offset(start), server=_client(d.get("server")))


def authority(ex: Exchange) -> str | None:
    """The host[:port] the request went to: where the server listened, else (older recordings) its Host
    header when that is one and nothing more, else None. The client writes the Host header: ``evil.example``
    would send a replayed entry there, and ``127.0.0.1:8000@evil.example`` would put another host in a URL;
    ``copy`` applies the same rule."""
    if ex.server is not None and isinstance(ex.server[0], str) and type(ex.server[1]) is int:
        where = f"[{ex.server[0]}]:{ex.server[1]}" if ":" in ex.server[0] else f"{ex.server[0]}:{ex.server[1]}"
        if is_host(where):
            return where
    host = header(ex.headers, "host")
    if host and "[redacted]" not in host and is_host(host):
        return host
    return None


def _wall_offset(start: TraceEvent) -> int | None:
    """Unix ns minus recorded ns for this request, from the wall clock it read at its start (newer recordings)."""
    wall = start.detail.get("wall_ns")
    return wall - start.t_ns if type(wall) is int and wall > 0 else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if type(value) is int else None


def _pairs(value: Any) -> list[list[str]]:
    # Checked when read (``TraceEvent.from_dict``) for request headers; checked here for the response's too.
    if not isinstance(value, list):
        return []
    return [p for p in value if isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)]


def _client(value: Any) -> list[Any] | None:
    return value if isinstance(value, list) and len(value) == 2 else None


def header(pairs: list[list[str]], name: str) -> str | None:
    """The first value of a header, by name in any case."""
    name = name.lower()
    return next((v for k, v in pairs if k.lower() == name), None)


def json_safe(value: Any) -> Any:
    """Facts as strict JSON can hold them: a recording may hold NaN or a lone surrogate, which browsers reject."""
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return value
    if isinstance(value, dict):
        return {str(json_safe(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value
