"""One word per idea: the glossary's words to avoid appear in no lesson and no sentence the tool writes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import lifecycle_tracer
from lifecycle_tracer.course.loader import discover, load, packaged_dir
from lifecycle_tracer.explain.glossary import GLOSSARY, avoided, lookup

PACKAGE = Path(lifecycle_tracer.__file__).parent
AVOID = avoided()


def _lesson_texts(path: Path) -> list[str]:
    lesson = load(next(f for f in discover(packaged_dir()) if f.path == path)).lesson
    texts = [lesson.title, lesson.summary, *lesson.goals, *lesson.topics]
    for step in lesson.steps:
        texts += [step.title, step.narration, *step.hints, *(c.describe for c in step.checks)]
        if step.question:
            texts += [step.question.prompt, step.question.why, *step.question.choices]
    module = ast.parse(path.read_text(encoding="utf-8"))
    texts.append(ast.get_docstring(module) or "")
    # Comments are read by the learner too: the lesson file is theirs to edit.
    texts += [line.split("#", 1)[1] for line in path.read_text(encoding="utf-8").splitlines() if "#" in line]
    return texts


def _sentences_in(path: Path) -> list[str]:
    """Every string constant with a space in it: the sentences and labels a module can show."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and " " in node.value]


def _offences(texts: list[str]) -> list[str]:
    found = []
    for text in texts:
        # A quoted identifier (`"phase"`, `phase=`) names code, such as an event's detail key, not an idea.
        text = re.sub(r"[`\"']\w+[`\"']|\b\w+=", "", text)
        for word, term in AVOID.items():
            if re.search(rf"\b{re.escape(word)}\b", text, re.I):
                found.append(f"{word!r} (say {term!r}) in: {text.strip()[:100]!r}")
    return found


@pytest.mark.parametrize("path", [pytest.param(f.path, id=f.id) for f in discover(packaged_dir())])
def test_lessons_use_the_glossary_words(path: Path) -> None:
    assert not _offences(_lesson_texts(path))


WINGS = [p for wing in ("explain", "tui", "course", "sinks", "export", "cli") for p in sorted((PACKAGE / wing).glob("*.py"))
         if p.name != "glossary.py"]


@pytest.mark.parametrize("path", [pytest.param(p, id=f"{p.parent.name}/{p.name}") for p in WINGS])
def test_the_tools_own_sentences_use_the_glossary_words(path: Path) -> None:
    assert not _offences(_sentences_in(path))


def test_every_stage_is_in_the_glossary_and_lookup_finds_other_names() -> None:
    from lifecycle_tracer.events import STAGES

    meaning = next(e for e in GLOSSARY if e.term == "stage").meaning
    for stage in STAGES:
        if stage != "websocket":
            assert stage in meaning, stage
    assert [e.term for e in lookup("cleanup")] == ["teardown"]
    assert [e.term for e in lookup("Teardown")] == ["teardown"]
    assert len({e.term for e in GLOSSARY}) == len(GLOSSARY)
    assert all(e.meaning.endswith(".") for e in GLOSSARY)
