"""A recorded request as a command to send it again: ``curl``, or an ``httpx`` snippet.

Only what the events hold goes in, and what they do not hold is said in a
comment above the command, never guessed:

- the method, path, query and headers come from the request's start, already
  redacted at the source: a hidden value stays ``[redacted]`` (the command
  says so, and the user puts the real value back);
- the server's address is not in a request's events: it is the ``base`` given
  (the TUI's server), else the request's own ``Host`` header, else a
  placeholder the comment names;
- the body is not kept as bytes. What FastAPI read of it is: the whole body a
  parameter read, or the fields the body parameters read, each as FastAPI
  parsed it. That is re-encoded as JSON, and the comment says it is a
  re-encoding that leaves out whatever no parameter read.

Everything that reaches the text is request data: the command is quoted for a
POSIX shell (``shlex.quote``) and the snippet with ``repr``, so nothing in it
runs or breaks out of its quotes.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from urllib.parse import urlencode

from .events import TraceEvent

# Set by the client library from the body and the connection: copying them would make a wrong request.
_LEFT_OUT = {"host", "content-length", "connection", "transfer-encoding", "accept-encoding", "user-agent"}
PLACEHOLDER = "http://127.0.0.1:8000"
# C0 and C1 controls, DEL, and the bidi and line separators a terminal or an editor acts on.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


@dataclass
class Sent:
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: str | None = None
    notes: list[str] = field(default_factory=list)


def sent_request(events: list[TraceEvent], base: str | None = None) -> Sent | None:
    """What the client sent, as far as ``events`` (one request's) recorded it; None for no HTTP request."""
    start = next((e for e in events if e.stage == "request" and e.kind == "start"), None)
    if start is None or start.detail.get("type") != "http":
        return None
    d = start.detail
    headers = [(str(p[0]), str(p[1])) for p in d.get("headers") or [] if isinstance(p, list | tuple) and len(p) == 2]
    notes: list[str] = []
    host = next((v for n, v in headers if n.lower() == "host"), None)
    if base:
        root = base.rstrip("/")
    elif host and "[redacted]" not in host:
        root = f"http://{host}"
        notes.append(f"the server's address is the request's Host header ({host}); the scheme, http, is assumed")
    else:
        root = PLACEHOLDER
        notes.append(f"the trace does not hold the server's address: {PLACEHOLDER} stands in for it")
    query = str(d.get("query_string") or "")
    url = f"{root}{d.get('path') or '/'}" + (f"?{query}" if query else "")
    kept = [(n, v) for n, v in headers if n.lower() not in _LEFT_OUT]
    body, body_note = _body(events, headers)
    if body_note:
        notes.append(body_note)
    if any("[redacted]" in v for _, v in kept) or "[redacted]" in url:
        notes.append("values shown as [redacted] were hidden when the request was traced: put the real ones back")
    return Sent(str(d.get("method") or "GET"), url, kept, body, notes)


def _body(events: list[TraceEvent], headers: list[tuple[str, str]]) -> tuple[str | None, str]:
    read = [e.detail for e in events if e.stage == "validation" and e.detail.get("sent", True)]
    parts = [d for d in read if d.get("location") == "body"]
    form = [d for d in read if d.get("location") == "form"]
    declared = next((v for n, v in headers if n.lower() == "content-length"), None)
    kind = next((v for n, v in headers if n.lower() == "content-type"), "").lower()
    if form:
        fields = [(str(d.get("alias") or d.get("field")), d.get("raw")) for d in form]
        if not kind.startswith("application/x-www-form-urlencoded") or not all(isinstance(v, str) for _, v in fields):
            return None, "the body (a multipart form or files) is not in the trace: only the fields' values are"
        return urlencode(fields), ("the form is re-encoded from the fields FastAPI read: "
                                   "any field no parameter read is left out")
    if not parts:
        if declared and declared != "0":
            return None, f"the body ({declared} bytes) is not in the trace: no parameter of the endpoint read it"
        return None, ""
    whole = next((p for p in parts if p.get("whole")), None)
    if any(p.get("json_invalid") or p.get("body_not_parsed") for p in parts):
        return None, "the body is not in the trace: FastAPI did not parse it as JSON"
    value = whole.get("raw") if whole is not None else {str(p.get("alias") or p.get("field")): p.get("raw")
                                                       for p in parts}
    if isinstance(value, str) and whole is not None and "json" not in kind:
        return value, "the body is the text the body parameter read"
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return None, "the body is not in the trace in a form that can be sent again"
    return text, ("the body is what FastAPI parsed, re-encoded as JSON: "
                  "the key order and anything no parameter read may differ from what was sent")


def as_curl(events: list[TraceEvent], base: str | None = None) -> str | None:
    sent = sent_request(events, base)
    if sent is None:
        return None
    lines = [_oneline(f"# {note}") for note in sent.notes]
    # -g: curl would read [..] and {..} in the URL as its own globbing ("/[1-1000000]" as a million
    # requests, "[redacted]" as a bad range); the URL is sent as it stands.
    parts = ["curl", "-g"]
    if sent.method != "GET" or sent.body is not None:
        parts += ["-X", quote(sent.method)]
    parts.append(quote(sent.url))
    for name, value in sent.headers:
        parts += ["-H", quote(f"{name}: {value}")]
    if sent.body is not None:
        parts += ["--data-raw", quote(sent.body)]
    if any(part.startswith("$'") for part in parts):
        lines.append("# control characters are written as bash's $'\\x..' escapes (bash, zsh; not plain sh)")
    lines.append(" ".join(parts))
    return "\n".join(lines)


def quote(text: str) -> str:
    """``text`` as one shell word. Control characters never appear raw (pasted, ESC [201~ would end a
    terminal's bracketed paste and let the rest run): a word holding one is written ``$'\\xNN'``."""
    if not _CONTROL.search(text):
        return shlex.quote(text)
    out = []
    for ch in text:
        if _CONTROL.match(ch) or ch in "\\'":
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "$'" + "".join(out) + "'"


def as_httpx(events: list[TraceEvent], base: str | None = None) -> str | None:
    sent = sent_request(events, base)
    if sent is None:
        return None
    lines = [_oneline(f"# {note}") for note in sent.notes]
    lines.append("import httpx")
    lines.append("")
    args = [repr(sent.method), repr(sent.url)]
    if sent.headers:
        args.append(f"headers={[(n, v) for n, v in sent.headers]!r}")
    if sent.body is not None:
        args.append(f"content={sent.body.encode('utf-8')!r}")
    lines.append(f"response = httpx.request({', '.join(args)})")
    lines.append("print(response.status_code, response.text)")
    return "\n".join(lines)  # repr() writes no raw newline


def _oneline(line: str) -> str:
    """A note as one line: a note carrying request data cannot start a new shell line."""
    return line.replace("\r", "\\r").replace("\n", "\\n")
