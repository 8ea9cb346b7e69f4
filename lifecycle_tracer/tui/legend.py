"""What the pipeline's and the waterfall's marks mean: one line under the pipeline at first, all of it in help."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

LEGEND_MARKS = ("✓ done", "◉ running", "○ not yet", "✗ failed", "– skipped", "◐ stopped", "? more")

PIPELINE_MARKS = (
    ("✓", "done: the stage ran and finished"),
    ("◉", "running: the stage began and has not finished yet"),
    ("○", "not yet: the request has not reached the stage (yet)"),
    ("✗ FAILED", "the stage raised, or turned the request down; the words say how"),
    ("– skipped", "the request finished without the stage running; the words say why"),
    ("◐ stopped", "the stage began but never finished: an exception passed out through it, or FastAPI stopped "
                  "solving the request's parameters part-way"),
    ("┌ │", "a middleware layer: it wraps every row below it, so the request goes in through the layers "
            "from the top (the outermost first)"),
    ("└┴▶ client", "the response comes back out through the same layers to the client"),
    ("▼ ▲", "in step mode and time travel, the highlighted row is where the request is; on a layer, ▼ on "
            "its way in, ▲ back out"),
)
WATERFALL_MARKS = (
    ("█", "a span: how long a stage (or layer) took, from its start to its end"),
    ("░  running", "a span that has begun and not ended yet"),
    ("│  at 0.36 ms", "a moment (a point event, such as routing's match), in ms from the request's start"),
    ("7│", "a depth too deep for the column is written as a number: the row is nested that many levels"),
    ("‖", "step mode held the request here: the hold is left out of the times"),
)
TRAVEL = (
    ("← →", "time travel: move through the request's events one at a time; every pane shows that moment"),
    ("event N of M", "the status line's count, from 1; the detail pane's #N is the same event"),
    ("End", "back to the live end of the request (the newest event)"),
    ("▶ ■ ◆", "the detail pane's event: ▶ starts a stage, ■ ends it, ◆ is a single moment (the same marks as "
              "the lines of --plain, which the lessons' texts speak of)"),
)


def legend() -> Table:
    """The whole key, as the help screen shows it."""
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, style="bold")
    table.add_column()
    for title, rows in (("The pipeline", PIPELINE_MARKS), ("The waterfall", WATERFALL_MARKS),
                        ("Time travel", TRAVEL)):
        table.add_row(Text(title, style="bold underline"), "")
        for mark, words in rows:
            table.add_row(mark, words)
    return table
