"""Requests as a HAR 1.2 archive: what the DevTools of Chrome and Firefox import.

The recording is the server's view, so a HAR field that only the client could
know is given HAR's own "not known" value: ``-1`` for the sizes of the header
blocks and the timings that are optional (``blocked``, ``dns``, ``connect``,
``ssl``). ``send`` has none (HAR 1.2 says send, wait and receive "must have
non-negative values"): it is 0, because the server saw the request only
once it had arrived, and so ``time`` counts what the server saw: ``wait``
from the request reaching the app to the response's first byte, ``receive``
to its last. The lifecycle is under ``_lifecycle``. A WebSocket is an entry
with Chrome's ``_resourceType`` and ``_webSocketMessages``; the lifespan is
not an HTTP exchange and has no entry. A request's ``postData`` is what FastAPI
read of the body, as ``copy`` finds it (re-encoded, secrets hidden); the URL's
host is the one ``copy`` sends to, never a Host header that names another.
"""

from __future__ import annotations

import http
import json
from collections.abc import Iterable, Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, quote

from ..copyas import read_body, was_cut
from ..events import TraceEvent
from .spans import Exchange, authority, exchange, header, json_safe, spans

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SEND = ("send is 0: the server saw the request once it had arrived; HAR 1.2 has no value for not known here. "
         "blocked, dns, connect and ssl happened on the client: -1, not known.")


def har_file(groups: Iterable[tuple[str, list[TraceEvent]]], *, version: str, offset_ns: int,
             comment: str) -> Iterator[str]:
    """The archive as text, one entry at a time; the log's comment (with what was left out) comes last."""
    yield ('{"log":{"version":"1.2","creator":' + json.dumps({"name": "lifecycle-tracer", "version": version})
           + ',"pages":[],"entries":[\n')
    n = left_out = 0
    for rid, events in groups:
        entry = har_entry(rid, events, offset_ns)
        if entry is None:
            left_out += 1
            continue
        yield (",\n" if n else "") + json.dumps(json_safe(entry), ensure_ascii=False, allow_nan=False)
        n += 1
    if left_out:
        comment += f" {left_out} lifespan trace(s) (startup, shutdown) are not HTTP exchanges and have no entry."
    yield "\n]," + json.dumps({"comment": comment}, ensure_ascii=False)[1:-1] + "}}\n"


