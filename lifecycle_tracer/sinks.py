"""Sinks: one-method objects that receive events.

A sink's ``emit`` runs on whichever thread produced the event (the event
loop, a threadpool worker), inside the request. Keep it quick; the tracer
catches and logs anything it raises.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.text import Text

from .events import TraceEvent


class Recorder:
    """Keeps every event in the order it was emitted.

    ``max_events`` bounds memory for long sessions: past it, the oldest
    quarter is dropped (whole requests' worth, oldest first).
    """

    def __init__(self, max_events: int | None = None) -> None:
        self.events: list[TraceEvent] = []
        self.max_events = max_events
        self._completed: list[str] = []
        self._lock = threading.RLock()  # re-entrant: wait_for predicates may call by_request()
        self._cond = threading.Condition(self._lock)

    def emit(self, event: TraceEvent) -> None:
        with self._cond:
            self.events.append(event)
            if event.stage == "request" and event.kind == "end" and event.detail.get("type") != "lifespan":
                self._completed.append(event.request_id)
            if self.max_events is not None and len(self.events) > self.max_events:
                del self.events[: len(self.events) // 4]
            self._cond.notify_all()

    def by_request(self) -> dict[str, list[TraceEvent]]:
        """Events grouped by request id, requests in arrival order, each in ``seq`` order."""
        with self._lock:
            events = list(self.events)
        groups: OrderedDict[str, list[TraceEvent]] = OrderedDict()
        for ev in events:
            groups.setdefault(ev.request_id, []).append(ev)
        return {rid: sorted(evs, key=lambda e: e.seq) for rid, evs in groups.items()}

    def clear(self) -> None:
        with self._lock:
            self.events.clear()
            self._completed.clear()

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> bool:
        """Block until ``predicate(events)`` is true; for code off the event loop."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.events), timeout)

    def completed(self) -> list[str]:
        """Ids of requests (and WebSocket connections) whose final event has arrived.

        The app's lifespan startup and shutdown are traced too, but are not requests.
        """
        with self._lock:
            return list(self._completed)

    def completed_count(self) -> int:
        with self._lock:
            return len(self._completed)


class JsonLinesSink:
    """Writes each event as one JSON object per line."""

    def __init__(self, target: str | Path | IO[str]) -> None:
        self._lock = threading.Lock()
        if isinstance(target, str | Path):
            self._file: IO[str] = open(target, "a", encoding="utf-8")  # noqa: SIM115
            self._owned = True
        else:
            self._file = target
            self._owned = False

    def emit(self, event: TraceEvent) -> None:
        line = json.dumps(event.to_dict(), ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._owned:
                self._file.close()


def read_jsonl(path: str | Path) -> list[TraceEvent]:
    events = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    events.append(TraceEvent.from_dict(json.loads(line)))
                except (ValueError, TypeError, KeyError) as exc:
                    raise ValueError(f"{path}:{n}: not a trace event ({exc})") from exc
    return events


STAGE_STYLE = {
    "request": "bold white",
    "middleware": "magenta",
    "routing": "cyan",
    "dependency": "blue",
    "validation": "yellow",
    "endpoint": "bold green",
    "serialization": "green",
    "response": "bold white",
    "background": "dim cyan",
    "exception": "bold red",
    "websocket": "cyan",
}
_MARK = {"start": "▶", "end": "■", "point": "•"}


class EventLine:
    """A rich renderable for one event: time, stage, name and explanation.

    Never colour alone: a failure also gets a word (FAILED, ERROR).
    """

    MAX_INDENT = 4

    def __init__(self, event: TraceEvent, t0: int, indent: int = 0, highlight: bool = False) -> None:
        self.event = event
        self.t0 = t0
        self.indent = indent
        self.highlight = highlight

    def __rich_console__(self, console: Console, options: Any) -> Any:
        from rich.table import Table

        ev = self.event
        ms = (ev.t_ns - self.t0) / 1e6
        failed = ev.detail.get("ok") is False or ("raised" in ev.detail and not ev.detail.get("passes_up"))
        style = STAGE_STYLE.get(ev.stage, "")
        grid = Table.grid(padding=(0, 1))
        grid.add_column(justify="right", width=10, no_wrap=True)
        grid.add_column(no_wrap=True, width=2 * self.MAX_INDENT + 15)
        grid.add_column(ratio=1)
        stage = Text("  " * min(self.indent, self.MAX_INDENT))
        stage.append(f"{_MARK.get(ev.kind, '•')} {ev.stage}", style=style)
        head = Text(ev.name, style="bold reverse" if self.highlight else "bold")
        if ev.stage == "exception":
            head.append("  ✗ ERROR", style="bold red")
        elif failed:
            head.append("  ✗ FAILED", style="bold red")
        if self.highlight:
            head.append("  ◀ look", style="bold yellow")
        head.append("\n")
        head.append(ev.explain, style="default")
        grid.add_row(Text(f"{ms:.3f} ms", style="dim"), stage, head)
        yield grid


def nested(events: list[TraceEvent], look_for: tuple[str, ...] = ()) -> list[EventLine]:
    """One request's events as lines indented by how deeply they nest."""
    if not events:
        return []
    t0 = events[0].t_ns
    depth = 0
    lines = []
    for ev in events:
        if ev.kind == "end":
            depth = max(depth - 1, 0)
        lines.append(EventLine(ev, t0, depth, highlight=ev.stage in look_for))
        if ev.kind == "start":
            depth += 1
    return lines


class ConsoleSink:
    """Prints each event as it happens with rich, indented by nesting."""

    def __init__(self, console: Console | None = None, show_request: bool = False) -> None:
        self.console = console or Console()
        self.show_request = show_request
        self._t0: dict[str, int] = {}
        self._depth: dict[str, int] = {}
        self._lock = threading.Lock()

    def emit(self, event: TraceEvent) -> None:
        with self._lock:
            rid = event.request_id
            t0 = self._t0.setdefault(rid, event.t_ns)
            depth = self._depth.get(rid, 0)
            if event.kind == "end":
                depth = max(depth - 1, 0)
            if self.show_request and event.stage == "request" and event.kind == "start":
                self.console.print(Text(f"── {rid}: {event.name}", style="bold"))
            self.console.print(EventLine(event, t0, depth))
            if event.kind == "start":
                depth += 1
            self._depth[rid] = depth
            if event.stage == "request" and event.kind == "end":
                self._t0.pop(rid, None)
                self._depth.pop(rid, None)
