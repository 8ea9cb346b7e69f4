"""What the client sent and got, read from one request's events: the facts behind the inspector.

Plain Python, no Textual. Every value comes from an event (already redacted
at the source, ``[redacted]`` shown as it is); nothing is inferred from the
app's code. Where the events hold no copy of something (a body no parameter
read), the facts say so instead.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from ..events import TraceEvent
from ..timeline import bars, request_ns
from .model import pipeline


def first(events: list[TraceEvent], stage: str, kind: str) -> TraceEvent | None:
    return next((e for e in events if e.stage == stage and e.kind == kind), None)


def pairs(value: Any) -> list[tuple[str, str]]:
    """Recorded ``[[name, value], ...]`` as strings; anything else in the list is left out."""
    out = []
    for pair in value if isinstance(value, list) else []:
        if isinstance(pair, list | tuple) and len(pair) == 2:
            out.append((str(pair[0]), str(pair[1])))
    return out


def query_pairs(query: Any) -> list[tuple[str, str]]:
    """The query string as the app reads it: names and values percent-decoded, blanks kept."""
    try:
        return parse_qsl(str(query or ""), keep_blank_values=True)
    except ValueError:
        return []


@dataclass
class BodyPart:
    """One thing FastAPI read from the request body: the whole body, or one field of it."""

    name: str
    raw: Any
    whole: bool
    ok: bool | None
    note: str = ""
    form: bool = False  # a form or file field: what the form parser gave FastAPI, not the raw body


def request_body(events: list[TraceEvent]) -> list[BodyPart]:
    """The body as the body parameters' validation saw it (``raw``: what the client sent, before conversion)."""
    out = []
    for ev in events:
        d = ev.detail
        if ev.stage != "validation" or d.get("location") not in ("body", "form", "file") or not d.get("sent", True):
            continue
        note = ""
        if d.get("json_invalid"):
            note = f"not valid JSON at character {d.get('position')}: {d.get('json_error')}"
        elif d.get("body_not_parsed"):
            note = "FastAPI did not parse it as JSON (see the request's content-type)"
        out.append(BodyPart(str(d.get("alias") or d.get("field") or ev.name), d.get("raw"), bool(d.get("whole")),
                            d.get("ok"), note, form=d.get("location") != "body"))
    return out


@dataclass
class Body:
    """The response body as the client received it, or why it cannot be shown."""

    text: str | None  # None: no copy in the events
    total: int | None  # bytes sent, from the response's end
    cut: bool = False
    source: str = ""  # where ``text`` comes from, in words
    binary: bool = False


def response_body(events: list[TraceEvent]) -> Body:
    end = first(events, "response", "end")
    total = end.detail.get("bytes") if end is not None else None
    if end is not None and end.detail.get("binary"):
        return Body(None, total, binary=True, source="not UTF-8 text")
    if end is not None and isinstance(end.detail.get("preview"), str):
        return Body(end.detail["preview"], total, bool(end.detail.get("preview_cut")), "the response's end")
    chunks = [e for e in events if e.stage == "response" and e.kind == "point" and e.name == "chunk"]
    if chunks:  # a recording made before the body was kept: each streamed chunk's own preview
        text = "".join(str(c.detail.get("preview", "")) for c in chunks)
        return Body(text, total, True, f"the previews of {len(chunks)} streamed chunk(s), each cut at 200 characters")
    return Body(None, total, source="no body in the events")


@dataclass
class LayerChange:
    """What one middleware layer did to the response on its way out (the probe's ``response_change``)."""

    label: str
    status: Any
    inside_status: Any  # None: nothing came from inside, the layer sent this response itself
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def sent_itself(self) -> bool:
        return self.inside_status is None


def layer_label(detail: dict[str, Any], name: str) -> str:
    function = detail.get("function")
    return str(function) if isinstance(function, str) and function else name


def layer_changes(events: list[TraceEvent]) -> list[LayerChange]:
    """Innermost layer first: the order the response passes them on its way out."""
    labels = {}
    for ev in events:
        if ev.stage == "middleware" and ev.kind == "start":
            labels[(ev.detail.get("depth"), ev.name)] = layer_label(ev.detail, ev.name)
    out = []
    for ev in events:
        change = ev.detail.get("response_change") if ev.stage == "middleware" and ev.kind == "end" else None
        if not isinstance(change, dict):
            continue
        label = labels.get((ev.detail.get("depth"), ev.name), ev.name)
        out.append(LayerChange(label, change.get("status"), change.get("inside_status"),
                               [str(n) for n in change.get("added") or []], [str(n) for n in change.get("changed") or []],
                               [str(n) for n in change.get("removed") or []]))
    return out


