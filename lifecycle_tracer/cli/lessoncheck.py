"""``check``: everything wrong with one lesson file, each problem as ``file:line: what``."""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from ..course.exercises import ExerciseError, regions, solved_text
from ..course.loader import LessonError, LessonFile, load, workspace
from ..course.plain import run_plain
from ..server import BindError, ServerStartError


@dataclass
class Checked:
    problems: list[str] = field(default_factory=list)
    verdict: str = ""  # what to say when there is no problem
    verified: int = 0  # exercises whose starting code fails and whose solution passes
    solved: int = 0  # exercises the learner's own copy already solves


def check_one(file: LessonFile) -> Checked:
    """Everything wrong with one lesson file, and what to say when nothing is.

    Every exercise is verified both ways: the lesson as it is must not solve
    it (unless this is the learner's own copy, where solving it is the point),
    and the lesson with the reference solution in its place must solve it,
    with every step's checks still holding.
    """
    try:
        loaded = load(file)
    except LessonError as exc:
        return Checked([str(exc)])
    out = Checked(_lint(loaded))
    solved: dict[int, bool] = {}
    out.problems += _run(file, loaded, solved, "")
    exercises = loaded.lesson.exercises
    mine = workspace(file.path.parent) is not None
    for number, exercise in exercises:
        if solved.get(number) and not mine:
            out.problems.append(f"{file.path}:{_step_line(file.path, number)}: exercise {exercise.region!r}: "
                                "the starting code already passes its checks, so there is nothing to solve")
    out.solved = sum(1 for n, _ in exercises if solved.get(n)) if mine else 0
    if exercises and not out.problems:
        with_solution = _with_solution(file, [e.region for _, e in exercises])
        if isinstance(with_solution, str):
            out.problems.append(with_solution)
        else:
            after: dict[int, bool] = {}
            try:
                out.problems += _run(with_solution, None, after, " (with the reference solution)")
            finally:
                shutil.rmtree(with_solution.path.parent, ignore_errors=True)
            for number, exercise in exercises:
                if not after.get(number):
                    out.problems.append(f"{file.path}:{_step_line(file.path, number)}: exercise {exercise.region!r}: "
                                        "the reference solution does not pass its checks")
            if not out.problems:
                out.verified = len(exercises)
    lesson = loaded.lesson
    told = f"; {len(exercises)} exercise(s) verified both ways" if out.verified else ""
    if mine and exercises:
        told += f", {out.solved} of {len(exercises)} solved in your copy"
    out.verdict = f"{file.path}: {lesson.id}, {len(lesson.steps)} steps, every check holds{told}"
    return out


def _run(file: LessonFile, loaded: Any, solved: dict[int, bool], which: str) -> list[str]:
    """Run the lesson in plain mode, silently; its problems as ``file:line: …``."""
    failures: list[tuple[int, str]] = []
    try:
        loaded = loaded or load(file)
        ok = run_plain(loaded, Console(file=io.StringIO(), width=120), failures=failures, solved=solved)
    except LessonError as exc:
        return [f"{exc}{which}"]
    except (BindError, ServerStartError) as exc:
        return [f"{file.path}: {exc}"]
    except (Exception, SystemExit) as exc:  # a check or step that exits must not end the whole run
        return [f"{file.path}: running the lesson{which} failed: {type(exc).__name__}: {exc}"]
    shown = _shown_path(file)
    problems = [f"{shown}:{_step_line(file.path, n)}: step {n}{which}: {message}" for n, message in failures]
    if not ok and not failures:
        problems.append(f"{shown}: some checks failed{which}")
    return problems


def _shown_path(file: LessonFile) -> Path:
    return getattr(file, "shown", None) or file.path


@dataclass(frozen=True)
class _SolvedFile(LessonFile):
    shown: Path | None = None  # the lesson file this was made from, for messages


def _with_solution(file: LessonFile, names: list[str]) -> LessonFile | str:
    """A temporary copy of the lesson with the reference solution in each exercise's place."""
    import tempfile

    try:
        text = solved_text(file.path.read_text(encoding="utf-8"), file.path, names)
    except (OSError, ExerciseError) as exc:
        return str(exc)
    folder = Path(tempfile.mkdtemp(prefix="lifecycle-tracer-solved-"))
    path = folder / file.path.name
    path.write_text(text, encoding="utf-8")
    return _SolvedFile(file.number, file.slug, path, shown=file.path)


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
    problems += _lint_exercises(lesson, path)
    return problems


def _lint_exercises(lesson: Any, path: Path) -> list[str]:
    try:
        marked = regions(path.read_text(encoding="utf-8"), str(path))
    except (OSError, ExerciseError) as exc:
        return [str(exc)]
    mine = workspace(path.parent) is not None
    problems = []
    for n, exercise in lesson.exercises:
        at = f"{path}:{_step_line(path, n)}: exercise {exercise.region or '(no region)'}"
        if not exercise.region:
            problems.append(f"{at}: give it region= the name its marker lines use")
        elif exercise.region not in marked and not mine:  # a learner may rewrite their copy freely
            problems.append(f"{at}: no `# ── exercise {exercise.region}: your code starts here ──` line in the file")
        if exercise.request is None or not exercise.checks:
            problems.append(f"{at}: an exercise needs a request and the checks that say it is solved")
        if not exercise.hints:
            problems.append(f"{at}: give it at least one hint")
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
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in ("Step", "Exercise")
    )
    return lines[step_no - 1] if 0 < step_no <= len(lines) else 1
