"""The panes: pipeline, waterfall, detail, history. Each is fed a request's events."""

from __future__ import annotations

import json
import linecache
from typing import Any

from rich.console import Group
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable, Static

from ..events import TraceEvent
from ..sinks import STAGE_STYLE
from .model import FAILED, SKIPPED, SYMBOL, WORD, bars, pipeline
from .store import RequestView

STATE_STYLE = {"pending": "dim", "active": "bold reverse", "done": "green", "failed": "bold red", "skipped": "dim italic"}


class Pipeline(Static):
    """The stages in order, lighting up as the request reaches them."""

    def show(self, events: list[TraceEvent], title: str = "") -> None:
        text = Text()
        if title:
            text.append(title + "\n", style="bold")
        for i, chip in enumerate(pipeline(events)):
            if i:
                text.append(" → ", style="dim")
            style = STATE_STYLE[chip.state]
            text.append(f"{SYMBOL[chip.state]} {chip.label}", style=style)
            if chip.state in (FAILED, SKIPPED):
                text.append(f" [{WORD[chip.state]}{': ' + chip.note if chip.note else ''}]", style=style)
            elif chip.note:
                text.append(f" ({chip.note})", style="dim")
        if not events:
            text.append("\nNo request yet: press Enter to fire the step's request, or c to compose one.", style="dim")
        self.update(text)


class Waterfall(Static):
    """The request's events as nested bars with durations, like a network panel."""

    def show(self, events: list[TraceEvent], cursor: int) -> None:
        if not events:
            self.update(Text("The waterfall of the selected request appears here.", style="dim"))
            return
        total = max((events[-1].t_ns - events[0].t_ns) if len(events) > 1 else 1, 1)
        width = max(self.size.width - 44, 10)
        table = Table.grid(padding=(0, 1))
        table.add_column(width=30, no_wrap=True)
        table.add_column(width=width, no_wrap=True)
        table.add_column(width=10, justify="right", no_wrap=True)
        upto = events[cursor].seq if 0 <= cursor < len(events) else events[-1].seq
        for bar in bars(events):
            if bar.event.seq > upto:
                break
            ev = bar.event
            selected = ev.seq == upto or (bar.end_event is not None and bar.end_event.seq == upto)
            label = Text("│ " * min(bar.depth, 6), style="dim")
            label.append(ev.name, style="reverse" if selected else "")
            if bar.failed:
                label.append(" ✗", style="bold red")
            end = bar.end_ns if bar.end_ns is not None and (bar.end_event is None or bar.end_event.seq <= upto) else None
            left = int(width * bar.start_ns / total)
            if end is None and ev.kind == "start":
                span = max(width - left, 1)
                line = Text(" " * left + "░" * span, style=STAGE_STYLE.get(ev.stage, ""))
                took = "running"
            elif ev.kind == "point":
                line = Text(" " * min(left, width - 1) + "│", style=STAGE_STYLE.get(ev.stage, ""))
                took = f"@{bar.start_ns / 1e6:.2f}"
            else:
                span = max(int(width * ((end or bar.start_ns) - bar.start_ns) / total), 1)
                line = Text(" " * left + "█" * span, style=STAGE_STYLE.get(ev.stage, ""))
                took = f"{((end or 0) - bar.start_ns) / 1e6:.2f} ms"
            table.add_row(label, line, Text(took, style="dim"))
        self.update(table)


class DetailPane(Static):
    """The selected event: its explanation, its detail, and the code that ran."""

    def show(self, event: TraceEvent | None) -> None:
        if event is None:
            self.update(Text("Select an event (← →) to see what happened and why.", style="dim"))
            return
        head = Text()
        head.append(f"{event.stage} · {event.kind} · ", style=STAGE_STYLE.get(event.stage, ""))
        head.append(event.name, style="bold")
        head.append(f"   #{event.seq} of {event.request_id}\n", style="dim")
        head.append(event.explain + "\n")
        parts: list[Any] = [head]
        detail = dict(event.detail)
        if isinstance(detail.get("file"), str):
            detail["file"] = short_path(detail["file"])
        parts.append(Text(json.dumps(detail, indent=1, ensure_ascii=False, default=str)[:3000], style="dim"))
        source = source_snippet(event)
        if source is not None:
            parts.append(Text("\nThe code that ran:", style="bold"))
            parts.append(source)
        self.update(Group(*parts))


def short_path(path: str) -> str:
    """A path relative to the working folder when it is inside it (shorter, and the same on every machine)."""
    from pathlib import Path

    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return path


def source_snippet(event: TraceEvent, context: int = 4) -> Syntax | None:
    file, line = event.detail.get("file"), event.detail.get("line")
    if not file or not line:
        return None
    try:
        lines = [linecache.getline(file, n) for n in range(max(1, line - 1), line + context * 2)]
    except Exception:
        return None
    if not any(lines):
        return None
    return Syntax("".join(lines), "python", line_numbers=True, start_line=max(1, line - 1),
                  highlight_lines={line}, word_wrap=False)


class History(DataTable):
    """One row per request; selecting a row shows that request everywhere."""

    class Chosen(Message):
        def __init__(self, request_id: str) -> None:
            super().__init__()
            self.request_id = request_id

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns("id", "method", "path", "status", "ms")

    def upsert(self, view: RequestView) -> None:
        status = view.status
        cells = (
            view.request_id,
            view.method or ("LIFESPAN" if view.is_lifespan else ""),
            view.path[:60],
            Text(str(status) if status is not None else "…", style="bold red" if isinstance(status, int) and status >= 400 else ""),
            f"{view.duration_ms:.1f}" if view.duration_ms is not None else "…",
        )
        if view.request_id in self.rows:
            for col, value in zip(self.columns, cells, strict=False):
                self.update_cell(view.request_id, col, value)
        else:
            self.add_row(*cells, key=view.request_id)

    def drop(self, request_ids: list[str]) -> None:
        for rid in request_ids:
            if rid in self.rows:
                self.remove_row(rid)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self.post_message(self.Chosen(str(event.row_key.value)))
