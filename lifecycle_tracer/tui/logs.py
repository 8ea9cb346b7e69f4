"""The server's log inside the TUI: a log pane (l), and a failed request's traceback beside its trace.

``LogCapture`` (capture.py) takes in what the server and the app write while
the TUI runs; this shows it. Every line is the app's or the client's text:
it is shown through ``visible()``, as ``Text``, never as markup.
"""

from __future__ import annotations

import linecache
import time
from typing import Any

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual.message import Message
from textual.widgets import RichLog

from ..events import TraceEvent
from ..visible import visible
from .capture import LogCapture, LogEntry
from .panes import short_path
from .tracebacks import Failure, Frame, headline

FRAME = 1 / 30  # lines are shown at most once a frame, as events are
LEVEL_STYLE = {"CRITICAL": "bold red", "ERROR": "bold red", "WARNING": "yellow", "stderr": "yellow"}


class LogsArrived(Message):
    """The capture holds new lines; drain them."""


class LogPane(RichLog):
    """The server's log lines, newest last. Filled only while shown (hidden, it would only grow)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_lines=2000, wrap=True, markup=False, highlight=False, **kwargs)

    def add(self, entries: list[LogEntry]) -> None:
        for entry in entries:
            self.write(entry_text(entry), scroll_end=True)

    def text(self) -> str:
        """What the pane shows, as plain text (for tests)."""
        return "\n".join(line.text.rstrip() for line in self.lines)


def entry_text(entry: LogEntry) -> Text:
    text = Text(time.strftime("%H:%M:%S ", time.localtime(entry.time)), style="dim")
    text.append(f"{entry.level} ", style=LEVEL_STYLE.get(entry.level, "dim"))
    if entry.source:
        text.append(f"{visible(entry.source)} ", style="dim")
    if entry.request_id is not None:
        text.append(f"[{visible(entry.request_id)}] ", style="bold")
    text.append(visible(entry.text, newlines=True))
    if entry.failure is not None:
        for line in entry.failure.lines():
            text.append("\n" + visible(line))
    return text


def raised_name(event: TraceEvent) -> str | None:
    """The name of the exception this event says went by, if it says one did."""
    if event.stage == "exception":
        return event.name
    raised = event.detail.get("raised_name") or event.detail.get("raised")
    return str(raised).rpartition(".")[2] if raised else None


def failure_group(entry: LogEntry) -> Group:
    """A logged exception for the detail pane: what was raised, the line that raised it, the app's frames."""
    failure = entry.failure
    assert failure is not None
    parts: list[Any] = [Text(f"\nTraceback in the server's log ({visible(entry.source or entry.level)}):",
                             style="bold")]
    parts.append(Text(visible(headline(failure.raised)), style="bold red"))
    culprit = failure.culprit()
    if culprit is not None:
        parts.append(Text(f"raised at {visible(short_path(culprit.file))}:{culprit.line}, in "
                          f"{visible(culprit.func)}", style="dim"))
        snippet = raising_line(culprit)
        if snippet is not None:
            parts.append(snippet)
    parts.append(frames_text(failure))
    return Group(*parts)


def raising_line(frame: Frame, context: int = 2) -> Syntax | None:
    first = max(1, frame.line - context)
    lines = [linecache.getline(frame.file, n) for n in range(first, frame.line + context + 1)]
    if not lines[frame.line - first]:
        return None
    return Syntax("".join(lines), "python", line_numbers=True, start_line=first,
                  highlight_lines={frame.line}, word_wrap=True, dedent=True)


def frames_text(failure: Failure) -> Text:
    own = [f for raised in failure.chain for f in raised.frames if f.own]
    others: dict[str, None] = {}
    for raised in failure.chain:
        for f in raised.frames:
            if not f.own:
                others[f.module.partition(".")[0] or short_path(f.file)] = None
    text = Text()
    if own:
        text.append("Your code on the way, outermost first:\n", style="bold")
        for f in own:
            text.append(f"  {visible(short_path(f.file))}:{f.line} in {visible(f.func)}\n")
            if f.code:
                text.append(f"    {visible(f.code)}\n", style="dim")
    else:
        text.append("None of its frames is your app's code.\n", style="dim")
    hidden = sum(1 for raised in failure.chain for f in raised.frames if not f.own)
    if hidden:
        text.append(f"+ {hidden} frames of {visible(', '.join(others))}; l shows the whole traceback.",
                    style="dim")
    return text


class LogActions:
    """Mixed into TracerApp: the capture runs from the app's mount to its unmount.

    Textual calls the ``on_mount`` of every class of the app, TracerApp's
    first; that one only schedules the server's start (its worker runs once
    these handlers are done), so the capture is in place before the server
    writes anything. ``on_unmount`` runs after TracerApp's, which stops the
    server: its last lines are taken in too.
    """

    controller: Any
    selected: str | None
    log_capture: LogCapture | None = None
    logs_hinted = False  # the toast saying there is something in the log was shown

    def on_mount(self) -> None:
        app: Any = self
        self.log_capture = LogCapture(redact=getattr(self.controller, "redact", True),
                                      on_entry=lambda: app.post_message(LogsArrived()))
        self.log_capture.start()
        pane = LogPane(id="logs")
        pane.display = False
        app.mount(pane)

    def on_unmount(self) -> None:
        if self.log_capture is not None:
            self.log_capture.stop()

    def on_logs_arrived(self, _: LogsArrived) -> None:
        app: Any = self
        app.set_timer(FRAME, self._drain_logs)

    def _drain_logs(self) -> None:
        app: Any = self
        capture = self.log_capture
        if capture is None:
            return
        entries = capture.drain()
        panes = app.query(LogPane)
        if not entries or not panes:
            return
        pane = panes.first()
        if pane.display:
            pane.add(entries)
        elif not self.logs_hinted and any(e.failure is None or e.request_id is None for e in entries):
            # A failure of a request is shown beside its trace; anything else only here.
            self.logs_hinted = True
            app.notify("The server wrote to its log: press l to see it.", timeout=6)
        if any(e.failure is not None and e.request_id == self.selected for e in entries):
            app.refresh_request()

    def action_toggle_logs(self) -> None:
        app: Any = self
        pane = app.query_one(LogPane)
        pane.display = not pane.display
        if pane.display and self.log_capture is not None:
            self.logs_hinted = False
            pane.clear()
            pane.add(self.log_capture.take_all())

    def failure_view(self, event: TraceEvent | None) -> Group | None:
        """The traceback the server logged for the exception ``event`` says went by, if it logged one."""
        if event is None or self.log_capture is None:
            return None
        name = raised_name(event)
        if name is None:
            return None
        logged = self.log_capture.failures(event.request_id)
        entry = next((e for e in reversed(logged) if e.failure is not None and e.failure.raised.name == name), None)
        return failure_group(entry) if entry is not None else None
