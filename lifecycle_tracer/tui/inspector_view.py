"""The inspector's sections as rich renderables: request, response, headers by layer, trace, error.

Every piece of request data goes through ``visible()`` into ``rich.text.Text``
(never markup); JSON is pretty-printed only when the whole body is there.
"""

from __future__ import annotations

import json
import linecache
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..events import TraceEvent
from ..visible import visible
from .inspector import (
    added_by,
    failures,
    first,
    from_inside,
    layer_changes,
    pairs,
    query_pairs,
    request_body,
    response_body,
    route,
    stages,
    validation_errors,
)
from .model import SYMBOL, WORD

_PACKAGE = Path(__file__).resolve().parent.parent
STATE_STYLE = {"done": "green", "failed": "bold red", "skipped": "dim italic", "active": "bold", "stopped": "yellow"}


def t(text: object, style: str = "", *, newlines: bool = False) -> Text:
    return Text(visible(text, newlines=newlines), style=style)


def heading(text: str) -> Text:
    return Text(f"\n{text}", style="bold underline")


def kv_table(rows: list[tuple[str, str]], empty: str, owners: dict[str, str] | None = None) -> RenderableType:
    """Name and value; with ``owners``, a third column: which layer added the header."""
    if not rows:
        return t(f"  {empty}", "dim")
    table = Table(box=None, show_header=owners is not None, padding=(0, 1), expand=False, header_style="dim")
    table.add_column("name", style="bold", no_wrap=True, max_width=34)
    table.add_column("value", overflow="fold")
    if owners is not None:
        table.add_column("added by", overflow="fold", style="cyan", max_width=30)
    for name, value in rows:
        cells = [t(name), t(value, "dim" if value == "[redacted]" else "")]
        if owners is not None:
            cells.append(t(owners.get(name.lower(), "")))
        table.add_row(*cells)
    return table


def pretty(value: Any, text: bool) -> Text:
    """A JSON value (or JSON text that parses) indented; anything else as it is."""
    if text and isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return t(value, newlines=True)
    if isinstance(value, dict | list):
        return t(json.dumps(value, indent=2, ensure_ascii=False, default=str), newlines=True)
    return t(json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else value)


def title(events: list[TraceEvent]) -> Text:
    start = first(events, "request", "start")
    end = events[-1] if events and events[-1].stage == "request" and events[-1].kind == "end" else None
    if start is None:
        return t("No request selected.", "dim")
    d = start.detail
    path = str(d.get("path", "")) + (f"?{d['query_string']}" if d.get("query_string") else "")
    out = t(f"{start.request_id} · {d.get('method') or str(d.get('type', '')).upper()} {path}", "bold")
    status = end.detail.get("status_code") if end is not None else None
    if end is None:
        out.append("  (still under way: the inspector follows it)", style="yellow")
    elif status is not None:
        out.append(f"  → {status}", style="bold red" if isinstance(status, int) and status >= 400 else "bold green")
    return out


def request_section(events: list[TraceEvent]) -> RenderableType:
    start = first(events, "request", "start")
    if start is None:
        return t("The request's start is not in the events.", "dim")
    d = start.detail
    headers = pairs(d.get("headers"))
    path = str(d.get("path", "")) + (f"?{d['query_string']}" if d.get("query_string") else "")
    line = t(f"{d.get('method') or d.get('type')} {path}", "bold")
    if d.get("http_version"):
        line.append(f"   HTTP/{visible(d['http_version'])}", style="dim")
    client = d.get("client")
    if isinstance(client, list) and len(client) == 2:
        line.append(f"   from {visible(client[0])}:{visible(client[1])}", style="dim")
    parts: list[RenderableType] = [line]
    parts += [heading("Query"), kv_table(query_pairs(d.get("query_string")), "no query string")]
    parts += [heading(f"Headers ({len(headers)})"), kv_table(headers, "no headers")]
    parts += [heading("Body"), *body_parts(events, headers)]
    return Group(*parts)