def from_inside(events: list[TraceEvent], changes: list[LayerChange]) -> list[str]:
    """Names of the final response's headers no layer added: they came with the response from the innermost answer."""
    start = first(events, "response", "start")
    final = Counter(name.lower() for name, _ in pairs(start.detail.get("headers"))) if start else Counter()
    for change in changes:
        final.subtract(change.added)
    return [name for name, n in final.items() if n > 0]


def added_by(events: list[TraceEvent]) -> dict[str, str]:
    """Response header name → the layer(s) that added it on the way out, or the router when none did."""
    changes = layer_changes(events)
    out: dict[str, list[str]] = {}
    if changes and not changes[0].sent_itself:
        for name in from_inside(events, changes):
            out[name] = ["the router"]
    for change in changes:
        for name in change.added:
            out.setdefault(name, []).append(change.label)
    return {name: ", ".join(dict.fromkeys(labels)) for name, labels in out.items()}


@dataclass
class Failure:
    """An exception the request met: where it was raised, what took it, and its traceback when one was recorded."""

    name: str
    message: str
    where: str
    handled: bool | None
    handler: str | None
    status: Any
    frames: list[tuple[str, int, str]] = field(default_factory=list)
    frames_left_out: int = 0


def failures(events: list[TraceEvent]) -> list[Failure]:
    raised_in: dict[str, str] = {}
    for ev in events:  # the stage that raised it, from that stage's end
        name = ev.detail.get("raised_name")
        if ev.stage in ("endpoint", "dependency", "serialization") and ev.kind == "end" and name:
            raised_in.setdefault(str(name), f"{ev.stage} {ev.name}")
    out = []
    for ev in events:
        if ev.stage != "exception":
            continue
        d = ev.detail
        frames = []
        for frame in d.get("frames") or []:
            if isinstance(frame, list | tuple) and len(frame) == 3:
                frames.append((str(frame[0]), frame[1] if type(frame[1]) is int else 0, str(frame[2])))
        where = raised_in.get(ev.name, "")
        out.append(Failure(ev.name, str(d.get("message") or ""), where, d.get("handled"), d.get("handler"),
                           d.get("status_code"), frames, d.get("frames_left_out") or 0))
    return out


@dataclass
class Stage:
    """One stage of the pipeline with how long it took (None: a point, or it never ended)."""

    key: str
    label: str
    state: str
    note: str
    ns: int | None


def stage_times(events: list[TraceEvent]) -> dict[str, int | None]:
    """Per pipeline key: from the stage's first start to its last end, step mode's holds left out."""
    spans: dict[str, list[int]] = {}
    for bar in bars(events):
        ev = bar.event
        if bar.point or bar.end_ns is None or ev.detail.get("phase") == "teardown":
            continue
        if ev.stage == "middleware":
            key = f"mw:{ev.detail.get('depth')}:{ev.name}"
        elif ev.stage == "dependency":
            key = "dependencies"
        elif ev.stage in ("endpoint", "serialization", "response", "background"):
            key = ev.stage
        else:
            continue
        span = spans.setdefault(key, [bar.start_ns, bar.end_ns])
        span[0], span[1] = min(span[0], bar.start_ns), max(span[1], bar.end_ns)
    out: dict[str, int | None] = {key: end - start for key, (start, end) in spans.items()}
    end = events[-1] if events else None
    if end is not None and end.stage == "request" and end.kind == "end":
        out["client"] = request_ns(end.detail)
    return out


def stages(events: list[TraceEvent]) -> list[Stage]:
    times = stage_times(events)
    return [Stage(c.key, c.label, c.state, c.note, times.get(c.key)) for c in pipeline(events)]


def validation_errors(events: list[TraceEvent]) -> list[str]:
    """Each failed check as ``location.name: message``."""
    out = []
    for ev in events:
        if ev.stage != "validation" or ev.detail.get("ok") is not False:
            continue
        for err in ev.detail.get("errors") or [{}]:
            loc = err.get("loc") if isinstance(err, dict) else None
            where = ".".join(str(p) for p in loc) if isinstance(loc, list) and loc else f"{ev.detail.get('location')}.{ev.name}"
            out.append(f"{where}: {err.get('msg', 'invalid') if isinstance(err, dict) else err}")
    return out


def route(events: list[TraceEvent]) -> str:
    ev = first(events, "routing", "point")
    if ev is None:
        return ""
    return str(ev.detail.get("route") or "") if ev.detail.get("matched") else str(ev.name)
