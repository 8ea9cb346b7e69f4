"""Requests as a self-contained HTML waterfall page."""

from __future__ import annotations

import html
import json

from ..events import TraceEvent
from ..timeline import bars, held_between, held_words, ran_ns
from ..visible import visible

# -- HTML ------------------------------------------------------------------


def _show(text: object) -> str:
    """Data as HTML text: controls and bidi marks as visible escapes, then every tag character escaped."""
    return html.escape(visible(text))


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
        total = max(ran_ns(events), 1)  # step mode's holds left out: the request's own time
        held = held_between(events)
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
            # JSON escapes C0 controls itself, not C1 or bidi; its newlines are the layout.
            detail = html.escape(visible(json.dumps(ev.detail, indent=1, ensure_ascii=False, default=str)[:4000],
                                         newlines=True))
            rows.append(
                f'<tr class="{_show(ev.stage)}{" failed" if failed else ""}"><td class="name" style="padding-left:{bar.depth * 14 + 4}px">'
                f'<span class="stage">{_show(ev.stage)}</span> {_show(ev.name)}{" <b>✗ failed</b>" if failed else ""}</td>'
                f'<td class="bar"><div class="track"><div class="{"pt" if bar.point else "span"}" '
                f'style="left:{left:.3f}%;width:{width:.3f}%;background:{_COLORS.get(ev.stage, "#888")}"></div></div></td>'
                f'<td class="dur">{dur}</td></tr>'
                f'<tr class="explain"><td colspan="3">{_show(ev.explain)}'
                f'<details><summary>detail</summary><pre>{detail}</pre></details></td></tr>'
            )
        sections.append(
            f'<section><h2>{_show(rid)}: {_show(head)} → {_show(status)} '
            f'<small>{total / 1e6:.3f} ms{" · " + held_words(held) + ", left out of these times" if held else ""}</small>'
            f'</h2><table>{"".join(rows)}</table></section>'
        )
    return _PAGE.replace("__TITLE__", _show(title)).replace("__BODY__", "\n".join(sections))


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
