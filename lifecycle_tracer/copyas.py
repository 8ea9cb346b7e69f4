"""A recorded request as a command to send it again: ``curl``, or an ``httpx`` snippet.

Only what the events hold goes in, and what they do not hold is said in a
comment above the command, never guessed:

- the method, path, query and headers come from the request's start, already
  redacted at the source: a hidden value stays ``[redacted]`` (the command
  says so, and the user puts the real value back);
- the server's address is the ``base`` given (the TUI's server), else the
  address the server listened on (recordings keep it), else, in an older
  recording, the request's own ``Host`` header when it is a host[:port] and
  nothing more, else a placeholder the comment names. The client writes the
  Host header: ``Host: evil.example`` would send the copy, and the
  credentials the user puts back, to evil.example, and sent as it stands
  ``127.0.0.1:8000@evil.example`` would too;
- a header's value is sent as the bytes the client sent (the event holds
  them read as latin-1); one the trace cut short, or one no command line can
  carry, is left out and the comment says so;
- the body is not kept as bytes. What FastAPI read of it is: the whole body a
  parameter read, or the fields the body parameters read, each as FastAPI
  parsed it. That is re-encoded as JSON, and the comment says it is a
  re-encoding that leaves out whatever no parameter read.

Everything that reaches the text is request data: the command is quoted for a
POSIX shell (``shlex.quote``) and the snippet with ``repr``, so nothing in it
runs or breaks out of its quotes.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .events import TraceEvent
from .redaction.headers import PREVIEW_CHARS
from .visible import visible

# Set by the client library from the body and the connection: copying them would make a wrong request.
_LEFT_OUT = {"host", "content-length", "connection", "transfer-encoding", "accept-encoding", "user-agent"}
PLACEHOLDER = "http://127.0.0.1:8000"
# C0 and C1 controls, DEL, the bidi marks and the line separators a terminal or an editor acts on, lone surrogates.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
# RFC 3986's host (a reg-name, which covers IPv4, or a bracketed IPv6 address) and an optional port. No
# percent-escapes: curl and httpx decode them after splitting the authority, and no server's name needs one.
_HOST = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=]+|\[(?P<ip6>[0-9A-Fa-f:.]+)\])(?::(?P<port>[0-9]{1,5}))?")
# How redaction/headers.py's truncate() ends a value longer than PREVIEW_CHARS.
_CUT = re.compile(r"… \(\+([0-9]+) chars\)")
# How safe.preview marks what else it left out of a value: items past its count, a container past its
# depth or its budget.
_MORE = re.compile(r"… [0-9]+ more")
_UNSHOWN = re.compile(r"<(?:dict|list|tuple|set|frozenset)>")


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
    root, note = (base.rstrip("/"), "") if base else _root(d, host)
    if note:
        notes.append(note)
    query = str(d.get("query_string") or "")
    path = str(d.get("path") or "/")
    # A path always starts with "/" from a server; one from an edited file must not go on the address.
    url = f"{root}{path if path.startswith('/') else '/' + path}" + (f"?{query}" if query else "")
    kept = []
    for name, value in headers:
        if name.lower() in _LEFT_OUT:
            continue
        why = _unsendable(name, value)
        if why:
            notes.append(f"the {_shown(name)} header is left out: {why}")
        else:
            kept.append((name, value))
    body, body_note = read_body(events, headers)
    if body_note:
        notes.append(body_note)
    if any("[redacted]" in v for _, v in kept) or "[redacted]" in url:
        notes.append("values shown as [redacted] were hidden when the request was traced: put the real ones back")
    return Sent(str(d.get("method") or "GET"), url, kept, body, notes)


def _root(d: dict[str, Any], host: str | None) -> tuple[str, str]:
    """The scheme and address the request went to, and the note that says where they come from.

    The address the server listened on comes first: it is where the request arrived. The Host
    header is the client's word (``attacker.example`` is one raw request away), so it is used only
    for a recording from before the server's address was kept.
    """
    scheme = d.get("scheme") if d.get("scheme") in ("http", "https") else None
    assumed = "" if scheme else "; the scheme, http, is assumed"
    scheme = scheme or "http"
    server = d.get("server")
    if isinstance(server, list) and len(server) == 2 and isinstance(server[0], str) and type(server[1]) is int:
        where = f"[{server[0]}]:{server[1]}" if ":" in server[0] else f"{server[0]}:{server[1]}"
        if is_host(where):
            said = f" (the request's Host header said {_shown(host)})" if host and host != where else ""
            return f"{scheme}://{where}", f"the server's address is the one it listened on{said}{assumed}"
    refused = ""
    if host and "[redacted]" not in host:
        if is_host(host):
            return f"{scheme}://{host}", f"the server's address is the request's Host header ({host}){assumed}"
        refused = f"the request's Host header ({_shown(host)}) is not a valid host[:port] and is not used; "
    return PLACEHOLDER, f"{refused}the trace does not hold the server's address: {PLACEHOLDER} stands in for it"


def is_host(text: str) -> bool:
    """Whether ``text`` is a host[:port] and nothing more: nothing in it can name another host in a URL."""
    match = _HOST.fullmatch(text)
    if match is None or (match["port"] is not None and not 0 < int(match["port"]) < 65536):
        return False
    if match["ip6"] is not None:
        try:
            ipaddress.IPv6Address(match["ip6"])
        except ValueError:
            return False
    return True


def wire(text: str) -> bytes:
    """A header's bytes: the event holds them read as latin-1; a character past it is from an edited file."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _shown(text: str) -> str:
    return wire(text).decode("utf-8", "backslashreplace")


