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
from ..sinks.console import LEGEND, MARK_WORDS
from ..visible import visible
from .exercises import where_to_edit
from .folding import fold_lines
from .format import Exercise, Outcome, Question, Request, StepResult, WebSocketRequest
from .loader import LoadedLesson, is_packaged, origin
from .session import LessonSession, evaluate, step_requests
from .watch import Marks, lesson_ok, watch_plain

Ask = Callable[[Question], int | None]


def run_plain(loaded: LoadedLesson, console: Console, *, port: int | None = None, record: Path | None = None,
              show_secrets: bool = False, ask: Ask | None = None, progress: Any = None,
              failures: list[tuple[int, str]] | None = None, watch: bool = False,
              solved: dict[int, bool] | None = None) -> bool:
    """Run every step and print it; True if every check of every step passed.

    An exercise's checks say whether the learner has solved it, not whether
    the lesson is right, so they never make the result False. Failed step
    checks are also appended to ``failures`` as (step number, message), and
    completed steps, answers and solved exercises are saved to ``progress``
    when given. With ``watch``, every save of the lesson file reloads it and
    runs the steps again, until Ctrl+C; the result is then the last run's.
    ``solved`` gets, for each exercise's step number, whether it is solved.
    """
    lesson = loaded.lesson
    console.print(Panel(Text(lesson.title, style="bold"), subtitle=lesson.id, expand=False))
    path = loaded.file.path.resolve()  # the whole path, on one line: the learner must know which copy runs
    # The packaged copy goes unnamed: its path says it, and "(the installed copy)" stopped timed newcomers
    # wondering which other copy there was. Any other copy is named, so an edit's owner knows it runs.
    whose = "" if is_packaged(path) else f" ({origin(path)})"
    console.print(Text(visible(f"{lesson.id} · lesson from {path}{whose}"), style="dim"), soft_wrap=True)
    if lesson.goals:
        console.print(Text("You will learn:", style="bold"))
        for goal in lesson.goals:
            console.print(f"  • {goal}")
    with LessonSession(loaded, port=port, record=record, show_secrets=show_secrets) as session:
        console.print(Text(f"The lesson's app is served by uvicorn, the web server, at {session.server.url}",
                           style="dim"))
        marks = run_steps(session, console, ask=ask, progress=progress, failures=failures, solved=solved)
        all_ok = lesson_ok(lesson, marks)
        if progress is not None:
            progress.update_done(lesson)
        if lesson.summary and not lesson.exercises:  # else it came before the exercises
            print_summary(console, lesson)
        verdict = ("Every check of the lesson's steps passed." if all_ok else
                   "Some checks failed: this lesson does not match the installed FastAPI.")
        console.print(Text(verdict, style="bold green" if all_ok else "bold red"))
        if lesson.exercises:
            console.print(Text(exercises_verdict(lesson, marks), style="bold"))
        if watch:
            def again() -> Marks:
                marks = run_steps(session, console, progress=progress, asked=False)
                if progress is not None:
                    progress.update_done(session.loaded.lesson)
                if session.loaded.lesson.exercises:
                    console.print(Text(exercises_verdict(session.loaded.lesson, marks), style="bold"))
                return marks

            all_ok = watch_plain(session, console, marks, again)
    if record:
        console.print(Text(f"Events recorded to {record}", style="dim"))
    return all_ok