def iso(unix_ns: int) -> str:
    """ISO 8601 to the millisecond, in UTC, as HAR's ``startedDateTime`` is written."""
    return (_EPOCH + timedelta(microseconds=unix_ns // 1000)).isoformat(timespec="milliseconds")


def _ms(ns: int) -> float:
    return round(max(ns, 0) / 1e6, 3)


def har_entry(rid: str, events: list[TraceEvent], offset_ns: int) -> dict[str, Any] | None:
    """One request as a HAR entry, or None for the app's lifespan."""
    ex = exchange(rid, events)
    if ex.kind == "lifespan":
        return None
    if ex.wall_offset is not None:  # the request read the wall clock itself: no need for the file's time
        offset_ns = ex.wall_offset
    all_spans = spans(events)
    start_ns = all_spans[0].begin_ns
    answer = next((s for s in all_spans if s.start.stage == "response" and not s.point), None)
    accept = next((s for s in all_spans if s.start.stage == "websocket" and s.start.name in ("accept", "close")), None)
    if answer is not None:
        wait, receive = answer.begin_ns - start_ns, answer.end_ns - answer.begin_ns
    elif accept is not None:  # a WebSocket's answer is its handshake's: accepted, or closed before it
        wait, receive = accept.begin_ns - start_ns, 0
    else:  # no answer recorded: the wait is all the server saw
        wait, receive = all_spans[-1].end_ns - start_ns, 0
    timings = {"blocked": -1, "dns": -1, "connect": -1, "ssl": -1, "send": 0, "wait": _ms(wait),
               "receive": _ms(receive), "comment": _SEND}
    entry: dict[str, Any] = {
        "startedDateTime": iso(offset_ns + start_ns),
        "time": round(timings["wait"] + timings["receive"], 3),
        "request": _request(ex, events),
        "response": _response(ex),
        "cache": {},
        "timings": timings,
        "_requestId": rid,
        "_lifecycle": [{"stage": s.start.stage, "name": s.start.name, "label": s.label,
                        "startTime": _ms(s.begin_ns - start_ns), "time": _ms(s.end_ns - s.begin_ns),
                        "point": s.point, "failed": s.failed, "afterResponse": s.after_response,
                        "explain": s.start.explain} for s in all_spans],
    }
    if ex.kind == "websocket":
        entry["_resourceType"] = "websocket"
        entry["_webSocketMessages"] = [_message(s.start, offset_ns + s.begin_ns) for s in all_spans
                                       if s.start.stage == "websocket" and s.start.name in ("receive", "send")]
    return entry


def _message(ev: TraceEvent, unix_ns: int) -> dict[str, Any]:
    # Chrome's names are the browser's: what the app received, the client sent. Data is the recorded preview.
    binary = "text" not in ev.detail
    data = ev.detail.get("bytes") if binary else ev.detail.get("text")
    return {"type": "send" if ev.name == "receive" else "receive", "time": unix_ns / 1e9,
            "opcode": 2 if binary else 1, "data": data if isinstance(data, str) else json.dumps(data)}


def _version(ex: Exchange) -> str:
    return f"HTTP/{ex.http_version}" if ex.http_version else ""


def _request(ex: Exchange, events: list[TraceEvent]) -> dict[str, Any]:
    # A Host header that is not a plain host[:port] is not used (as in copy); with no server address recorded
    # either (older recordings, or HTTP/1.0 with no Host), .invalid names no host.
    host = authority(ex) or "unknown-host.invalid"
    # Newer recordings keep the scope's scheme; an older one does not say whether TLS was used, and
    # lifecycle-tracer's own servers speak plain HTTP.
    scheme = ex.scheme if ex.scheme in ("http", "https", "ws", "wss") else ("ws" if ex.kind == "websocket" else "http")
    url = f"{scheme}://{host}{quote(ex.path, safe='/:@!$&()*+,;=-._~%')}" + (f"?{ex.query}" if ex.query else "")
    cookie = header(ex.headers, "cookie")
    request: dict[str, Any] = {
        # RFC 6455: a WebSocket's opening handshake is a GET, which ASGI does not repeat in its scope.
        "method": ex.method or ("GET" if ex.kind == "websocket" else ""),
        "url": url,
        "httpVersion": _version(ex),
        "cookies": [{"name": n.strip(), "value": v.strip()} for n, _, v in
                    (part.partition("=") for part in (cookie or "").split(";")) if n.strip()],
        "headers": [{"name": n, "value": v} for n, v in ex.headers],
        "queryString": [{"name": n, "value": v} for n, v in parse_qsl(ex.query, keep_blank_values=True)],
        "headersSize": -1,  # the bytes of the header block are not recorded
        "bodySize": _body_size(ex.headers),
    }
    post, note = _post_data(ex, events)
    if post is not None:
        request["postData"] = post
    elif note:
        request["comment"] = note
    return request


def _post_data(ex: Exchange, events: list[TraceEvent]) -> tuple[dict[str, Any] | None, str]:
    """HAR's ``postData`` from what FastAPI read of the body (as ``copy`` finds it), or None and why not.

    The events hold no body bytes, only what the body and form parameters read, with secrets already hidden:
    the text is that, re-encoded, and the comment says so. A value the trace kept only a preview of is not
    written as text, since a tool that replays the entry would send it as if it were the body.
    """
    text, note = read_body(events, [(n, v) for n, v in ex.headers])
    if text is None:
        return None, note[:1].upper() + note[1:] + "." if note else ""
    post: dict[str, Any] = {"mimeType": header(ex.headers, "content-type") or ""}
    read = [e.detail.get("raw") for e in events if e.stage == "validation" and e.detail.get("sent", True)
            and e.detail.get("location") in ("body", "form")]
    if any(was_cut(value) for value in read):
        post["comment"] = ("The trace kept only a preview of the body (a value in it was cut short), so it is not "
                           f"written as text. The preview, as FastAPI parsed it: {text}")
        return post, ""
    post["text"] = text
    post["comment"] = note[:1].upper() + note[1:] + "."
    if "[redacted]" in json.dumps(read, ensure_ascii=False, default=str):  # a form's is URL-encoded in the text
        post["comment"] += " Values shown as [redacted] were hidden when the request was traced."
    return post, ""



def _body_size(headers: list[list[str]]) -> int:
    length = header(headers, "content-length")
    if length is not None:
        return int(length) if length.isdigit() else -1
    # HTTP/1.1 (RFC 9112, 6.3): no Content-Length and no Transfer-Encoding means no body at all.
    return -1 if header(headers, "transfer-encoding") is not None else 0


def _response(ex: Exchange) -> dict[str, Any]:
    pairs = ex.response_headers
    try:
        text = http.HTTPStatus(ex.status).phrase if ex.status is not None else ""
    except ValueError:
        text = ""
    content: dict[str, Any] = {"size": ex.body_bytes or 0, "mimeType": header(pairs, "content-type") or ""}
    if ex.body_preview is not None:
        content["text"] = ex.body_preview  # the whole body, as recorded (secrets hidden)
    return {
        "status": ex.status or 0,  # 0: no answer was recorded, as DevTools writes a request that got none
        "statusText": text,
        "httpVersion": _version(ex),
        "cookies": [_set_cookie(v) for n, v in pairs if n.lower() == "set-cookie"],
        # The app's headers; the server adds its own (date, server) after the recording saw them.
        "headers": [{"name": n, "value": v} for n, v in pairs],
        "content": content,
        "redirectURL": header(pairs, "location") or "",
        "headersSize": -1,
        "bodySize": ex.body_bytes if ex.body_bytes is not None else -1,
    }


def _set_cookie(value: str) -> dict[str, Any]:
    first, *attrs = value.split(";")
    name, _, val = first.partition("=")
    cookie: dict[str, Any] = {"name": name.strip(), "value": val.strip()}
    for attr in attrs:
        key, _, arg = attr.strip().partition("=")
        key = key.lower()
        if key in ("path", "domain"):
            cookie[key] = arg
        elif key in ("httponly", "secure"):
            cookie["httpOnly" if key == "httponly" else "secure"] = True
        elif key == "expires":
            with suppress(TypeError, ValueError):  # an HTTP date the server wrote wrong: HAR's field is optional
                cookie["expires"] = parsedate_to_datetime(arg).isoformat()
    return cookie
