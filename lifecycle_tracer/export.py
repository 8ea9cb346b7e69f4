"""Exports of a recorded trace: a Mermaid sequence diagram and an HTML waterfall."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable

from ._safe import redact_detail
from .events import TraceEvent
from .timeline import bars


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


# -- Mermaid ---------------------------------------------------------------

# Characters Mermaid reads as syntax inside a message or a participant label.
_UNSAFE = re.compile(r"[;#:<>\n\r\"`]")


def _label(text: str, limit: int = 60) -> str:
    clean = _UNSAFE.sub(" ", str(text)).strip()
    clean = re.sub(r"\s+", " ", clean)
    return (clean[: limit - 1] + "…") if len(clean) > limit else clean or "-"


def mermaid(events: list[TraceEvent]) -> str:
    """One request as a sequence diagram: client, layers, router, dependencies, endpoint, serializer."""
    parts: list[tuple[str, str]] = [("C", "Client")]
    ids: dict[str, str] = {}

    def pid(kind: str, name: str) -> str:
        key = f"{kind}:{name}"
        if key not in ids:
            ids[key] = f"P{len(ids) + 1}"
            parts.append((ids[key], _label(name, 40)))
        return ids[key]

    lines: list[str] = []
    stack: list[str] = ["C"]  # who currently holds the request
    first = events[0] if events else None
    for ev in events:
        d = ev.detail
        here = stack[-1]
        if ev.stage == "request" and ev.kind == "start":
            continue
        if ev.stage == "middleware":
            p = pid("mw", ev.name)
            if ev.kind == "start":
                what = f"{first.detail.get('method', '')} {first.detail.get('path', '')}" if here == "C" and first else "call next"
                lines.append(f"    {here}->>{p}: {_label(what)}")
                stack.append(p)
            else:
                if stack and stack[-1] == p:
                    stack.pop()
                note = "answered by itself" if d.get("called_next") is False else "done"
                if d.get("raised"):
                    note = f"raised {_label(d['raised'].rsplit('.', 1)[-1])}"
                lines.append(f"    {p}-->>{stack[-1] if stack else 'C'}: {note}")
        elif ev.stage == "routing":
            r = pid("router", "Router")
            lines.append(f"    {here}->>{r}: match {_label(d.get('path', ''))}")
            verdict = f"route {_label(d['route'])}" if d.get("matched") else f"no route ({d.get('status_hint', '?')})"
            lines.append(f"    {r}-->>{here}: {verdict}")
        elif ev.stage == "dependency":
            dep = pid("dep", ev.name)
            if ev.kind == "point":
                lines.append(f"    Note over {dep}: {'reused from cache' if d.get('cached') else 'skipped'}")
            elif ev.kind == "start":
                word = "teardown" if d.get("phase") == "teardown" else "call"
                lines.append(f"    {here}->>{dep}: {word}")
            else:
                what = f"raised {_label(d['raised'].rsplit('.', 1)[-1])}" if d.get("raised") else _label(d.get("returned", "done"))
                lines.append(f"    {dep}-->>{here}: {what}")
        elif ev.stage == "validation":
            mark = "ok" if d.get("ok") else "INVALID"
            lines.append(f"    Note over {here}: validate {_label(d.get('location', ''))} {_label(ev.name, 30)} {mark}")
        elif ev.stage == "endpoint":
            e = pid("endpoint", ev.name)
            if ev.kind == "start":
                lines.append(f"    {here}->>{e}: call{' in threadpool' if d.get('threadpool') else ''}")
            elif ev.kind == "end":
                what = f"raised {_label(d['raised'].rsplit('.', 1)[-1])}" if d.get("raised") else f"return {_label(d.get('returned', ''))}"
                lines.append(f"    {e}-->>{here}: {what}")
        elif ev.stage == "serialization":
            s = pid("ser", "Serializer")
            if ev.kind == "point":
                lines.append(f"    Note over {s}: skipped, endpoint returned {_label(d.get('response_class', 'a Response'))}")
            elif ev.kind == "start":
                lines.append(f"    {here}->>{s}: serialize with {_label(d.get('response_model') or 'jsonable_encoder')}")
            else:
                lines.append(f"    {s}-->>{here}: JSON")
        elif ev.stage == "exception":
            lines.append(f"    Note over {here}: {_label(ev.name)} to {d.get('status_code')} by {_label(d.get('handler') or 'ServerErrorMiddleware')}")
        elif ev.stage == "response" and ev.kind == "start":
            lines.append(f"    {here}-->>C: {d.get('status_code')} headers")
        elif ev.stage == "response" and ev.kind == "end":
            lines.append(f"    {here}-->>C: body {d.get('bytes')} bytes")
        elif ev.stage == "background" and ev.kind == "start":
            b = pid("bg", ev.name)
            lines.append(f"    {here}->>{b}: run after the response")
        elif ev.stage == "websocket":
            arrow = "C->>" + here if d.get("direction") == "in" else here + "-->>C"
            lines.append(f"    {arrow}: {_label(ev.name)}")
    # No `title` line: Mermaid sanitizes titles with DOMPurify, which its
    # parser cannot load outside a browser, and the first arrow names the request.
    head = ["sequenceDiagram"]
    head += [f"    participant {p} as {name}" for p, name in parts]
    return "\n".join(head + lines) + "\n"


# -- HTML ------------------------------------------------------------------

_COLORS = {
    "request": "#888", "middleware": "#a06bd6", "routing": "#2aa1b3", "dependency": "#3b7dd8",
    "validation": "#d9a400", "endpoint": "#2e9e4f", "serialization": "#5cb85c", "response": "#555",
    "background": "#6fa8b8", "exception": "#d9534f", "websocket": "#2aa1b3",
}


def html_page(groups: dict[str, list[TraceEvent]], title: str = "lifecycle-tracer trace") -> str:
    sections = []
    for rid, events in groups.items():
        if not events:
            continue
        total = max(events[-1].t_ns - events[0].t_ns, 1)
        first, last = events[0], events[-1]
        head = f"{first.detail.get('method', '')} {first.detail.get('path', '')}".strip() or first.name
        status = last.detail.get("status_code")
        if first.detail.get("type") == "lifespan":
            status = "ok" if last.detail.get("ok") else "failed"
        rows = []
        for bar in bars(events):
            ev = bar.event
            left = 100 * bar.start_ns / total
            end = bar.end_ns if bar.end_ns is not None else bar.start_ns
            width = max(100 * (end - bar.start_ns) / total, 0.4)
            failed = bar.failed
            dur = f"{(end - bar.start_ns) / 1e6:.3f} ms" if bar.end_ns is not None else f"at {bar.start_ns / 1e6:.3f} ms"
            detail = html.escape(json.dumps(ev.detail, indent=1, ensure_ascii=False)[:4000])
            rows.append(
                f'<tr class="{ev.stage}{" failed" if failed else ""}"><td class="name" style="padding-left:{bar.depth * 14 + 4}px">'
                f'<span class="stage">{html.escape(ev.stage)}</span> {html.escape(ev.name)}{" <b>✗ failed</b>" if failed else ""}</td>'
                f'<td class="bar"><div class="track"><div class="{"pt" if bar.point else "span"}" '
                f'style="left:{left:.3f}%;width:{width:.3f}%;background:{_COLORS.get(ev.stage, "#888")}"></div></div></td>'
                f'<td class="dur">{dur}</td></tr>'
                f'<tr class="explain"><td colspan="3">{html.escape(ev.explain)}'
                f'<details><summary>detail</summary><pre>{detail}</pre></details></td></tr>'
            )
        sections.append(
            f'<section><h2>{html.escape(rid)}: {html.escape(head)} → {html.escape(str(status))} '
            f'<small>{total / 1e6:.3f} ms</small></h2><table>{"".join(rows)}</table></section>'
        )
    return _PAGE.replace("__TITLE__", html.escape(title)).replace("__BODY__", "\n".join(sections))


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222;background:#fff}
h1{font-size:1.3rem} h2{font-size:1.05rem;margin:1.5rem 0 .3rem} small{color:#666;font-weight:normal}
table{border-collapse:collapse;width:100%} td{vertical-align:top;padding:2px 4px}
td.name{white-space:nowrap;width:30%;font-family:ui-monospace,monospace;font-size:12px}
td.dur{white-space:nowrap;width:7rem;text-align:right;color:#555;font-size:12px}
.stage{display:inline-block;min-width:6.5rem;color:#555}
.track{position:relative;height:14px;background:#f3f3f3}
.span,.pt{position:absolute;top:2px;height:10px;border-radius:2px}
.pt{width:4px!important;margin-left:-2px}
tr.explain td{color:#444;font-size:12px;padding:0 4px 6px 2rem}
tr.failed td.name b{color:#b00}
pre{background:#f7f7f7;padding:.5rem;overflow:auto;max-height:20rem}
@media (prefers-color-scheme: dark){body{background:#161616;color:#ddd}.track{background:#262626}
tr.explain td{color:#aaa} pre{background:#222}.stage,td.dur{color:#aaa}}
</style></head><body>
<h1>__TITLE__</h1>
<p>Each request's events as a waterfall: bars are stages with a start and an end, thin marks are single moments.
Nesting shows what ran inside what. Open <em>detail</em> for everything recorded.</p>
__BODY__
</body></html>
"""
