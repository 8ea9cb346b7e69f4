"""Progress is kept by step number: a step inserted into a lesson renumbers what was saved before it."""

from __future__ import annotations

import json
from pathlib import Path

from lifecycle_tracer.course.loader import find, load
from lifecycle_tracer.course.progress import Progress


def test_lesson2_progress_saved_before_its_404_step_still_names_the_exercise(tmp_path: Path) -> None:
    lesson = load(find("lesson2")).lesson
    exercise_step = lesson.exercises[0][0]
    assert exercise_step == 7 and lesson.steps[5].title == "When no route matches at all"
    path = tmp_path / "progress.json"
    # Saved when the exercise was step 6: every step run, step 5 answered, the exercise solved with two hints.
    path.write_text(json.dumps({"lesson2": {"steps": [1, 2, 3, 4, 5, 6], "answers": {"2": 1, "5": 2},
                                            "exercises": [6], "hints": {"6": 2}, "done": True}}), encoding="utf-8")
    progress = Progress(path)
    steps, answered, solved = progress.counts(lesson)
    assert (steps, solved) == (6, 1)  # the new step 6 has not run; the exercise, now step 7, is still solved
    assert answered == 2
    assert progress.next_hint("lesson2", exercise_step, 3) == 3  # two hints shown before, now the third
    saved = json.loads(path.read_text(encoding="utf-8"))["lesson2"]
    assert saved["steps"] == [1, 2, 3, 4, 5, 7] and saved["exercises"] == [7] and saved["layout"] == 2
    assert Progress(path).counts(lesson) == (6, 2, 1)  # renumbered once, not again on the next load


def test_a_new_entry_is_not_renumbered(tmp_path: Path) -> None:
    progress = Progress(tmp_path / "progress.json")
    progress.step_done("lesson2", 6, answer=1)
    progress.step_done("lesson2", 7)
    again = Progress(tmp_path / "progress.json")
    assert again.counts(load(find("lesson2")).lesson)[0] == 2
    assert json.loads((tmp_path / "progress.json").read_text(encoding="utf-8"))["lesson2"]["steps"] == [6, 7]
