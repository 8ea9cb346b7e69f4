"""Two requests side by side, stage by stage: a 200 next to a 422, or the same request before and after an edit.

Rows come from each request's own events; a row whose two sides differ is
marked ``≠``. Plain functions to rows, then one rich table.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ..events import TraceEvent
from ..timeline import request_ns
from ..visible import visible
from .inspector import Stage, first, pairs, response_body, route, stages, validation_errors
from .model import SYMBOL, WORD

BODY_ROOM = 300


@dataclass
class Row:
    label: str
    a: str
    b: str
    section: bool = False  # a heading row
    same: bool | None = None  # set when the sides are compared without their text (durations always differ)

    @property
    def differs(self) -> bool:
        if self.section:
            return False
        return not self.same if self.same is not None else self.a != self.b


def _ms(ns: int | None) -> str:
    return "" if ns is None else f"{ns / 1e6:.2f} ms"


def _stage_text(stage: Stage | None) -> str:
    if stage is None:
        return "(no such stage)"
    note = f": {stage.note}" if stage.note else ""
    return f"{SYMBOL.get(stage.state, '?')} {WORD.get(stage.state, stage.state)}{note}"


def summary(events: list[TraceEvent]) -> dict[str, str]:
    start = first(events, "request", "start")
    end = events[-1] if events and events[-1].stage == "request" and events[-1].kind == "end" else None
    d = start.detail if start else {}
    path = str(d.get("path", "")) + (f"?{d['query_string']}" if d.get("query_string") else "")
    return {
        "request": f"{d.get('method') or ''} {path}".strip(),
        "status": str(end.detail.get("status_code")) if end else "(under way)",
        "route": route(events) or "(none matched)",
        "total": _ms(request_ns(end.detail)) if end else "",
    }


def _timed(text: str, stage: Stage | None) -> str:
    return f"{text} · {_ms(stage.ns)}" if stage is not None and stage.ns is not None else text


def _header_map(event: TraceEvent | None) -> dict[str, str]:
    out: dict[str, list[str]] = {}
    for name, value in pairs(event.detail.get("headers")) if event else []:
        out.setdefault(name.lower(), []).append(value)
    return {k: ", ".join(v) for k, v in out.items()}


def _header_rows(a: TraceEvent | None, b: TraceEvent | None) -> list[Row]:
    ha, hb = _header_map(a), _header_map(b)
    names = list(dict.fromkeys([*ha, *hb]))
    return [Row(n, ha.get(n, "(absent)"), hb.get(n, "(absent)")) for n in names if ha.get(n) != hb.get(n)]


def rows(a: list[TraceEvent], b: list[TraceEvent]) -> list[Row]:
    sa, sb = summary(a), summary(b)
    out = [Row(key, sa[key], sb[key]) for key in ("request", "status", "route")]
    out.append(Row("total", sa["total"], sb["total"], same=True))
    out.append(Row("stages", "", "", section=True))
    stages_a, stages_b = {s.key: s for s in stages(a)}, {s.key: s for s in stages(b)}
    for key in dict.fromkeys([*stages_a, *stages_b]):
        x, y = stages_a.get(key), stages_b.get(key)
        label = (x or y).label if (x or y) else key
        text_a, text_b = _stage_text(x), _stage_text(y)
        out.append(Row(label, _timed(text_a, x), _timed(text_b, y), same=text_a == text_b))
    errors_a, errors_b = validation_errors(a), validation_errors(b)
    if errors_a or errors_b:
        out.append(Row("validation errors", "", "", section=True))
        for i in range(max(len(errors_a), len(errors_b))):
            out.append(Row("", errors_a[i] if i < len(errors_a) else "", errors_b[i] if i < len(errors_b) else ""))
    for title, stage, kind in (("request headers", "request", "start"), ("response headers", "response", "start")):
        differing = _header_rows(first(a, stage, kind), first(b, stage, kind))
        note = "those that differ:" if differing else "all the same"
        out.append(Row(title, note, note, section=True))
        out += differing
    body_a, body_b = response_body(a), response_body(b)
    out.append(Row("response body", "", "", section=True))
    out.append(Row("", _body_text(body_a), _body_text(body_b)))
    return out


def _body_text(body: object) -> str:
    text = getattr(body, "text", None)
    if text is None:
        return "(not in the events)"
    if len(text) > BODY_ROOM:  # side by side the start is enough; the inspector shows all that was kept
        return text[:BODY_ROOM] + " … (shortened here)"
    return text + (" … (cut)" if getattr(body, "cut", False) else "")


def render(a: list[TraceEvent], b: list[TraceEvent], width: int, marked: bool = True) -> RenderableType:
    """The two requests as columns; ``width`` is the room the table has (the screen's, less its frame).

    ``marked``: the first is the request the TUI's user marked (``diff`` has no marking).
    """
    label_width = 26 if width >= 120 else 20
    side = max((width - label_width - 4) // 2, 16)  # 4: the padding between the three columns
    table = Table(box=None, padding=(0, 1), show_header=True, header_style="bold", pad_edge=False)
    table.add_column("", width=label_width, no_wrap=True, overflow="ellipsis")
    table.add_column(visible(f"{a[0].request_id}{' (marked)' if marked else ''}") if a else "", width=side,
                     overflow="fold")
    table.add_column(visible(b[0].request_id) if b else "", width=side, overflow="fold")
    for row in rows(a, b):
        if row.section:
            table.add_row(Text(visible(row.label), style="bold underline"), Text(visible(row.a), style="dim"),
                          Text(visible(row.b), style="dim"))
            continue
        style = "bold yellow" if row.differs else ""
        label = Text("≠ " if row.differs else "  ", style="bold yellow")
        label.append(visible(row.label), style="bold")
        table.add_row(label, Text(visible(row.a), style=style), Text(visible(row.b), style=style))
    return table
