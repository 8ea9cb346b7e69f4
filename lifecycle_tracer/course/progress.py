"""The learner's progress, kept per user with platformdirs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir

# Steps inserted into a lesson after learners had saved progress in it: (lesson, the new step's number,
# the layout it begins). Progress is kept by step number, so older entries are renumbered once.
INSERTED: dict[str, list[tuple[int, int]]] = {"lesson2": [(6, 2)]}


def progress_file() -> Path:
    home = os.environ.get("LIFECYCLE_TRACER_HOME")
    base = Path(home) if home else Path(user_data_dir("lifecycle-tracer", appauthor=False))
    return base / "progress.json"


class Progress:
    """``{lesson_id: {"steps": [1, 2], "answers": {"2": 1}, "exercises": [6], "hints": {"6": 2}, "done": bool}}``.

    A lesson is done when every step has run and every exercise is solved;
    only runs with a person at the keyboard write here (``cli.commands.run``).
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or progress_file()
        self.data: dict[str, Any] = {}
        try:
            self.data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(self.data, dict):
                self.data = {}
        except (OSError, ValueError):
            self.data = {}

    def _lesson(self, lesson_id: str) -> dict[str, Any]:
        entry = self.data.setdefault(lesson_id, {})
        if not isinstance(entry, dict):  # a hand-edited file: start this lesson over rather than fail
            entry = self.data[lesson_id] = {}
        for key, empty in (("steps", list), ("answers", dict), ("exercises", list), ("hints", dict)):
            if not isinstance(entry.get(key), empty):
                entry[key] = empty()
        entry.setdefault("done", False)
        _renumber(lesson_id, entry)
        return entry

    def exercise_solved(self, lesson_id: str, step: int) -> None:
        entry = self._lesson(lesson_id)
        if step not in entry["exercises"]:
            entry["exercises"].append(step)
        self.save()

    def next_hint(self, lesson_id: str, step: int, available: int) -> int:
        """How many hints of this step are shown now: one more than before, up to ``available``."""
        entry = self._lesson(lesson_id)
        shown = min(int(entry["hints"].get(str(step), 0)) + 1, available)
        entry["hints"][str(step)] = shown
        self.save()
        return shown

    def is_done(self, lesson_id: str) -> bool:
        """Whether the lesson was marked done already (by this run or an earlier one)."""
        entry = self.data.get(lesson_id)
        return isinstance(entry, dict) and bool(entry.get("done"))

    def update_done(self, lesson: Any) -> bool:
        """Mark the lesson done once every step has run and every exercise is solved; True if it is."""
        entry = self._lesson(lesson.id)
        steps = set(range(1, len(lesson.steps) + 1))
        exercises = {n for n, _ in lesson.exercises}
        if steps <= set(entry["steps"]) and exercises <= set(entry["exercises"]):
            entry["done"] = True
            self.save()
        return bool(entry["done"])

    def counts(self, lesson: Any) -> tuple[int, int, int]:
        """(steps run, questions answered, exercises solved) for ``list``."""
        entry = self.data.get(lesson.id)
        if not isinstance(entry, dict):
            return 0, 0, 0
        entry = self._lesson(lesson.id)
        asked = {n for n, s in enumerate(lesson.steps, 1) if s.question is not None}
        exercises = {n for n, _ in lesson.exercises}
        return (len(set(entry["steps"]) & set(range(1, len(lesson.steps) + 1))),
                len({int(k) for k in entry["answers"] if str(k).isdigit()} & asked),
                len(set(entry["exercises"]) & exercises))

    def step_done(self, lesson_id: str, step: int, answer: int | None = None) -> None:
        entry = self._lesson(lesson_id)
        if step not in entry["steps"]:
            entry["steps"].append(step)
        if answer is not None:
            entry["answers"][str(step)] = answer
        self.save()

    def reset(self, lesson_id: str) -> None:
        self.data.pop(lesson_id, None)
        self.save()

    def status(self, lesson_id: str) -> str:
        entry = self.data.get(lesson_id)
        if not entry or not isinstance(entry, dict):
            return "new"
        return "done" if entry.get("done") else "current"

    def save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data, indent=1), encoding="utf-8")
            tmp.replace(self.path)
        except OSError:
            pass  # progress is a convenience; never fail a lesson over it


def _renumber(lesson_id: str, entry: dict[str, Any]) -> None:
    """Shift an older entry's step numbers past each step inserted since it was saved."""
    for at, layout in INSERTED.get(lesson_id, ()):
        if not isinstance(entry.get("layout"), int) or entry["layout"] < layout:
            def bump(n: int, at: int = at) -> int:
                return n + 1 if n >= at else n

            entry["steps"] = [bump(n) for n in entry["steps"] if isinstance(n, int)]
            entry["exercises"] = [bump(n) for n in entry["exercises"] if isinstance(n, int)]
            for key in ("answers", "hints"):
                entry[key] = {str(bump(int(k))): v for k, v in entry[key].items() if str(k).isdigit()}
            entry["layout"] = layout
