"""The lifecycle as it is drawn in explanations of FastAPI, one row per stage, as rich text.

The middleware layers nest: the request goes in down their rails (outermost
first) to the stages inside them, and the response comes back out along the
bottom line to the client. Rows are cut to the pane's width; a failure's
words wrap instead, so what went wrong is never cut off.
"""

from __future__ import annotations

import textwrap

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..events import TraceEvent
from ..timeline import bars, held_between, held_words, ran_ns
from ..visible import visible
from .legend import LEGEND_MARKS
from .model import (
    ACTIVE,
    FAILED,
    PENDING,
    SKIPPED,
    STOPPED,
    SYMBOL,
    WORD,
    Chip,
    layer_label,
    lifespan_line,
    outcome,
    pipeline,
)

STATE_STYLE = {PENDING: "dim", ACTIVE: "bold", "done": "green", FAILED: "bold red", SKIPPED: "italic", STOPPED: "yellow"}
WORDED = (FAILED, SKIPPED, STOPPED)  # never colour alone: these states also say their word
# Bars in colours of their own, never an ANSI name: Textual's dark ANSI palette draws magenta as
# its red, and red is for failures only. These read on the dark, light and high-contrast themes.
BAR_STYLE = {
    "request": "#93a1a1", "middleware": "#8c7ae6", "routing": "#2aa198", "dependency": "#4a9eda",
    "validation": "#c9a100", "endpoint": "#7fa800", "serialization": "#3fb8a0", "response": "#93a1a1",
    "background": "#7f8c8d", "exception": "#dc322f", "websocket": "#2aa198",
}
FAILED_BAR = "#dc322f"
TOOK_WIDTH = 12  # "at 123.45 ms"


def _cut(text: Text, width: int) -> Text:
    if width > 0 and text.cell_len > width:
        text.truncate(width, overflow="ellipsis")
    return text


def _row(rails: str, chip: Chip, width: int) -> list[Text]:
    """A stage's row: its rails, symbol and name, then its state's word and note; a failure wraps."""
    style = STATE_STYLE[chip.state]
    if chip.current:
        style += " reverse"
    note = visible(chip.note)
    head = f"{SYMBOL[chip.state]} {visible(chip.label)}"
    detail = f" ({visible(chip.detail)})" if chip.detail else ""  # the class a function middleware runs in
    tail = f" {WORD[chip.state]}{': ' + note if note else ''}" if chip.state in WORDED else (f" {note}" if note else "")
    if chip.state == FAILED and width > 0 and len(rails + head + detail + tail) > width:
        # What failed is the one thing never cut off: its words go on under it (four rows at most).
        room = max(width - len(rails) - 2, 8)
        first = max(width - len(rails + head + detail), 0)
        cut = max(tail.rfind(" ", 0, first + 1), 0) if first else 0
        rest = textwrap.wrap(tail[cut:].strip(), room, break_on_hyphens=False)
        rest = rest[:2] + [" ".join(rest[2:])] if len(rest) > 3 else rest
        under = rails[:-2] + "│   " if rails.endswith(("┌ ", "▼ ", "▲ ")) else rails + "  "
        lines = [_cut(Text.assemble((rails, "dim"), (head, style), (detail, "dim"), (tail[:cut], style)), width)]
        return lines + [_cut(Text.assemble((under, "dim"), (line, style)), width) for line in rest if line]
    return [_cut(Text.assemble((rails, "dim"), (head, style), (detail, "dim"),
                               (tail, style if chip.state in WORDED else "dim")), width)]


def pipeline_picture(events: list[TraceEvent], title: str, width: int, legend: bool = False,
                     empty: str = "No request yet.") -> Text:
    """The request's stages after ``events`` (a prefix of it), drawn to fit ``width`` columns.

    ``empty`` is what it says before any request: how one arrives depends on the mode.
    """
    if not events:
        return Text(visible(empty), style="dim")
    if events[0].detail.get("type") == "lifespan":
        return Text(visible(lifespan_line(events)), style="bold")
    chips = pipeline(events)
    layers = [c for c in chips if c.key.startswith("mw:")]
    core = [c for c in chips if c.key not in ("client",) and not c.key.startswith("mw:")]
    lines = [_cut(Text.assemble(("client ▼ ", "dim"), (visible(title), "bold")), width)]
    last = events[-1]
    for i, chip in enumerate(layers):
        # The request at this layer: on its way in (its start) or back out (its end).
        corner = ("▼ " if last.kind == "start" else "▲ ") if chip.current else "┌ "
        lines += _row("│" * i + corner, chip, width)
    inside = "│" * len(layers) + " "
    said = ""
    for chip in core:
        if chip.key == "background" and chip.state in (PENDING, SKIPPED):
            continue  # shown only when the endpoint scheduled a task
        if chip.state == SKIPPED and chip.note == said and ": " in said:
            chip.note = said.split(": ", 1)[0]  # the reason was given on the row above
        else:
            said = chip.note if chip.state == SKIPPED else ""
        lines += _row(inside, chip, width)
    state, words = outcome(events)
    close = ("└" + "┴" * (len(layers) - 1) if layers else "└") + "▶ client "
    lines.append(_cut(Text.assemble((close, "dim"), (f"{SYMBOL[state]} {visible(words)}", STATE_STYLE[state])), width))
    if legend:
        lines += [Text(line, style="dim italic") for line in legend_lines(width)]
    return Text("\n").join(lines)


