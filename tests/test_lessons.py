"""Every lesson, run in plain mode through a real uvicorn: every check must hold
on the installed FastAPI, so a lesson that an upgrade makes wrong fails here."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from lifecycle_tracer.course import Lesson
from lifecycle_tracer.course.loader import discover, load
from lifecycle_tracer.course.plain import run_plain

FILES = discover()
# Lesson 5 shows that ORJSONResponse is deprecated on current FastAPI by using it;
# the warning is the lesson's subject, not a defect.
_MARKS = {5: [pytest.mark.filterwarnings("ignore:ORJSONResponse is deprecated")]}
PARAMS = [pytest.param(f, id=f.id, marks=_MARKS.get(f.number, [])) for f in FILES]


def test_the_eighteen_lessons_are_there_in_order() -> None:
    assert [f.number for f in FILES] == list(range(1, len(FILES) + 1))
    assert len(FILES) >= 18


@pytest.mark.parametrize("file", PARAMS)
def test_lesson_runs_and_every_check_holds(file) -> None:  # type: ignore[no-untyped-def]
    loaded = load(file)
    lesson: Lesson = loaded.lesson
    assert lesson.id == file.id
    assert lesson.title and lesson.goals and lesson.steps
    assert sum(1 for s in lesson.steps if s.question) >= 1
    for step in lesson.steps:
        assert step.narration.strip()
        if step.request is not None:
            assert step.checks, f"{step.title!r} fires a request but checks nothing"
    out = io.StringIO()
    failures: list[tuple[int, str]] = []
    ok = run_plain(loaded, Console(file=out, width=120), failures=failures)
    assert ok and not failures, f"{failures}\n{out.getvalue()[-3000:]}"


def test_lesson1_in_plain_mode_says_each_thing_once() -> None:
    """The legend comes once, before the first trace; a layer's end sentence, the same but for the
    layer's name, is explained at its first layer only; a lesson with no exercise says nothing of one."""
    from lifecycle_tracer.sinks.console import LEGEND

    loaded = load(next(f for f in FILES if f.id == "lesson1"))
    out = io.StringIO()
    assert run_plain(loaded, Console(file=out, width=400))
    text = out.getvalue()
    assert text.count(LEGEND) == 1 and text.index(LEGEND) < text.index("→ GET")
    step2 = text[text.index("Step 2/2"):text.index("Summary")]
    ends = [line for line in step2.splitlines() if "■ middleware" in line]
    assert len(ends) >= 3  # every layer still has its own end line
    # The layer the step names is explained both ways; the others' ends, the same sentence but for the name, are not.
    assert step2.count("ends, after every layer inside it has ended") == 1
    # Step 2 is about the layers: the stages inside them, shown in step 1, are one line here.
    assert "routing, validation, endpoint, serialization, response: 9 lines this step does not look at" in step2
    assert "◆ routing" not in step2 and "◆ routing" in text[:text.index("Step 2/2")]
    ins = [line for line in step2.splitlines() if "▶ middleware" in line]
    assert len(ins) == len(ends)  # no layer folded away: each has its line in and out
    # Only the layer the step names is explained; the others show without a note.
    looked = [line for line in ins if "◀ look" in line]
    assert len(looked) == 1 and "ServerErrorMiddleware" in looked[0]
    assert "AsyncExitStackMiddleware starts" not in step2 and "ExceptionMiddleware starts" not in step2
    assert "exercise" not in text.lower()
    # The routes the learner did not write are named; a layer that ended on its own line is accounted for.
    flat = " ".join(text.split())
    assert "The router tried 5 routes in order;" in flat and "Of the 5, 4 are docs pages FastAPI adds, like /docs." in flat
    # The rarer marks are explained once, just before the first trace that shows them; lesson 1 has no exception.
    from lifecycle_tracer.sinks.console import MARK_WORDS

    assert " ".join(MARK_WORDS["↯"].split()) not in flat and "↯" not in flat
    # A fold of the built-in layers is one line, and what it wraps is drawn one · deeper, not one per layer.
    step1 = text[:text.index("Step 2/2")]
    fold_in = re.search(r"(·+)▶ middleware +\d+ built-in layers, on the way in", step1)
    routing = re.search(r"(·+)◆ routing", step1)
    assert fold_in and routing and len(routing[1]) == len(fold_in[1]) + 1
    assert re.search(r"■ request +200\n", step1)  # the request's last line says the status sent


def test_lesson2s_404_step_folds_what_it_does_not_look_at() -> None:
    """A layer that ended on its own line (the exception passing out) is accounted for in the fold after it."""
    loaded = load(next(f for f in FILES if f.id == "lesson2"))
    out = io.StringIO()
    run_plain(loaded, Console(file=out, width=400))
    text = out.getvalue()
    step = " ".join(text[text.index("When no route matches at all"):text.index("Exercise 1/1")].split())
    found = re.search(r"(\d+) built-in layers, on the way in .*AsyncExitStackMiddleware ↑ .* the other (\d+) "
                      r"built-in layers, on the way out", step)
    assert found and int(found[2]) == int(found[1]) - 1
    assert "reached FastAPI's default handler http_exception_handler, which returned a 404 response" in step
    assert "◆ validation" not in step and "▶ endpoint" not in step