def run_steps(session: LessonSession, console: Console, *, ask: Ask | None = None, progress: Any = None,
              failures: list[tuple[int, str]] | None = None, asked: bool = True,
              solved: dict[int, bool] | None = None) -> Marks:
    """Run and print every step of the lesson the session serves now; each check's outcome by (step, check).

    ``asked=False`` is a run again after a save: the questions were asked and answered the first time.
    """
    lesson = session.loaded.lesson
    marks: Marks = {}
    exercises = {n: k for k, (n, _) in enumerate(lesson.exercises, 1)}

    def judge(number: int, outcomes: list[Outcome]) -> None:
        exercise = number in exercises
        # A step whose every claim holds says so in one line; a failed claim, and an exercise's, is each shown.
        together = not exercise and len(outcomes) > 1 and all(o.ok for o in outcomes)
        if together:
            console.print(Text(f"  ✓ {len(outcomes)} checks passed: the trace matches the step.",
                               style="green"))
        for i, outcome in enumerate(outcomes):
            marks[(number, i)] = outcome
            if not together:
                console.print(_outcome_line(outcome, exercise))
            if not outcome.ok and failures is not None and not exercise:
                failures.append((number, outcome.message))
        if exercise:
            done = all(o.ok for o in outcomes)
            console.print(_exercise_verdict(session, done))
            if solved is not None:
                solved[number] = done
            if progress is not None and done:
                progress.exercise_solved(lesson.id, number)

    said: set[str] = set()  # sentences shown already: a built-in layer is explained once
    for number, step in enumerate(lesson.steps, 1):
        if exercises and number == min(exercises) and lesson.summary:
            print_summary(console, lesson)  # what the steps taught, then the learner's turn
        if number in exercises:
            console.print(Rule(f"Exercise {exercises[number]}/{len(exercises)} "
                               f"(step {number}/{len(lesson.steps)}): {step.title}"))
        else:
            console.print(Rule(f"Step {number}/{len(lesson.steps)}: {step.title}"))
        console.print(Markdown(step.narration.strip()))
        if isinstance(step, Exercise):
            console.print(Text(visible(f"Your code: {where_to_edit(session.loaded.file.path, step.region)}"),
                               style="bold"), soft_wrap=True)
        chosen = None
        if step.question:
            console.print(Text(f"\n? {step.question.prompt}", style="bold cyan"))
            for i, choice in enumerate(step.question.choices, 1):
                console.print(f"  {i}. {choice}")
            chosen = ask(step.question) if ask and asked else None
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
        clock = None
        if several:
            console.print(Text(f"\n{len(result.responses)} requests sent together; the last answer came after "
                               f"{result.elapsed:.2f} s (wall time, as the clients saw it).", style="bold"))
            clock = min(trace[0].t_ns for trace in result.traces if trace)
            console.print(Text("On one clock, from the first request's arrival (█ your endpoint running, "
                               "─ the rest of the request):", style="bold"))
            for line in one_clock(result.traces, clock):
                console.print(Text(visible(line)), soft_wrap=True)
        for req, resp, trace in zip(step_requests(step), result.responses, result.traces, strict=True):
            took = (trace[-1].detail.get("duration_ns") or 0) / 1e6
            inside = " inside the app" if several else ""
            if "\x00legend" not in said:  # how to read a trace, right above the first one (a reviewer scrolled back)
                said.add("\x00legend")
                console.print(Text(LEGEND, style="dim"))
            console.print(Text(f"\n→ {req.describe()}  ⇒  {resp.status_code}   ({took:.1f} ms{inside})", style="bold"))
            if req in shown:  # an identical copy fired at the same time: its summary is enough
                continue
            shown.append(req)
            lines = fold_lines(nested(trace, tuple(step.look_for), said, t0=clock), step)
            for words in new_marks(lines, said):
                console.print(Text(f"({words}.)", style="dim"))
            for line in lines:
                console.print(line)
        if step.question:
            q = step.question
            verdict = "" if chosen is None else (" — you got it!" if chosen == q.answer else " — not quite.")
            console.print(Text(f"Answer: {q.answer + 1}. {q.choices[q.answer]}{verdict}", style="bold cyan"))
            if q.why:
                console.print(Text(q.why, style="cyan"))
        judge(number, evaluate(step, result))
        if progress is not None:
            progress.step_done(lesson.id, number, chosen)
    return marks


