"""The panes: pipeline, waterfall, detail, history. Each is fed a request's events.

Everything a client sent can reach a pane, so each shows it as ``rich.text.Text``
(never markup) of ``visible()`` text (never raw control or bidi characters).
"""

from __future__ import annotations

import json
import linecache
from typing import Any

from rich.console import Group
from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from ..events import TraceEvent
from ..sinks import STAGE_STYLE
from ..timeline import bars
from ..visible import visible
from .model import FAILED, SKIPPED, SYMBOL, WORD, pipeline
from .store import RequestView

STATE_STYLE = {"pending": "dim", "active": "bold reverse", "done": "green", "failed": "bold red", "skipped": "dim italic"}


class Pipeline(Static):
    """The stages in order, lighting up as the request reaches them."""

    def show(self, events: list[TraceEvent], title: str = "") -> None:
        text = Text()
        if title:
            text.append(visible(title) + "\n", style="bold")
        for i, chip in enumerate(pipeline(events)):
            if i:
                text.append(" → ", style="dim")
            style = STATE_STYLE[chip.state]
            text.append(f"{SYMBOL[chip.state]} {visible(chip.label)}", style=style)
            note = visible(chip.note)
            if chip.state in (FAILED, SKIPPED):
                text.append(f" [{WORD[chip.state]}{': ' + note if note else ''}]", style=style)
            elif note:
                text.append(f" ({note})", style="dim")
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
            label.append(visible(ev.name), style="reverse" if selected else "")
            if ev.detail.get("phase") == "teardown":
                label.append(" teardown", style="italic")
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
        head.append(visible(event.name), style="bold")
        head.append(f"   #{event.seq} of {visible(event.request_id)}\n", style="dim")
        head.append(visible(event.explain) + "\n")
        parts: list[Any] = [head]
        detail = dict(event.detail)
        if isinstance(detail.get("file"), str):
            detail["file"] = short_path(detail["file"])
        # JSON escapes C0 controls itself, not C1 or bidi; its newlines are the layout.
        dumped = json.dumps(detail, indent=1, ensure_ascii=False, default=str)[:3000]
        parts.append(Text(visible(dumped, newlines=True), style="dim"))
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


class History(ScrollView, can_focus=True):
    """One row per request, drawn straight from the store: only the visible rows cost anything.

    A DataTable re-laid out the whole table for every row it dropped, which
    under a burst starved the server of the shared GIL; this draws lines on
    demand (Textual's line API) and dropping the oldest requests is free.
    """

    BINDINGS = [
        Binding("up", "move(-1)", "Previous request", show=False),
        Binding("down", "move(1)", "Next request", show=False),
        Binding("pageup", "move(-10)", show=False),
        Binding("pagedown", "move(10)", show=False),
    ]

    class Chosen(Message):
        def __init__(self, request_id: str) -> None:
            super().__init__()
            self.request_id = request_id

    COLUMNS = ((9, "id"), (9, "method"), (0, "path"), (7, "status"), (8, "ms"))

    def __init__(self, store: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store = store
        self.selected: str | None = None

    # -- what tests and benchmarks read --------------------------------------
    @property
    def row_count(self) -> int:
        return len(self.store.order)

    def row_ids(self) -> list[str]:
        return list(self.store.order)

    def row_cells(self, request_id: str) -> list[str]:
        view = self.store.get(request_id)
        return self._cells(view) if view is not None else []

    # -- drawing --------------------------------------------------------------
    def sync(self, follow: bool) -> None:
        """The store changed: resize the virtual area, keep the newest row in view when following."""
        self.virtual_size = Size(self.size.width, len(self.store.order) + 1)
        if follow:
            self.scroll_end(animate=False, immediate=False)
        self.refresh()

    def select(self, request_id: str | None) -> None:
        if request_id != self.selected:
            self.selected = request_id
            self.refresh()

    @staticmethod
    def _cells(view: RequestView) -> list[str]:
        status = view.status
        return [
            visible(view.request_id),
            visible(view.method) or ("LIFESPAN" if view.is_lifespan else ""),
            visible(view.path),
            visible(status) if status is not None else "…",
            f"{view.duration_ms:.1f}" if view.duration_ms is not None else "…",
        ]

    def _layout(self, cells: list[str], width: int) -> str:
        fixed = sum(w + 1 for w, _ in self.COLUMNS if w)
        path_width = max(width - fixed, 8)
        out = []
        for (w, _), cell in zip(self.COLUMNS, cells, strict=True):
            w = w or path_width
            out.append(cell[:w].ljust(w))
        return " ".join(out)[:width].ljust(width)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            header = self._layout([name for _, name in self.COLUMNS], width)
            return Strip([Segment(header, Style(bold=True, reverse=True))])
        index = self.scroll_offset.y + y - 1
        order = self.store.order
        if index < 0 or index >= len(order):
            return Strip([Segment(" " * width)])
        rid = order[index]
        view = self.store.get(rid)
        if view is None:
            return Strip([Segment(" " * width)])
        cells = self._cells(view)
        status = view.status
        style = Style(reverse=True) if rid == self.selected else Style()
        if isinstance(status, int) and status >= 400:
            style += Style(color="red", bold=True)
        return Strip([Segment(self._layout(cells, width), style)])

    # -- choosing ---------------------------------------------------------------
    def _choose(self, index: int) -> None:
        order = self.store.order
        if not order:
            return
        index = max(0, min(index, len(order) - 1))
        self.select(order[index])
        self.scroll_to(y=max(0, index - self.size.height // 2), animate=False)
        self.post_message(self.Chosen(order[index]))

    def action_move(self, delta: int) -> None:
        order = self.store.order
        current = order.index(self.selected) if self.selected in order else len(order) - 1
        self._choose(current + delta)

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self._choose(self.scroll_offset.y + event.y - 1)