def body_parts(events: list[TraceEvent], headers: list[tuple[str, str]]) -> list[RenderableType]:
    found = request_body(events)
    length = next((v for n, v in headers if n.lower() == "content-length"), None)
    if not found:
        if length in (None, "0"):
            return [t("  no body was sent", "dim")]
        return [t(f"  {length} bytes were sent, but no body or form parameter read them: the events hold no copy "
                  "of the body.", "dim")]
    out: list[RenderableType] = []
    for part in found:
        label = f"  {part.name}: the whole body, as sent" if part.whole else f"  field {part.name}, as sent" + (
            " (read by the form parser; the body itself is not kept)" if part.form else "")
        mark = "" if part.ok is not False else "  ✗ invalid"
        out.append(t(label, "bold") + t(mark, "bold red"))
        if part.note:
            out.append(t(f"  {part.note}", "yellow"))
        out.append(pretty(part.raw, text=isinstance(part.raw, str)))
    return out


def response_section(events: list[TraceEvent]) -> RenderableType:
    start = first(events, "response", "start")
    end = first(events, "response", "end")
    if start is None:
        begun = first(events, "request", "start")
        over = events[-1] if events and events[-1].stage == "request" and events[-1].kind == "end" else None
        if begun is not None and begun.detail.get("type") == "websocket":
            # A WebSocket's answer is its handshake, not an HTTP response the app sent.
            status = over.detail.get("status_code") if over is not None else None
            said = f"; the request's end records status {status}" if status is not None else ""
            return t(f"A WebSocket gets no HTTP response from the app: see its messages in the trace{said}.", "dim")
        reason = "the request is still under way" if over is None else "no response was sent"
        return t(f"No response start in the events: {reason}.", "dim")
    status = start.detail.get("status_code")
    line = t(f"{status}", "bold red" if isinstance(status, int) and status >= 400 else "bold green")
    if end is not None:
        d = end.detail
        line.append(f"   {d.get('bytes')} bytes in {d.get('chunks')} message(s)", style="dim")
        line.append("   complete" if d.get("complete") else "   NOT complete", style="dim" if d.get("complete") else "bold red")
        if d.get("path"):
            line.append(f"   file sent by path: {visible(d['path'])}", style="dim")
    headers = pairs(start.detail.get("headers"))
    owners = added_by(events) or None  # none: a recording made before layers' headers were recorded
    parts: list[RenderableType] = [line, heading(f"Headers ({len(headers)})"), kv_table(headers, "no headers", owners)]
    body = response_body(events)
    parts.append(heading("Body, as the client received it"))
    if body.binary:
        parts.append(t(f"  {body.total} bytes that are not UTF-8 text: not shown.", "dim"))
    elif body.text is None:
        parts.append(t("  empty" if body.total == 0 else "  The events hold no copy of the body.", "dim"))
    else:
        if body.cut:
            kept = len(body.text.encode("utf-8"))
            parts.append(t(f"  CUT: only the start is shown (from {body.source}; about {kept} of {body.total} bytes).",
                           "bold yellow"))
        parts.append(pretty(body.text, text=not body.cut) if not body.cut else t(body.text, newlines=True))
    return Group(*parts)


def layers_section(events: list[TraceEvent]) -> RenderableType:
    changes = layer_changes(events)
    if not changes:
        return t("The events hold no per-layer response headers (not an HTTP response, none sent yet, "
                 "or a recording made before they were recorded).", "dim")
    table = Table(box=None, show_header=False, padding=(0, 1))
    table.add_column(style="bold", no_wrap=True, max_width=30)
    table.add_column(overflow="fold")
    inner = changes[0]
    if not inner.sent_itself:
        names = from_inside(events, changes)
        table.add_row(t("(from the router)"), t(f"{inner.inside_status}: {', '.join(names) or 'no headers'}", "dim"))
    for change in changes:
        table.add_row(t(change.label), change_text(change))
    return Group(t("On the way out, innermost layer first: each line is what that layer did to the response.", "dim"),
                 table)


