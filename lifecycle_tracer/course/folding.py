"""Plain mode's folds: runs of trace lines a step does not look at, each said in one line.

Only what passed untouched is folded: a layer that answered by itself, an
exception passing out, a failed stage keep their own lines, whatever the step
looks at.
"""

from __future__ import annotations

import copy
from typing import Any

from rich.table import Table
from rich.text import Text

from ..sinks.console import EventLine
from ..timeline import held_ns


def fold_lines(lines: list[Any], step: Any) -> list[Any]:
    """The step's trace lines with the built-in layers folded and, if the step asks, the other unlooked stages."""
    lines = collapse_layers(lines, step.look_for)
    return fold_unlooked(lines, step.look_for) if getattr(step, "fold_rest", False) else lines


def fold_unlooked(lines: list[Any], look_for: Any) -> list[Any]:
    """Runs of two or more lines of stages the step does not look at, as one line naming those stages."""
    def quiet(line: Any) -> bool:
        if not isinstance(line, EventLine) or line.highlight or line.event.stage in ("request", "middleware"):
            return False
        d = line.event.detail
        return d.get("ok") is not False and "raised" not in d and line.event.stage != "exception"

    out: list[Any] = []
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and quiet(lines[j]):
            j += 1
        if j - i >= 2:
            out.append(_stages_folded(lines[i:j]))
            i = j
            continue
        out.append(lines[i])
        i += 1
    return out


def _stages_folded(run: list[Any]) -> Any:
    first = run[0]
    stages = list(dict.fromkeys(line.event.stage for line in run))
    grid = _grid()
    ms = (first.event.t_ns - held_ns(first.event) - first.t0) / 1e6
    grid.add_row(Text(f"{ms:.3f} ms", style="dim"), Text("·" * min(first.indent, EventLine.MAX_INDENT) + "…", style="dim"),
                 Text(f"{', '.join(stages)}: {len(run)} lines this step does not look at", style="dim"))
    return grid


def _grid() -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", width=10, no_wrap=True)
    grid.add_column(no_wrap=True, width=EventLine.MAX_INDENT + 16)
    grid.add_column(ratio=1)
    return grid


def collapse_layers(lines: list[Any], look_for: Any) -> list[Any]:
    """Runs of the built-in layers a step does not look at, as one line in and one out.

    Only layers that passed the request on and back untouched are folded: a layer that answered by
    itself, or that an exception passed out of, keeps its own line.
    """
    if any(x == "middleware" or x.startswith("middleware:") for x in look_for):
        return lines

    # The end of a layer does not repeat that it is built in; its start said so.
    builtin = {line.event.name for line in lines if isinstance(line, EventLine) and line.event.stage == "middleware"
               and line.event.kind == "start" and line.event.detail.get("builtin")}

    def plain_layer(line: Any) -> bool:
        if not isinstance(line, EventLine) or line.event.stage != "middleware" or line.event.name not in builtin:
            return False
        d = line.event.detail
        return not d.get("raised_name") and d.get("called_next") is not False

    out: list[Any] = []
    folded_in: list[str] = []
    squeezed: list[tuple[int, int]] = []  # the folds open here: (the outermost layer's depth, how many layers)
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and plain_layer(lines[j]) and lines[j].event.kind == lines[i].event.kind:
            j += 1
        if j - i >= 2:
            # Drawn at the outermost folded layer's depth, both ways, with its time: in first, out last.
            going_in = lines[i].event.kind == "start"
            names = [line.event.name for line in lines[i:j]]
            folded_in = names if going_in else folded_in
            apart = [n for n in folded_in if n not in names] if not going_in else []
            first = lines[i] if going_in else lines[j - 1]
            out.append(_folded(first, j - i, apart, _squeeze(first.indent, squeezed)))
            if going_in:
                squeezed.append((first.indent, j - i))
            elif squeezed:
                squeezed.pop()
            i = j
            continue
        line = lines[i]
        if squeezed and isinstance(line, EventLine):
            line = copy.copy(line)
            line.indent = _squeeze(line.indent, squeezed)
        out.append(line)
        i += 1
    return out


def _squeeze(depth: int, squeezed: list[tuple[int, int]]) -> int:
    """A depth once each fold's layers count as one level: a fold of 5 layers is one line, so what it
    wraps is drawn one · deeper than that line, not five."""
    shrink = 0
    for outer, count in squeezed:
        if depth >= outer + count:
            shrink += count - 1
        elif depth >= outer:
            shrink += depth - outer  # a folded layer that ended on its own line: at the fold's depth
    return depth - shrink


def _folded(first: Any, count: int, apart: list[str] | None = None, indent: int | None = None) -> Any:
    """One line for ``count`` built-in layers, laid out as an event line is.

    ``apart``: layers folded on the way in that ended on lines of their own, above.
    """
    ev = first.event
    way = "in" if ev.kind == "start" else "out"
    grid = _grid()
    ms = (ev.t_ns - held_ns(ev) - first.t0) / 1e6
    stage = Text("·" * min(first.indent if indent is None else indent, EventLine.MAX_INDENT), style="dim")
    stage.append(f"{'▶' if way == 'in' else '■'} middleware", style="dim")
    grid.add_row(Text(f"{ms:.3f} ms", style="dim"), stage,
                 # When some layers ended on lines of their own above, this line holds "the other" ones.
                 Text(f"{'the other ' if apart else ''}{count} built-in layers, on the way {way}", style="dim"))
    return grid
