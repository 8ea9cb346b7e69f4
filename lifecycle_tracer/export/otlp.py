"""Requests as OTLP JSON, as the OpenTelemetry Collector's file exporter writes it.

One resource, one scope, one trace per request and one span per stage: a
start/end pair. A point (a routing decision, a parameter's validation, a
cached dependency, an exception, a WebSocket message) is a span event on the
span it happened in, not a span of no length: it has no duration of its own,
and a moment within a span is what OpenTelemetry's span events are for (an
exception is the ``exception`` event its conventions name). Ids are hashed
from the request id, its first time and the event's ``seq``, so one file
always exports the same ids. The file is one JSON object on one line: a
single ``TracesData`` message, and a valid line for the Collector's
``otlpjsonfile`` receiver.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from ..events import TraceEvent
from .spans import Exchange, Span, authority, exchange, header, json_safe, spans

KIND_INTERNAL, KIND_SERVER = 1, 2
STATUS_ERROR = 2
_INT64 = 2**63


def otlp_file(groups: Iterable[tuple[str, list[TraceEvent]]], *, service: str, version: str,
              offset_ns: int, clock: str) -> Iterator[str]:
    """The file as text, one request's spans at a time; ``offset_ns`` turns the recorded clock into unix time."""
    resource = {"attributes": [_attr("service.name", service), _attr("lifecycle_tracer.clock", clock)]}
    skeleton = {"resourceSpans": [{"resource": resource, "scopeSpans": [
        {"scope": {"name": "lifecycle-tracer", "version": version}, "spans": []}]}]}
    head, tail = json.dumps(skeleton, ensure_ascii=False, separators=(",", ":")).split('"spans":[]')
    yield head + '"spans":['
    first = True
    for rid, events in groups:
        for span in request_spans(rid, events, offset_ns):
            yield ("" if first else ",") + json.dumps(span, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
            first = False
    yield "]" + tail + "\n"


def _id(size: int, *parts: object) -> str:
    return hashlib.sha256("\0".join(map(str, parts)).encode("utf-8", "surrogatepass")).hexdigest()[: size * 2]


def request_spans(rid: str, events: list[TraceEvent], offset_ns: int) -> list[dict[str, Any]]:
    """One request's trace: its spans in the order they started, each point an event on the span it fell in."""
    ex = exchange(rid, events)
    if ex.wall_offset is not None:  # the request read the wall clock itself: no need for the file's time
        offset_ns = ex.wall_offset
    t0 = events[0].t_ns
    trace_id = _id(16, "trace", rid, t0)
    out: list[dict[str, Any]] = []
    by_index: dict[int, dict[str, Any]] = {}
    for s in spans(events):
        if s.point and s.parent is not None:
            by_index[s.parent].setdefault("events", []).append(_event(s, offset_ns))
            continue
        span: dict[str, Any] = {
            "traceId": trace_id, "spanId": _id(8, "span", rid, t0, s.start.seq), "name": _name(s, ex),
            "kind": KIND_SERVER if s.start.stage == "request" and ex.kind != "lifespan" else KIND_INTERNAL,
            "startTimeUnixNano": str(offset_ns + s.begin_ns), "endTimeUnixNano": str(offset_ns + s.end_ns),
            "attributes": _span_attributes(rid, s, ex),
        }
        if s.parent is not None:
            span["parentSpanId"] = by_index[s.parent]["spanId"]
        status = _status(s, ex)
        if status:
            span["status"] = status
        by_index[s.index] = span
        out.append(span)
    return out


def _name(s: Span, ex: Exchange) -> str:
    if s.start.stage != "request" or ex.kind == "lifespan":
        return s.label
    method = ex.method or ex.kind.upper()
    return f"{method} {ex.route}" if ex.route else method  # the HTTP conventions' "{method} {http.route}"


def _status(s: Span, ex: Exchange) -> dict[str, Any] | None:
    ev = s.end
    raised = ev.detail.get("raised_name") or ev.detail.get("raised")
    if s.start.stage == "request" and ex.kind == "http" and (ex.status or 0) >= 500:
        return {"code": STATUS_ERROR, "message": f"{raised}: answered {ex.status}" if raised else f"answered {ex.status}"}
    if s.failed:
        return {"code": STATUS_ERROR, "message": str(raised or "failed")}
    return None


def _event(s: Span, offset_ns: int) -> dict[str, Any]:
    ev = s.start
    attrs = [_attr("lifecycle.stage", ev.stage), _attr("lifecycle.seq", ev.seq), _attr("lifecycle.explain", ev.explain)]
    name = s.label
    if ev.stage == "exception":
        name = "exception"  # the event OpenTelemetry's conventions give a recorded exception
        attrs += [_attr("exception.type", ev.detail.get("type") or ev.name), _attr("exception.message", ev.detail.get("message"))]
    attrs += _facts("lifecycle.", ev.detail)
    return {"timeUnixNano": str(offset_ns + s.begin_ns), "name": name, "attributes": [a for a in attrs if a]}


def _span_attributes(rid: str, s: Span, ex: Exchange) -> list[dict[str, Any]]:
    attrs = [_attr("lifecycle.request_id", rid), _attr("lifecycle.stage", s.start.stage),
             _attr("lifecycle.seq", s.start.seq), _attr("lifecycle.explain", s.start.explain)]
    if s.start.stage == "request" and ex.kind != "lifespan":
        attrs += _http(ex)
    if s.after_response:
        attrs.append(_attr("lifecycle.after_response", True))
    if not s.ended:
        attrs.append(_attr("lifecycle.ended", False))  # still running at the request's last recorded event
    attrs += _facts("lifecycle.", s.start.detail)
    if s.ended:
        attrs += [_attr("lifecycle.end.explain", s.end.explain)] + _facts("lifecycle.end.", s.end.detail)
    return [a for a in attrs if a]


def _http(ex: Exchange) -> list[dict[str, Any] | None]:
    """The server span's facts under OpenTelemetry's HTTP names; headers were hidden where they were recorded."""
    attrs = [_attr("http.request.method", ex.method), _attr("url.path", ex.path), _attr("url.query", ex.query or None),
             _attr("http.route", ex.route), _attr("http.response.status_code", ex.status),
             _attr("network.protocol.version", ex.http_version),
             _attr("user_agent.original", header(ex.headers, "user-agent")),
             _attr("server.address", _hostname(authority(ex))),
             _attr("http.response.body.size", ex.body_bytes)]
    if ex.client:
        attrs += [_attr("client.address", ex.client[0]), _attr("client.port", ex.client[1])]
    for prefix, pairs in (("http.request.header.", ex.headers), ("http.response.header.", ex.response_headers)):
        names: dict[str, list[str]] = {}
        for name, value in pairs:
            names.setdefault(name.lower(), []).append(value)
        attrs += [_attr(prefix + name, values) for name, values in names.items()]
    return attrs


def _hostname(host: str | None) -> str | None:
    try:
        return urlsplit("//" + host).hostname if host else None
    except ValueError:  # authority() passes only a host[:port]; kept so a new caller's odd text cannot raise
        return None


def _facts(prefix: str, detail: dict[str, Any]) -> list[dict[str, Any] | None]:
    return [_attr(prefix + str(key), value) for key, value in detail.items()]


def _attr(key: str, value: Any) -> dict[str, Any] | None:
    """A ``KeyValue`` with a typed value; no attribute for a fact that is null."""
    typed = _value(value)
    return None if typed is None else {"key": key, "value": typed}


def _value(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if type(value) is bool:
        return {"boolValue": value}
    if type(value) is int:  # int64 as a decimal string, as protobuf's JSON writes it
        return {"intValue": str(value)} if -_INT64 <= value < _INT64 else {"stringValue": str(value)}
    if type(value) is float:
        safe = json_safe(value)
        return {"doubleValue": safe} if isinstance(safe, float) else {"stringValue": safe}
    if isinstance(value, str):
        return {"stringValue": json_safe(value)}
    if isinstance(value, list) and value and len({type(v) for v in value}) == 1 and type(value[0]) in (str, bool, int):
        items = [_value(v) for v in value]
        if all(items):
            return {"arrayValue": {"values": items}}
    # Nested facts (a route table, a preview of a body) as their JSON text: every backend shows a string.
    return {"stringValue": json.dumps(json_safe(value), ensure_ascii=False, allow_nan=False, default=str)}