def change_text(change: Any) -> Text:
    if change.sent_itself:
        out = t(f"sent its own {change.status} response", "bold yellow")
        if change.added:
            out.append(visible(f": {', '.join(change.added)}"))
        return out
    out = Text()
    if change.status != change.inside_status:
        out.append(visible(f"changed the status {change.inside_status} → {change.status}"), style="bold yellow")
    for word, names, style in (("added", change.added, "green"), ("changed", change.changed, "yellow"),
                               ("removed", change.removed, "red")):
        if names:
            if out:
                out.append("; ")
            out.append(f"{word} ", style=style)
            out.append(visible(", ".join(names)))
    return out if out else t("—", "dim")


def trace_section(events: list[TraceEvent]) -> RenderableType:
    table = Table(box=None, show_header=False, padding=(0, 1))
    table.add_column(no_wrap=True, max_width=32)
    table.add_column(overflow="fold")
    table.add_column(justify="right", no_wrap=True)
    for stage in stages(events):
        style = STATE_STYLE.get(stage.state, "")
        table.add_row(t(f"{SYMBOL.get(stage.state, '?')} {stage.label}", style),
                      t(f"{WORD.get(stage.state, stage.state)}{': ' + stage.note if stage.note else ''}", style),
                      t(ms(stage.ns), "dim"))
    parts: list[RenderableType] = [table]
    found = route(events)
    if found:
        parts.insert(0, t(f"route: {found}", "bold"))
    errors = validation_errors(events)
    if errors:
        parts += [heading("Validation errors"), *[t(f"  {e}", "red") for e in errors]]
    return Group(*parts)


def ms(ns: int | None) -> str:
    return "" if ns is None else f"{ns / 1e6:.2f} ms"


def error_section(events: list[TraceEvent]) -> RenderableType:
    found = failures(events)
    if not found:
        return t("No exception was raised while this request was handled.", "dim")
    parts: list[RenderableType] = []
    for failure in found:
        head = t(f"{failure.name}: {failure.message}" if failure.message else failure.name, "bold red")
        parts.append(head)
        if failure.where:
            parts.append(t(f"  raised in {failure.where}"))
        if failure.handled:
            parts.append(t(f"  handled by {failure.handler or 'a handler'} → {failure.status}"))
        elif failure.handled is False:
            parts.append(t("  no handler took it: ServerErrorMiddleware answered (500 unless the response had begun)"))
        if failure.frames:
            parts.append(t("  Traceback (innermost call last):", "bold"))
            parts += traceback_lines(failure.frames, failure.frames_left_out)
        elif failure.handled:
            parts.append(t("  No traceback recorded: a handler took the exception, so nothing logged one.", "dim"))
        parts.append(Text(""))
    return Group(*parts)


def traceback_lines(frames: list[tuple[str, int, str]], left_out: int) -> list[Text]:
    """The app's own frames with their line of code; runs of library and tracer frames folded into one line."""
    out: list[Text] = []
    if left_out:
        out.append(t(f"    … {left_out} outer frames not recorded", "dim"))
    folded: list[str] = []
    for file, line, function in frames + [("", 0, "")]:
        owner = library(file) if file else None
        if file and owner:
            folded.append(owner)
            continue
        if folded:
            names = ", ".join(dict.fromkeys(folded))
            out.append(t(f"    … {len(folded)} frame(s) in {names}", "dim"))
            folded = []
        if file:
            out.append(t(f"    {short(file)}:{line} in {function}", "bold"))
            code = linecache.getline(file, line).strip()
            if code:
                out.append(t(f"        {code}"))
    return out


def library(file: str) -> str | None:
    """The package a frame belongs to when it is not the app's own code."""
    path = Path(file)
    if "site-packages" in path.parts:
        rest = path.parts[path.parts.index("site-packages") + 1:]
        return rest[0].removesuffix(".py") if rest else "site-packages"
    try:
        path.resolve().relative_to(_PACKAGE)
        return "lifecycle_tracer (its probes)"
    except (ValueError, OSError):
        pass
    return "python" if "/lib/python" in file or file.startswith("<") else None


def short(file: str) -> str:
    try:
        return str(Path(file).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return file