def print_summary(console: Console, lesson: Any) -> None:
    console.print(Rule("Summary"))
    console.print(Markdown(lesson.summary.strip()))


def one_clock(traces: Any, t0: int, width: int = 40) -> list[str]:
    """One line per request: a bar from its arrival to its end on a shared scale, and the times.

    Every time is read from the events' own clock (``t_ns``), so what overlaps
    here overlapped in the app.
    """
    spans = [t for t in traces if t]
    if not spans:
        return []
    last = max(t[-1].t_ns for t in spans)
    scale = max(last - t0, 1) / width

    def col(t_ns: int) -> int:
        return min(int((t_ns - t0) / scale), width - 1)

    lines = []
    for trace in spans:
        start, end = trace[0].t_ns, trace[-1].t_ns
        bar = [" "] * width
        for i in range(col(start), col(end) + 1):
            bar[i] = "─"
        ran = [e.t_ns for e in trace if e.stage == "endpoint" and e.kind in ("start", "end")]
        body = ""
        if len(ran) >= 2:
            for i in range(col(ran[0]), col(ran[-1]) + 1):
                bar[i] = "█"
            body = f" · endpoint {(ran[0] - t0) / 1e6:.1f}–{(ran[-1] - t0) / 1e6:.1f} ms"
        rid = trace[0].request_id
        lines.append(f"  {rid:>6} |{''.join(bar)}| arrived {(start - t0) / 1e6:.1f} ms{body} · "
                     f"done {(end - t0) / 1e6:.1f} ms")
    return lines


def _outcome_line(outcome: Outcome, exercise: bool = False) -> Text:
    # An exercise's unmet check is the learner's work still to do, not a fault in the lesson.
    failed = ("✗ not yet:", "yellow") if exercise else ("✗ CHECK FAILED:", "bold red")
    mark, style = ("✓", "green") if outcome.ok else failed
    # A check's message can quote what the app answered.
    return Text(f"  {mark} {visible(outcome.message)}", style=style)


def _exercise_verdict(session: LessonSession, solved: bool) -> Text:
    lesson_id, path = session.loaded.lesson.id, session.loaded.file.path
    if solved:
        return Text("✓ Solved: every check of this exercise holds.", style="bold green")
    if is_packaged(path):
        how = ("This is the packaged copy, which you cannot usefully edit: run `lifecycle-tracer init` "
               "for a copy of your own, then change it there.")
    else:
        how = "Change your code there, save, and run the lesson again (with --watch, every save runs it again)."
    stuck = f"Stuck? `lifecycle-tracer hint {lesson_id}` gives one hint at a time; " \
            f"`lifecycle-tracer solution {lesson_id}` shows one way to solve it."
    return Text(f"Not solved yet. {how} {stuck}", style="yellow")


def exercises_verdict(lesson: Any, marks: Marks) -> str:
    """``Exercises solved: 1 of 2.`` (or that the lesson has none)."""
    numbers = [n for n, _ in lesson.exercises]
    if not numbers:
        return "This lesson has no exercise."
    solved = sum(1 for n in numbers if all(o.ok for (s, _), o in marks.items() if s == n))
    return f"Exercises solved: {solved} of {len(numbers)}."


def stdin_is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def new_marks(lines: list[Any], said: set[str]) -> list[str]:
    """The words for the rarer marks these lines show for the first time in the run (``said`` remembers)."""
    from ..sinks.console import EventLine

    # A folded run of layers needs no words: its line says "5 built-in layers", and what it wraps is
    # drawn one · deeper than it (folding.collapse_layers).
    found = set()
    for line in lines:
        if isinstance(line, EventLine) and (line.event.stage == "exception" or line.event.detail.get("raised_name")):
            found.add("↯")
    out = []
    for mark in ("↯",):
        key = f"\x00mark:{mark}"
        if mark in found and key not in said:
            said.add(key)
            out.append(MARK_WORDS[mark])
    return out
