"""The learner's progress, kept per user with platformdirs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir


def progress_file() -> Path:
    home = os.environ.get("LIFECYCLE_TRACER_HOME")
    base = Path(home) if home else Path(user_data_dir("lifecycle-tracer", appauthor=False))
    return base / "progress.json"


class Progress:
    """``{lesson_id: {"steps": [1, 2], "answers": {"2": 1}, "done": bool}}`` on disk."""

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
        return self.data.setdefault(lesson_id, {"steps": [], "answers": {}, "done": False})

    def step_done(self, lesson_id: str, step: int, answer: int | None = None) -> None:
        entry = self._lesson(lesson_id)
        if step not in entry["steps"]:
            entry["steps"].append(step)
        if answer is not None:
            entry["answers"][str(step)] = answer
        self.save()

    def lesson_done(self, lesson_id: str) -> None:
        self._lesson(lesson_id)["done"] = True
        self.save()

    def reset(self, lesson_id: str) -> None:
        self.data.pop(lesson_id, None)
        self.save()

    def status(self, lesson_id: str) -> str:
        entry = self.data.get(lesson_id)
        if not entry:
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
