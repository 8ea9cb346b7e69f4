"""Events as rich text: ``EventLine`` for one event, ``nested`` for a request, ``ConsoleSink`` live."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from ..events import TraceEvent
from ..timeline import held_ns
from ..visible import visible
from .offthread import OffThreadSink

# No white (unreadable on a light theme) and no magenta (some palettes, Textual's dark one
# among them, draw it as their red, which is kept for failures).
STAGE_STYLE = {
    "request": "bold",
    "middleware": "#8787d7",
    "routing": "cyan",
    "dependency": "blue",
    "validation": "yellow",
    "endpoint": "bold green",
    "serialization": "green",
    "response": "bold",
    "background": "dim cyan",
    "exception": "bold red",
    "websocket": "cyan",
}
# A moment is ◆, not •: after the depth dots, "··•" read as three dots to a newcomer.
MARKS = {"start": "▶", "end": "■", "point": "◆"}
# How to read the lines ``EventLine`` draws: said once, before the first trace a reader meets.
LEGEND = ("How to read a trace: ▶ a stage starts, ■ it ends, ◆ a single moment; more dots, deeper inside; "
          "◀ look marks what the step explains; times count from the request's arrival.")
# The rarer marks, said the first time a trace shows one (plain mode), not all before any trace.
MARK_WORDS = {
    "↯": "↯ marks an exception, and ↑ a layer it passed out through",
}


def end_outcome(detail: dict[str, Any]) -> str | None:
    """How a request's end event says it went: the status sent, ok or failed for an app's startup or
    shutdown, a WebSocket's close code when it had no status; None when the end holds none of these."""
    code, close = detail.get("status_code"), detail.get("close_code")
    if type(code) is int:
        return str(code)
    if detail.get("type") == "lifespan" and type(detail.get("ok")) is bool:
        return "ok" if detail["ok"] else "failed"
    return f"closed {close}" if type(close) is int else None


class EventLine:
    """A rich renderable for one event: time, stage, name and explanation.

    Never colour alone: a failure also gets a word (FAILED, ERROR). Names and
    explanations carry request data, so they are shown through ``visible()``.
    """

    # Deep enough for a stack of a dozen layers at one column a level; deeper still, the level
    # is written as a number, so depth can always be read (lesson 6 asks for it).
    MAX_INDENT = 12

    def __init__(self, event: TraceEvent, t0: int, indent: int = 0, highlight: bool = False,
                 explain: bool = True) -> None:
        self.event = event
        self.t0 = t0
        self.indent = indent
        self.highlight = highlight
        self.explain = explain  # False: the same sentence was shown already, just above

    def __rich_console__(self, console: Console, options: Any) -> Any:
        from rich.table import Table

        ev = self.event
        ms = (ev.t_ns - held_ns(ev) - self.t0) / 1e6  # step mode's holds left out
        failed = ev.detail.get("ok") is False or ("raised" in ev.detail and not ev.detail.get("passes_up"))
        style = STAGE_STYLE.get(ev.stage, "")
        grid = Table.grid(padding=(0, 1))
        grid.add_column(justify="right", width=10, no_wrap=True)
        grid.add_column(no_wrap=True, width=self.MAX_INDENT + 16)
        grid.add_column(ratio=1)
        if self.indent <= self.MAX_INDENT:
            stage = Text("·" * self.indent, style="dim")
        else:
            stage = Text(f"{self.indent}:".rjust(self.MAX_INDENT), style="dim")
        stage.append(f"{MARKS.get(ev.kind, '◆')} {ev.stage}", style=style)
        name = ev.name
        if ev.stage == "request" and ev.kind == "end" and name == "request":
            # What the end says tells more than the stage's name again ("■ request  request").
            name = end_outcome(ev.detail) or name
        head = Text(visible(name), style="bold reverse" if self.highlight else "bold")
        if ev.stage == "exception" and ev.detail.get("handled"):
            # A handler answered: an exception on its way to a response, not a crash.
            head.append("  ↯ raised, handled", style="bold yellow")
        elif ev.stage == "exception":
            head.append("  ✗ ERROR: no handler", style="bold red")
        elif ev.stage == "middleware" and ev.kind == "end" and ev.detail.get("raised_name"):
            head.append(f"  ↑ {visible(ev.detail['raised_name'])} passed out", style="bold yellow")
        elif failed:
            head.append("  ✗ FAILED", style="bold red")
        if self.highlight:
            head.append("  ◀ look", style="bold yellow")
        if self.explain:
            head.append("\n")
            head.append(visible(ev.explain), style="default")
        grid.add_row(Text(f"{ms:.3f} ms", style="dim"), stage, head)
        yield grid


