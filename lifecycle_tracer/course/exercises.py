"""Exercises: where the learner's code sits in a lesson file, and its reference solution.

A lesson file marks each exercise's starting code with two comment lines::

    # ── exercise users-me: your code starts here ──
    ...
    # ── exercise users-me: your code ends here ──

The reference solution lives beside the lesson, in
``solutions/<the lesson's file name>``, or for a learner's copy (which `init`
makes without the solutions, so they stay unseen until asked) beside the
packaged lesson, holding the same markers around the
solved code (text outside the markers is commentary for the reader). The
solved lesson is the lesson file with each marked region's inside replaced by
the solution's: so a learner's copy, edited elsewhere, can still be checked
against the reference for the region the exercise is about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .loader import packaged_dir

_MARK = re.compile(r"^[ \t]*#\s*── exercise ([A-Za-z0-9_-]+): your code (starts|ends) here ──[ \t]*$", re.M)


class ExerciseError(Exception):
    """A lesson file whose markers or solution do not fit its exercises; the message says where."""


@dataclass(frozen=True)
class Region:
    name: str
    first: int  # 1-based line of the first line inside the markers
    last: int  # 1-based line of the last line inside (first - 1 when empty)
    start: int  # character offsets of the inside, for replacing it
    end: int


def regions(text: str, where: str = "the lesson") -> dict[str, Region]:
    """Every marked region of ``text`` by name; ``ExerciseError`` for unpaired or repeated markers."""
    found: dict[str, Region] = {}
    open_name: str | None = None
    open_at = 0
    for m in _MARK.finditer(text):
        name, edge = m.group(1), m.group(2)
        line = text.count("\n", 0, m.start()) + 1
        if edge == "starts":
            if open_name is not None:
                raise ExerciseError(f"{where}:{line}: exercise {name!r} starts before {open_name!r} ends.")
            if name in found:
                raise ExerciseError(f"{where}:{line}: exercise {name!r} is marked twice.")
            open_name, open_at = name, m.end() + 1
            continue
        if open_name != name:
            raise ExerciseError(f"{where}:{line}: the end of exercise {name!r} has no matching start line.")
        first = text.count("\n", 0, open_at) + 1
        found[name] = Region(name, first, line - 1, open_at, m.start())
        open_name = None
    if open_name is not None:
        raise ExerciseError(f"{where}: exercise {open_name!r} starts but never ends "
                            f"(add `# ── exercise {open_name}: your code ends here ──`).")
    return found


def solution_path(lesson_file: Path) -> Path:
    """The reference solution for a lesson file: beside it (an author's lessons), else the packaged one."""
    beside = lesson_file.parent / "solutions" / lesson_file.name
    return beside if beside.is_file() else packaged_dir() / "solutions" / lesson_file.name


def solution_regions(lesson_file: Path) -> tuple[str, dict[str, Region]]:
    path = solution_path(lesson_file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ExerciseError(f"{path}: the reference solution cannot be read ({exc.strerror or exc}).") from exc
    return text, regions(text, str(path))


def solved_text(lesson_text: str, lesson_file: Path, names: list[str]) -> str:
    """The lesson with each named region's starting code replaced by the reference solution's."""
    mine = regions(lesson_text, str(lesson_file))
    missing = [n for n in names if n not in mine]
    if missing:
        raise ExerciseError(f"{lesson_file}: no lines mark exercise {missing[0]!r} "
                            f"(`# ── exercise {missing[0]}: your code starts here ──`).")
    theirs_text, theirs = solution_regions(lesson_file)
    out, at = [], 0
    for region in sorted((mine[n] for n in set(names)), key=lambda r: r.start):
        if region.name not in theirs:
            raise ExerciseError(f"{solution_path(lesson_file)}: has no solution for exercise {region.name!r}.")
        other = theirs[region.name]
        out += [lesson_text[at:region.start], theirs_text[other.start:other.end]]
        at = region.end
    return "".join(out) + lesson_text[at:]


def where_to_edit(lesson_file: Path, name: str) -> str:
    """``lessons/lesson02_parameters.py, lines 38–47`` or, when the markers are gone, just the file."""
    try:
        region = regions(lesson_file.read_text(encoding="utf-8")).get(name)
    except (OSError, ExerciseError):
        region = None
    if region is None:
        return str(lesson_file)
    return f"{lesson_file}, lines {region.first}–{region.last}"


def solution_shown(lesson_file: Path, name: str) -> str:
    """The reference solution's code for one exercise, for `solution` and the TUI."""
    text, found = solution_regions(lesson_file)
    if name not in found:
        raise ExerciseError(f"{solution_path(lesson_file)}: has no solution for exercise {name!r}.")
    region = found[name]
    return text[region.start:region.end].rstrip("\n")