def legend_lines(width: int) -> list[str]:
    """The legend's line, wrapped between its marks, never between a mark and its word (two rows at most)."""
    for marks in (LEGEND_MARKS, [mark.replace(" ", "", 1) for mark in LEGEND_MARKS]):
        lines = [""]
        for mark in marks:
            if lines[-1] and width > 0 and len(lines[-1]) + 1 + len(mark) > width:
                lines.append("")
            lines[-1] += (" " if lines[-1] else "") + mark
        if len(lines) <= 2:
            break
    return lines


# -- the waterfall -------------------------------------------------------------------------------


def _bar_label(event: TraceEvent) -> tuple[str, str]:
    if event.stage == "middleware":
        return layer_label(event)
    return event.name, ""


def _rails(depth: int, most: int) -> str:
    # Past what the column can hold, the depth is written as a number: it can always be read.
    return "│" * depth if depth <= most else f"{depth}│".rjust(most)


def waterfall_table(events: list[TraceEvent], cursor: int, width: int) -> RenderableType:
    """One row per event up to the cursor: nested names, a bar in time, and how long it took."""
    total = max(ran_ns(events), 1)  # step mode's holds left out: the request's own time
    upto = events[cursor].seq if 0 <= cursor < len(events) else events[-1].seq
    shown = [bar for bar in bars(events) if bar.event.seq <= upto]
    names = [_bar_label(bar.event) for bar in shown]
    needed = max((bar.depth + len(name) + len(detail) + 6 for bar, (name, detail) in zip(shown, names, strict=True)),
                 default=10)
    width = width if width > 0 else 100
    label_w = min(needed, max(int(width * 0.55), 16))
    bar_w = width - label_w - TOOK_WIDTH - 2
    if bar_w < 8:  # too narrow for bars to say anything: names and times only
        label_w, bar_w = width - TOOK_WIDTH - 1, 0
    most = max(label_w // 3, 4)
    table = Table.grid(padding=(0, 1))
    table.add_column(width=label_w, no_wrap=True, overflow="ellipsis")
    if bar_w:
        table.add_column(width=bar_w, no_wrap=True)
    table.add_column(width=TOOK_WIDTH, justify="right", no_wrap=True)
    for bar, (name, detail) in zip(shown, names, strict=True):
        ev = bar.event
        selected = ev.seq == upto or (bar.end_event is not None and bar.end_event.seq == upto)
        label = Text(_rails(bar.depth, most), style="dim")
        label.append(visible(name), style="reverse" if selected else "")
        if ev.detail.get("phase") == "teardown":
            label.append(" teardown", style="italic")
        if bar.failed:
            label.append(" ✗", style="bold red")
        if detail:
            label.append(f" ({visible(detail)})", style="dim")
        end = bar.end_ns if bar.end_ns is not None and (bar.end_event is None or bar.end_event.seq <= upto) else None
        colour = FAILED_BAR if bar.failed else BAR_STYLE.get(ev.stage, "")
        left = int(bar_w * bar.start_ns / total)
        if end is None and ev.kind == "start":
            line = Text(" " * left + "░" * max(bar_w - left, 1), style=colour)
            took = "running"
        elif ev.kind == "point":
            line = Text(" " * min(left, bar_w - 1) + "│", style=colour)
            took = f"at {bar.start_ns / 1e6:.2f} ms"
        else:
            line = Text(" " * left + "█" * max(int(bar_w * ((end or bar.start_ns) - bar.start_ns) / total), 1), style=colour)
            took = f"{((end or 0) - bar.start_ns) / 1e6:.2f} ms" + (" ‖" if bar.held_ns else "")
        cells = [label, line] if bar_w else [label]
        table.add_row(*cells, Text(took, style="dim"))
    held = held_between(events)
    return Group(Text(f"‖ {held_words(held)}, left out of these times", style="dim"), table) if held else table
