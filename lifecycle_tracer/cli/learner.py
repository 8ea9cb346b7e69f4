"""The learner's commands outside a run: ``list``, ``hint``, ``solution`` and ``glossary``."""

from __future__ import annotations

import os
from typing import Any

from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text

from .commands import EXIT_OK, fail


def _exercise(lesson: str, number: int | None) -> tuple[Any, int, Any] | int:
    """(loaded lesson, step number, exercise), or the exit code after saying what is wrong."""
    from ..course.loader import LessonError, find, load

    try:
        loaded = load(find(lesson))
    except LessonError as exc:
        return fail(str(exc))
    exercises = loaded.lesson.exercises
    if not exercises:
        return fail(f"{loaded.lesson.id} has no exercise; lessons from 2 on end with one.")
    if number is None:
        number = 1
    if not 1 <= number <= len(exercises):
        return fail(f"{loaded.lesson.id} has {len(exercises)} exercise(s); pick --exercise from 1 to {len(exercises)}.")
    step, exercise = exercises[number - 1]
    return loaded, step, exercise


def hint(lesson: str, number: int | None) -> int:
    """One more hint each time it is asked, remembered with the learner's progress."""
    from ..course.progress import Progress

    found = _exercise(lesson, number)
    if isinstance(found, int):
        return found
    loaded, step, exercise = found
    shown = Progress().next_hint(loaded.lesson.id, step, len(exercise.hints))
    console = Console(highlight=False, soft_wrap=True)
    console.print(Text(f"{loaded.lesson.id}, exercise: {exercise.title}", style="bold"))
    for i, text in enumerate(exercise.hints[:shown], 1):
        console.print(Text(f"Hint {i} of {len(exercise.hints)}: ", style="bold yellow") + Text(text))
    left = len(exercise.hints) - shown
    more = f"Ask again for the next hint ({left} left)." if left else \
        f"That was the last hint; `lifecycle-tracer solution {loaded.lesson.id}` shows one way to solve it."
    console.print(Text(more, style="dim"))
    return EXIT_OK


def solution(lesson: str, number: int | None) -> int:
    from ..course.exercises import ExerciseError, solution_path, solution_shown, where_to_edit

    found = _exercise(lesson, number)
    if isinstance(found, int):
        return found
    loaded, _, exercise = found
    try:
        code = solution_shown(loaded.file.path, exercise.region)
    except ExerciseError as exc:
        return fail(str(exc))
    console = Console(highlight=False, soft_wrap=True)
    console.print(Text(f"One way to solve “{exercise.title}” ({loaded.lesson.id}), from "
                       f"{solution_path(loaded.file.path)}:", style="bold"))
    console.print(Syntax(code, "python", theme="ansi_dark", background_color="default"))
    console.print(Text(f"It replaces the code in {where_to_edit(loaded.file.path, exercise.region)}.", style="dim"))
    return EXIT_OK


def glossary(term: str | None) -> int:
    from ..explain.glossary import GLOSSARY, avoided, lookup

    console = Console(highlight=False, soft_wrap=True)
    entries = GLOSSARY if term is None else lookup(term)
    if not entries:
        return fail(f"The glossary has no entry for {term!r}; run `lifecycle-tracer glossary` to see every term.")
    if term is not None and term.strip().lower() in avoided():
        console.print(Text(f"This tool says “{avoided()[term.strip().lower()]}” for “{term.strip()}”:", style="dim"))
    for entry in entries:
        also = f" (also called: {', '.join(entry.aliases)})" if entry.aliases else ""
        console.print(Text(entry.term, style="bold") + Text(also, style="dim"))
        console.print(Text(f"  {entry.meaning}"))
    return EXIT_OK


def list_lessons() -> int:
    from rich.table import Table

    from ..course.loader import LessonError, discover, lessons_dir, load, origin, workspace
    from ..course.progress import Progress

    progress = Progress()
    files = discover()
    if not files:
        if os.environ.get("LIFECYCLE_TRACER_LESSONS"):
            return fail(f"LIFECYCLE_TRACER_LESSONS is set to {lessons_dir()}, which holds no lesson files "
                        "(lessonNN_name.py); point it at a folder of lessons, or unset it.")
        if workspace():
            return fail(f"Your workspace {workspace()} holds no lesson files; run `lifecycle-tracer init {workspace()}` "
                        "to copy the missing ones back.")
        return fail("No lessons were found; reinstall lifecycle-tracer.")
    table = Table("id", "title", "steps", "questions", "exercises", "progress", title="Lessons", title_justify="left")
    marks = {"done": "✓ done", "current": "▶ current", "new": "· new"}
    broken: list[str] = []  # whole, below the table: a file:line cut across cells cannot be followed
    for file in files:
        try:
            loaded = load(file)
        except LessonError as exc:
            table.add_row(file.id, Text("broken: see below", style="red"), "", "", "", "")
            broken.append(f"broken: {file.id}: {exc}")
            continue
        lesson = loaded.lesson
        status = progress.status(lesson.id)
        ran, answered, solved = progress.counts(lesson)
        exercises = len(lesson.exercises)
        # Counts as "done/all" once started, so a learner sees what is left at a glance.
        started = status != "new"
        table.add_row(file.id, lesson.title,
                      f"{ran}/{len(lesson.steps)}" if started else str(len(lesson.steps)),
                      f"{answered}/{lesson.questions}" if started and lesson.questions else str(lesson.questions),
                      f"{solved}/{exercises}" if started and exercises else str(exercises),
                      marks[status])
    Console().print(table)
    for line in broken:
        Console(soft_wrap=True, highlight=False).print(Text(line, style="red"))
    Console(soft_wrap=True).print(Text(f"Lessons from {lessons_dir()} ({origin(files[0].path)})", style="dim"))
    Console().print(Text("Run one with: lifecycle-tracer run lesson1", style="dim"))
    return EXIT_OK
