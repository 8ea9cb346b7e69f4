"""Exercises: each verified both ways on the installed FastAPI, and the learner's loop around them.

Every packaged exercise is verified as `check` does it (the starting code
fails its checks; the lesson with the reference solution in place passes them
and every step still holds), through a real uvicorn. The rest goes through the
real command: hints one at a time, the solution only when asked, a solved
copy in a workspace, and a run with nobody at the keyboard marking nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lifecycle_tracer.cli.lessoncheck import check_one
from lifecycle_tracer.course.exercises import ExerciseError, regions, solution_path, solved_text
from lifecycle_tracer.course.loader import LessonFile, discover, load, packaged_dir
from lifecycle_tracer.course.progress import Progress

PACKAGED = discover(packaged_dir())
LOADED = {f.number: load(f) for f in PACKAGED}
WITH_EXERCISES = [pytest.param(f, id=f.id) for f in PACKAGED if LOADED[f.number].lesson.exercises]
_WARNED = {5: [pytest.mark.filterwarnings("ignore:ORJSONResponse is deprecated")]}


def cli(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LIFECYCLE_TRACER_LESSONS"}
    env.update(LIFECYCLE_TRACER_HOME=str(home), COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "lifecycle_tracer", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


def test_every_lesson_from_2_on_ends_with_an_exercise() -> None:
    total = 0
    for file in PACKAGED:
        lesson = LOADED[file.number].lesson
        numbers = [n for n, _ in lesson.exercises]
        total += len(numbers)
        if file.number < 2:
            continue
        assert numbers, f"{file.id} has no exercise"
        # Exercises come last: the steps before them teach what the exercise asks for.
        assert numbers == list(range(len(lesson.steps) - len(numbers) + 1, len(lesson.steps) + 1)), file.id
        marked = regions(file.path.read_text(encoding="utf-8"), str(file.path))
        for _, exercise in lesson.exercises:
            assert exercise.region in marked, f"{file.id}: no markers for {exercise.region!r}"
            assert len(exercise.hints) >= 2, f"{file.id}: hints should come in layers"
            assert solution_path(file.path).is_file(), f"{file.id}: no reference solution"
    assert total >= 16


@pytest.mark.parametrize("file", [pytest.param(p.values[0], id=p.id, marks=_WARNED.get(p.values[0].number, []))
                                  for p in WITH_EXERCISES])
def test_each_exercise_is_verified_both_ways(file: LessonFile) -> None:
    checked = check_one(file)
    assert not checked.problems, "\n".join(checked.problems)
    assert checked.verified == len(LOADED[file.number].lesson.exercises)


# A lesson of our own, to show `check` rejecting exercises that do not work.
_LESSON = '''
from fastapi import FastAPI

app = FastAPI()

# ── exercise answer: your code starts here ──
@app.get("/answer")
async def answer():
    return {"answer": 41}
# ── exercise answer: your code ends here ──

from lifecycle_tracer.course import Exercise, Lesson, Request, Step, body, status

LESSON = Lesson(
    id="lesson1", title="t", goals=["g"], topics=["t"],
    steps=[
        Step(title="It answers", narration="n", request=Request("GET", "/answer"), checks=[status(200)]),
        Exercise(title="Make it 42", narration="Make /answer say 42.", region="answer",
                 request=Request("GET", "/answer"), hints=["Look at the body."],
                 checks=[status(200), body(lambda b: b == {"answer": 42}, "the answer is 42")]),
    ],
)
'''
_SOLUTION = '''"""Say 42."""
# ── exercise answer: your code starts here ──
@app.get("/answer")
async def answer():
    return {"answer": ANSWER}
# ── exercise answer: your code ends here ──
'''


def _author(tmp_path: Path, lesson: str = _LESSON, solution: str | None = _SOLUTION) -> LessonFile:
    folder = tmp_path / "lessons"
    (folder / "solutions").mkdir(parents=True)
    path = folder / "lesson01_answer.py"
    path.write_text(lesson, encoding="utf-8")
    if solution is not None:
        (folder / "solutions" / path.name).write_text(solution, encoding="utf-8")
    return LessonFile(1, "answer", path)


def test_a_working_exercise_is_verified(tmp_path: Path) -> None:
    file = _author(tmp_path, solution=_SOLUTION.replace("ANSWER", "42"))
    checked = check_one(file)
    assert not checked.problems, checked.problems
    assert checked.verified == 1
    assert checked.verdict.endswith("1 exercise(s) verified both ways")


@pytest.mark.parametrize(("lesson", "solution", "says"), [
    pytest.param(_LESSON.replace("41", "42"), _SOLUTION.replace("ANSWER", "42"),
                 "the starting code already passes its checks", id="nothing-to-solve"),
    pytest.param(_LESSON, _SOLUTION.replace("ANSWER", "40"), "the reference solution does not pass its checks",
                 id="wrong-solution"),
    pytest.param(_LESSON, _SOLUTION.replace("ANSWER", "42").replace('"/answer"', '"/elsewhere"'),
                 "step 1 (with the reference solution)", id="solution-breaks-a-step"),
    pytest.param(_LESSON.replace("# ── exercise answer: your code ends here ──\n", ""), _SOLUTION,
                 "exercise 'answer' starts but never ends", id="unpaired-marker"),
    pytest.param(_LESSON, _SOLUTION.replace("answer:", "other:"), "has no solution for exercise 'answer'",
                 id="solution-for-another-region"),
])
def test_check_rejects_an_exercise_that_does_not_work(tmp_path: Path, lesson: str, solution: str, says: str) -> None:
    checked = check_one(_author(tmp_path, lesson, solution))
    assert checked.verified == 0
    assert any(says in problem for problem in checked.problems), checked.problems


def test_solved_text_replaces_only_the_region() -> None:
    file = next(f for f in PACKAGED if f.number == 2)
    text = file.path.read_text(encoding="utf-8")
    solved = solved_text(text, file.path, ["users-me"])
    inside = regions(solved)["users-me"]
    assert solved[:inside.start] == text[:regions(text)["users-me"].start]
    assert solved.index('@app.get("/users/me")') < solved.index('@app.get("/users/{user_id}")')
    assert text.index('@app.get("/users/me")') > text.index('@app.get("/users/{user_id}")')
    with pytest.raises(ExerciseError, match="no lines mark exercise 'nope'"):
        solved_text(text, file.path, ["nope"])


def test_hints_come_one_at_a_time_and_the_solution_only_when_asked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    exercise = LOADED[2].lesson.exercises[0][1]
    first = cli("hint", "lesson2", cwd=tmp_path, home=home)
    assert first.returncode == 0, first.stderr
    assert exercise.hints[0] in first.stdout and exercise.hints[1] not in first.stdout
    second = cli("hint", "2", cwd=tmp_path, home=home)
    assert exercise.hints[1] in second.stdout and f"{len(exercise.hints) - 2} left" in second.stdout
    for _ in exercise.hints:
        last = cli("hint", "lesson2", cwd=tmp_path, home=home)
    assert "That was the last hint" in last.stdout
    assert all(hint in last.stdout for hint in exercise.hints)
    # The run and the hints never show the solution's code; `solution` does.
    run = cli("run", "lesson2", "--plain", cwd=tmp_path, home=home)
    solution_code = solution_path(PACKAGED[1].path).read_text(encoding="utf-8")
    assert "One way to solve" not in run.stdout + first.stdout
    shown = cli("solution", "lesson2", cwd=tmp_path, home=home)
    assert shown.returncode == 0, shown.stderr
    assert "One way to solve" in shown.stdout
    assert 'async def read_current_user():\n    return {"user_id": "the current user"}' in shown.stdout
    assert shown.stdout.index("/users/me") < shown.stdout.index("/users/{user_id}")
    assert "users-me: your code starts here" in solution_code  # what was shown is the region's inside only
    assert "your code starts here" not in shown.stdout


@pytest.mark.parametrize("args", [("hint", "lesson1"), ("solution", "lesson1"), ("hint", "lesson2", "--exercise", "9"),
                                  ("solution", "nosuchlesson")])
def test_hint_and_solution_bad_input_is_one_sentence(tmp_path: Path, args: tuple[str, ...]) -> None:
    done = cli(*args, cwd=tmp_path, home=tmp_path / "home")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("Error: "), done.stderr
    assert "Traceback" not in done.stderr


def test_a_solved_copy_says_solved_and_nobody_at_the_keyboard_marks_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert cli("init", cwd=tmp_path, home=home).returncode == 0
    ws = tmp_path / "lifecycle-lessons"
    unsolved = cli("run", "lesson2", "--plain", cwd=ws, home=home)
    assert unsolved.returncode == 0, unsolved.stdout[-2000:]
    assert "Not solved yet. Change your code there" in unsolved.stdout
    assert "Exercises solved: 0 of 1." in unsolved.stdout
    lesson = ws / "lesson02_parameters.py"
    lesson.write_text(solved_text(lesson.read_text(encoding="utf-8"), lesson, ["users-me"]), encoding="utf-8")
    solved = cli("run", "lesson2", "--plain", cwd=ws, home=home)
    assert solved.returncode == 0
    assert "✓ Solved: every check of this exercise holds." in solved.stdout
    assert "Exercises solved: 1 of 1." in solved.stdout and "Every check of the lesson's steps passed." in solved.stdout
    # stdin was not a terminal: a script ran it, so the learner's progress is untouched.
    assert not (home / "progress.json").exists() or "lesson2" not in json.loads((home / "progress.json").read_text())
    listed = cli("list", cwd=ws, home=home)
    row = next(line for line in listed.stdout.splitlines() if "lesson2 " in line)
    assert "· new" in row
    checked = cli("check", "lesson02_parameters.py", cwd=ws, home=home)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 of 1 solved in your copy" in checked.stdout and "1 exercise(s) solved in your copies." in checked.stdout


def test_progress_is_done_when_every_step_ran_and_every_exercise_is_solved(tmp_path: Path) -> None:
    lesson = LOADED[2].lesson
    progress = Progress(tmp_path / "progress.json")
    (exercise_step, _), = lesson.exercises
    for n in range(1, len(lesson.steps) + 1):
        progress.step_done(lesson.id, n, 0 if lesson.steps[n - 1].question else None)
    assert not progress.update_done(lesson) and progress.status(lesson.id) == "current"
    progress.exercise_solved(lesson.id, exercise_step)
    assert progress.update_done(lesson) and progress.status(lesson.id) == "done"
    again = Progress(tmp_path / "progress.json")
    assert again.counts(lesson) == (len(lesson.steps), lesson.questions, 1)


def test_list_shows_steps_questions_and_exercises(tmp_path: Path) -> None:
    listed = cli("list", cwd=tmp_path, home=tmp_path / "home")
    assert listed.returncode == 0
    header = next(line for line in listed.stdout.splitlines() if "title" in line)
    for column in ("steps", "questions", "exercises", "progress"):
        assert column in header
    lesson = LOADED[2].lesson
    row = next(line for line in listed.stdout.splitlines() if "lesson2 " in line).split("│")
    cells = [c.strip() for c in row]
    assert [str(len(lesson.steps)), str(lesson.questions), str(len(lesson.exercises))] == cells[3:6]
