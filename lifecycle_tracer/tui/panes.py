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
from ..sinks.console import MARKS
from ..visible import visible
from .model import travel_words
from .picture import pipeline_picture, waterfall_table
from .store import RequestView


class Pipeline(Static):
    """The lifecycle as explanations of FastAPI draw it: one row per stage inside the nested middleware.

    Until the learner opens the help (which explains every mark), a line of
    the legend sits under the picture.
    """

    legend = True
    empty = "No request yet."  # the app sets how a request arrives in its mode
    travel_words = staticmethod(travel_words)  # the status line's words for time travel

    def show(self, events: list[TraceEvent], title: str = "") -> None:
        self._shown = (events, title)
        self.update(pipeline_picture(events, title, self.size.width, legend=self.legend and bool(events),
                                     empty=self.empty))

    def legend_seen(self) -> None:
        self.legend = False
        self.show(*getattr(self, "_shown", ([], "")))

    def on_resize(self) -> None:
        # Rows are cut to the width: draw them again at the new one.
        self.show(*getattr(self, "_shown", ([], "")))


class Waterfall(Static):
    """The request's events as nested bars with durations, like a network panel."""

    def show(self, events: list[TraceEvent], cursor: int) -> None:
        if not events:
            self.update(Text("The waterfall of the selected request appears here.", style="dim"))
            return
        self._shown = (events, cursor)
        self.update(waterfall_table(events, cursor, self.size.width))

    def on_resize(self) -> None:
        # Bars and names are laid out to the width: a resize or the large layout must draw them again.
        shown = getattr(self, "_shown", None)
        if shown is not None:
            self.update(waterfall_table(shown[0], shown[1], self.size.width))


class DetailPane(Static):
    """The selected event: its explanation, the logged traceback of an exception it saw, its detail, the code that ran."""

    def show(self, event: TraceEvent | None) -> None:
        if event is None:
            self.update(Text("Select an event (← →) to see what happened and why.", style="dim"))
            return
        head = Text()
        # The marks of plain mode's lines, so a lesson's "the ■ response line" names this event here too.
        head.append(f"{MARKS.get(event.kind, '◆')} {event.stage} · {event.kind} · ", style=STAGE_STYLE.get(event.stage, ""))
        head.append(visible(event.name), style="bold")
        head.append(f"   #{event.seq + 1} of {visible(event.request_id)}\n", style="dim")  # from 1, as the status line counts
        head.append(visible(event.explain) + "\n")
        parts: list[Any] = [head]
        logged = getattr(self.app, "failure_view", None)  # the traceback the server logged, if it logged one
        if logged is not None and (failure := logged(event)) is not None:
            parts.append(failure)
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

    # On a narrow pane (100x30) the status and ms columns must stay: the other columns give way.
    NARROW = ((8, "id"), (4, "meth"), (0, "path"), (3, "st"), (6, "ms"))

    def _layout(self, cells: list[str] | None, width: int) -> str:
        """One row of ``cells``, or the header when ``cells`` is None."""
        columns = self.COLUMNS if width >= 48 else self.NARROW
        if cells is None:
            cells = [name for _, name in columns]
        fixed = sum(w + 1 for w, _ in columns if w)
        path_width = max(width - fixed, 8)
        out = []
        for (w, _), cell in zip(columns, cells, strict=True):
            w = w or path_width
            out.append(cell[:w].ljust(w))
        return " ".join(out)[:width].ljust(width)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style  # the theme's colours: a bare Segment would keep the terminal's own
        if y == 0:
            header = self._layout(None, width)
            return Strip([Segment(header, base + Style(bold=True, reverse=True))])
        index = self.scroll_offset.y + y - 1
        order = self.store.order
        if index < 0 or index >= len(order):
            return Strip([Segment(" " * width, base)])
        rid = order[index]
        view = self.store.get(rid)
        if view is None:
            return Strip([Segment(" " * width, base)])
        cells = self._cells(view)
        status = view.status
        style = base + (Style(reverse=True) if rid == self.selected else Style())
        if isinstance(status, int) and status >= 400:
            style += Style(color=self.app.current_theme.error or "red", bold=True)
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
        # Relative to the content, not the widget: the border above the header is a row of the widget.
        offset = event.get_content_offset(self)
        if offset is not None and offset.y >= 1:  # row 0 is the header
            self._choose(self.scroll_offset.y + offset.y - 1)