def nested(events: list[TraceEvent], look_for: tuple[str, ...] = (),
           said: set[str] | None = None, t0: int | None = None) -> list[EventLine]:
    """One request's events as lines indented by how deeply they nest.

    Given ``said`` (the sentences shown so far, which it adds to), a sentence
    already shown is not repeated: the built-in layers are explained once per
    lesson, not once per request, and a layer's sentence that only another
    layer's name sets apart from one shown is not repeated either. Times count from ``t0`` (a ``t_ns``), by
    default the request's first event; requests that ran at the same time
    share one ``t0`` so their times can be compared.
    """
    if not events:
        return []
    t0 = events[0].t_ns if t0 is None else t0
    depth = 0
    lines = []
    for ev in events:
        if ev.kind == "end":
            depth = max(depth - 1, 0)
        named = bool(look_for) and f"{ev.stage}:{ev.name}" in look_for
        look = named or ev.stage in look_for or f"{ev.stage}.{ev.kind}" in look_for
        fresh = True
        if said is not None:
            # A lesson's step names what to look at: only those stages are explained there, so the
            # reader's attention goes where the step points (the other lines still show, without words).
            if look_for and not look:
                lines.append(EventLine(ev, t0, depth, highlight=False, explain=False))
                if ev.kind == "start":
                    depth += 1
                continue
            sentence = ev.explain
            fresh = sentence not in said
            said.add(sentence)
            if ev.stage == "middleware" and ev.name and not named:
                # A layer's sentence that differs from one shown already only by the layer's name
                # ("X ends, after every layer inside it") is said once, not once per layer; a layer
                # the step names is the one it is about, so its sentence is always said.
                shape = "\x00" + sentence.replace(ev.name, "\x01")
                fresh = fresh and shape not in said
                said.add(shape)
        lines.append(EventLine(ev, t0, depth, highlight=look, explain=fresh))
        if ev.kind == "start":
            depth += 1
    return lines


class ConsoleSink(OffThreadSink):
    """Prints each event as it happens with rich, indented by nesting.

    Rendering and printing happen on the sink's writer thread (see
    ``OffThreadSink``), in emit order; ``flush()`` waits until everything
    emitted so far is printed.
    """

    def __init__(self, console: Console | None = None, show_request: bool = False) -> None:
        self.console = console or Console()
        self.show_request = show_request
        # Only the writer thread touches these.
        self._t0: dict[str, int] = {}
        self._depth: dict[str, int] = {}
        super().__init__()

    def _write(self, event: TraceEvent) -> None:
        rid = event.request_id
        t0 = self._t0.setdefault(rid, event.t_ns)
        depth = self._depth.get(rid, 0)
        if event.kind == "end":
            depth = max(depth - 1, 0)
        if self.show_request and event.stage == "request" and event.kind == "start":
            self.console.print(Text(visible(f"── {rid}: {event.name}"), style="bold"))
        self.console.print(EventLine(event, t0, depth))
        if event.kind == "start":
            depth += 1
        self._depth[rid] = depth
        if event.stage == "request" and event.kind == "end":
            self._t0.pop(rid, None)
            self._depth.pop(rid, None)