def _unsendable(name: str, value: str) -> str:
    """Why a recorded header cannot be sent as the client sent it, or ""."""
    cut = _CUT.fullmatch(value, PREVIEW_CHARS - 1)
    if cut:
        return f"the trace kept its first {PREVIEW_CHARS - 1} characters, not the {cut[1]} after them"
    if any(b in wire(name + value) for b in b"\x00\r\n"):
        # No HTTP server accepts these in a header (the recording was edited), and no shell word holds NUL.
        return "it holds a NUL, CR or LF byte, which no header sent again can carry"
    return ""


def was_cut(value: Any) -> bool:
    """Whether a recorded value is a preview that left part of the value out."""
    if isinstance(value, str):
        return bool(_CUT.fullmatch(value, PREVIEW_CHARS - 1) or _MORE.fullmatch(value) or _UNSHOWN.fullmatch(value))
    if isinstance(value, dict):
        return "…" in value or any(was_cut(v) for v in value.values())
    if isinstance(value, list):
        return any(was_cut(v) for v in value)
    return False


def read_body(events: list[TraceEvent], headers: list[tuple[str, str]]) -> tuple[str | None, str]:
    """The body as FastAPI read it, re-encoded, and what to say about it; None and why when it cannot be."""
    read = [e.detail for e in events if e.stage == "validation" and e.detail.get("sent", True)]
    parts = [d for d in read if d.get("location") == "body"]
    form = [d for d in read if d.get("location") == "form"]
    declared = next((v for n, v in headers if n.lower() == "content-length"), None)
    kind = next((v for n, v in headers if n.lower() == "content-type"), "").lower()
    if form:
        fields = [(str(d.get("alias") or d.get("field")), d.get("raw")) for d in form]
        if not kind.startswith("application/x-www-form-urlencoded") or not all(isinstance(v, str) for _, v in fields):
            return None, "the body (a multipart form or files) is not in the trace: only the fields' values are"
        if any(was_cut(v) for _, v in fields):
            return urlencode(fields), ("the form is re-encoded from the fields FastAPI read, and the trace cut a "
                                       "value short ('… (+N chars)'): this is not the form that was sent")
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
    if was_cut(value):
        return text, ("the body is a preview of what FastAPI parsed, re-encoded as JSON: the trace cut part of it "
                      "short (a '… (+N chars)', '… N more' or '<list>'), so this is not the body that was sent")
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
        parts += ["-H", quote_bytes(wire(f"{name}: {value}"))]
    if sent.body is not None:
        parts += ["--data-raw", quote(sent.body)]
    if any(part.startswith("$'") for part in parts):
        lines.append("# control and bidi characters, and bytes that are not UTF-8, are written as bash's $'\\x..' "
                     "escapes (bash, zsh; not plain sh)")
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


def quote_bytes(data: bytes) -> str:
    """``data`` as one shell word that hands a program these bytes: UTF-8 text as ``quote`` writes it, and
    any other byte (not UTF-8, or a control or bidi character's) as a ``$'\\xNN'`` escape, which bash and zsh
    turn back into the byte whatever the terminal's encoding."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and not _CONTROL.search(text):
        return shlex.quote(text)
    return "$'" + "".join(chr(b) if 0x20 <= b < 0x7f and b not in b"\\'" else f"\\x{b:02x}" for b in data) + "'"


def as_httpx(events: list[TraceEvent], base: str | None = None) -> str | None:
    sent = sent_request(events, base)
    if sent is None:
        return None
    lines = [_oneline(f"# {note}") for note in sent.notes]
    lines.append("import httpx")
    lines.append("")
    args = [repr(sent.method), repr(sent.url)]
    if sent.headers:
        # A str header must be ASCII to httpx; bytes go as they are, and their repr shows no raw byte.
        pairs = [(n, v) if (n + v).isascii() and not _CONTROL.search(n + v) else (wire(n), wire(v))
                 for n, v in sent.headers]
        args.append(f"headers={pairs!r}")
    if sent.body is not None:
        args.append(f"content={sent.body.encode('utf-8')!r}")
    lines.append(f"response = httpx.request({', '.join(args)})")
    lines.append("print(response.status_code, response.text)")
    return "\n".join(lines)  # repr() writes no raw newline


def _oneline(line: str) -> str:
    """A note as one line with no control or bidi character: a note carrying request data can neither start
    a new shell line nor steer the terminal it is pasted into."""
    return visible(line)
