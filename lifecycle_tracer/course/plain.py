"""Plain mode: a lesson printed to the terminal with rich, no TUI."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markdown import Markdown
from rich.panel import Panel
from rich.rule import Rule
from rich.text import Text

from ..sinks import nested
from ..visible import visible
from .format import Outcome, Question, Request, StepResult, WebSocketRequest
from .loader import LoadedLesson, origin
from .session import LessonSession, evaluate, step_requests
from .watch import Marks, watch_plain

Ask = Callable[[Question], int | None]


def run_plain(loaded: LoadedLesson, console: Console, *, port: int | None = None, record: Path | None = None,
              show_secrets: bool = False, ask: Ask | None = None, progress: Any = None,
              failures: list[tuple[int, str]] | None = None, watch: bool = False) -> bool:
    """Run every step and print it; True if every check passed.

    Failed checks are also appended to ``failures`` as (step number, message),
    and completed steps are saved to ``progress`` when given. With ``watch``,
    every save of the lesson file reloads it and runs the steps again, until
    Ctrl+C; the result is then the last run's.
    """
    lesson = loaded.lesson
    console.print(Panel(Text(lesson.title, style="bold"), subtitle=lesson.id, expand=False))
    path = loaded.file.path.resolve()  # the whole path, on one line: the learner must know which copy runs
    console.print(Text(visible(f"{lesson.id} · lesson from {path} ({origin(path)})"), style="dim"), soft_wrap=True)
    if lesson.goals:
        console.print(Text("You will learn:", style="bold"))
        for goal in lesson.goals:
            console.print(f"  • {goal}")
    with LessonSession(loaded, port=port, record=record, show_secrets=show_secrets) as session:
        console.print(Text(f"The lesson's app is served by uvicorn at {session.server.url}", style="dim"))
        marks = run_steps(session, console, ask=ask, progress=progress, failures=failures)
        all_ok = all(o.ok for o in marks.values())
        if lesson.summary:
            console.print(Rule("Summary"))
            console.print(Markdown(lesson.summary.strip()))
        if progress is not None and all_ok:
            progress.lesson_done(lesson.id)
        verdict = "Every check passed." if all_ok else "Some checks failed: this lesson does not match the installed FastAPI."
        console.print(Text(verdict, style="bold green" if all_ok else "bold red"))
        if watch:
            all_ok = watch_plain(session, console, marks, lambda: run_steps(session, console))
    if record:
        console.print(Text(f"Events recorded to {record}", style="dim"))
    return all_ok


def run_steps(session: LessonSession, console: Console, *, ask: Ask | None = None, progress: Any = None,
              failures: list[tuple[int, str]] | None = None) -> Marks:
    """Run and print every step of the lesson the session serves now; each check's outcome by (step, check)."""
    lesson = session.loaded.lesson
    marks: Marks = {}

    def judge(number: int, outcomes: list[Outcome]) -> None:
        for i, outcome in enumerate(outcomes):
            marks[(number, i)] = outcome
            console.print(_outcome_line(outcome))
            if not outcome.ok and failures is not None:
                failures.append((number, outcome.message))

    said: set[str] = set()  # sentences shown already: a built-in layer is explained once
    for number, step in enumerate(lesson.steps, 1):
        console.print(Rule(f"Step {number}/{len(lesson.steps)}: {step.title}"))
        console.print(Markdown(step.narration.strip()))
        chosen = None
        if step.question:
            console.print(Text(f"\n? {step.question.prompt}", style="bold cyan"))
            for i, choice in enumerate(step.question.choices, 1):
                console.print(f"  {i}. {choice}")
            chosen = ask(step.question) if ask else None
        if step.request is None:  # a reading step; its checks look at the session so far
            result = StepResult([], [], 0.0, session=session.rec.by_request())
            for rid, trace in result.session.items():  # what happened outside requests: the lifespan
                if trace and trace[0].detail.get("type") == "lifespan":
                    console.print(Text(f"\n→ {rid}: {trace[0].name}", style="bold"))
                    for line in nested(trace, tuple(step.look_for), said):
                        console.print(line)
            judge(number, evaluate(step, result))
            if progress is not None:
                progress.step_done(lesson.id, number)
            continue
        result = session.run_step(step)
        shown: list[Request | WebSocketRequest] = []
        several = len(result.responses) > 1
        if several:
            console.print(Text(f"\n{len(result.responses)} requests fired at once; all answered after "
                               f"{result.elapsed:.2f} s (wall time, as the clients saw it).", style="bold"))
        for req, resp, trace in zip(step_requests(step), result.responses, result.traces, strict=True):
            took = (trace[-1].detail.get("duration_ns") or 0) / 1e6
            inside = " inside the app" if several else ""
            console.print(Text(f"\n→ {req.describe()}  ⇒  {resp.status_code}   ({took:.1f} ms{inside})", style="bold"))
            if req in shown:  # an identical copy fired at the same time: its summary is enough
                continue
            shown.append(req)
            for line in nested(trace, tuple(step.look_for), said):
                console.print(line)
        if step.question:
            q = step.question
            verdict = "" if chosen is None else (" — you got it!" if chosen == q.answer else " — not quite.")
            console.print(Text(f"Answer: {q.choices[q.answer]}{verdict} {q.why}", style="cyan"))
        judge(number, evaluate(step, result))
        if progress is not None:
            progress.step_done(lesson.id, number, chosen)
    return marks


def _outcome_line(outcome: Outcome) -> Text:
    mark, style = ("✓", "green") if outcome.ok else ("✗ CHECK FAILED:", "bold red")
    # A check's message can quote what the app answered.
    return Text(f"  {mark} {visible(outcome.message)}", style=style)


def stdin_is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()
