"""``check``: everything wrong with one lesson file, each problem as ``file:line: what``."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rich.console import Console

from ..course.loader import LessonError, LessonFile, load
from ..course.plain import run_plain
from ..server import BindError, ServerStartError


def check_one(file: LessonFile) -> tuple[list[str], str]:
    """Everything wrong with one lesson file, and what to say when nothing is."""
    try:
        loaded = load(file)
    except LessonError as exc:
        return [str(exc)], ""
    problems = _lint(loaded)
    failures: list[tuple[int, str]] = []
    try:
        ok = run_plain(loaded, Console(file=io.StringIO(), width=120), failures=failures)
    except (BindError, ServerStartError) as exc:
        return [*problems, f"{file.path}: {exc}"], ""
    except (Exception, SystemExit) as exc:  # a check or step that exits must not end the whole run
        return [*problems, f"{file.path}: running the lesson failed: {type(exc).__name__}: {exc}"], ""
    problems += [f"{file.path}:{_step_line(file.path, n)}: step {n}: {message}" for n, message in failures]
    if not ok and not failures:
        problems.append(f"{file.path}: some checks failed")
    return problems, f"{file.path}: {loaded.lesson.id}, {len(loaded.lesson.steps)} steps, every check holds"


def _lint(loaded: Any) -> list[str]:
    lesson, path = loaded.lesson, loaded.file.path
    problems = []
    if loaded.file.number and lesson.id != loaded.file.id:
        problems.append(f"{path}:1: LESSON.id is {lesson.id!r} but the file name makes it {loaded.file.id!r}")
    for n, step in enumerate(lesson.steps, 1):
        if step.request is not None and not step.checks:
            problems.append(f"{path}:{_step_line(path, n)}: step {n} fires a request but checks nothing")
        q = step.question
        if q is not None and not 0 <= q.answer < len(q.choices):
            problems.append(f"{path}:{_step_line(path, n)}: step {n}'s question answer {q.answer} is not a choice index")
    return problems


def _step_line(path: Path, step_no: int) -> int:
    """The line of the step_no-th ``Step(`` call in the file (1 if it cannot be found)."""
    import ast

    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return 1
    lines = sorted(
        node.lineno for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Step"
    )
    return lines[step_no - 1] if 0 < step_no <= len(lines) else 1
