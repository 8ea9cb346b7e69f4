"""The lesson pane: narration, the predict-first question, hints, progress, check results."""

from __future__ import annotations

from rich.console import Group
from rich.markdown import Markdown
from rich.text import Text
from textual.widgets import Static

from ..course.format import Exercise, Lesson, Outcome
from ..visible import visible


class LessonPane(Static):
    def show(self, lesson: Lesson, index: int, *, answer: int | None, revealed: bool, hints: int,
             outcomes: list[Outcome] | None, busy: bool, can_fire: bool = True, where: str | None = None) -> None:
        """``where`` is the file and lines an exercise's code is in."""
        step = lesson.steps[index]
        total = len(lesson.steps)
        self.anchor: int | None = None
        bar = "▓" * (index + 1) + "░" * (total - index - 1)
        exercise = isinstance(step, Exercise)
        numbers = [n for n, _ in lesson.exercises]
        heading = (f"Exercise {numbers.index(index + 1) + 1}/{len(numbers)} (step {index + 1}/{total}) {bar}  {step.title}"
                   if exercise else f"Step {index + 1}/{total} {bar}  {step.title}")
        parts: list = [
            Text(lesson.title, style="bold"),
            Text(heading, style="bold magenta" if exercise else "bold cyan"),
            Markdown(step.narration.strip()),
        ]
        if exercise and where:
            parts.append(Text(visible(f"Your code: {where}"), style="bold"))
        q = step.question
        if q is not None:
            qt = Text(f"\n? {q.prompt}\n", style="bold")
            for i, choice in enumerate(q.choices):
                mark = "●" if answer == i else "○"
                line = f"  {i + 1}. {mark} {choice}"
                if revealed and i == q.answer:
                    qt.append(line + "  ✓ correct\n", style="bold green")
                elif revealed and answer == i:
                    qt.append(line + "  ✗ not this one\n", style="bold red")
                else:
                    qt.append(line + "\n")
            if revealed and q.why:
                qt.append(q.why + "\n", style="green")
            elif not revealed:
                act = "fire" if step.request is not None else "check it"
                qt.append(f"Predict first: press 1-{len(q.choices)}, then Enter to {act}.\n" if answer is None
                          else f"Your prediction is in (change it with 1-{len(q.choices)}): Enter to {act}.\n",
                          style="dim")
            parts.append(qt)
        for i in range(min(hints, len(step.hints))):
            parts.append(Text(f"Hint {i + 1}: {step.hints[i]}", style="yellow"))
        if step.hints and hints < len(step.hints):
            parts.append(Text(f"(h for a hint, {len(step.hints) - hints} left)", style="dim"))
        elif exercise:
            parts.append(Text("(o shows one way to solve it)", style="dim"))
        if step.look_for:
            parts.append(Text("Look at: " + ", ".join(map(_looked, step.look_for)), style="italic"))
        if busy:
            parts.append(Text("\n… the request is on its way", style="bold yellow"))
        elif outcomes is not None:
            # After a run, the pane scrolls to what the learner waited for: the answer, else the checks.
            self.anchor = len(parts) if q is None else next(k for k, p in enumerate(parts) if p is qt)
            checks = Text("\nWhat the trace shows:\n", style="bold")
            # An exercise's unmet check is the learner's work still to do, not a fault in the lesson.
            failed, failed_style = ("✗ not yet: ", "yellow") if exercise else ("✗ CHECK FAILED: ", "bold red")
            for o in outcomes:
                # A check's message can quote what the app answered.
                checks.append(("✓ " if o.ok else failed) + visible(o.message) + "\n", style="green" if o.ok else failed_style)
            parts.append(checks)
            if exercise and all(o.ok for o in outcomes):
                parts.append(Text("✓ Solved: every check of this exercise holds.", style="bold green"))
            elif exercise:
                parts.append(Text("Not solved yet: change your code and save, then press r to reload it and "
                                  "fire again (with --watch a save is enough).", style="yellow"))
            nxt = "; n for the next step" if index + 1 < total else "; this is the lesson's last step"
            parts.append(Text(f"Enter fires it again{nxt}.", style="dim"))
        elif step.request is None and (q is not None or step.checks) and can_fire:
            parts.append(Text("\nThis step sends no request: press Enter to check your answer against what "
                              "the session has shown so far.", style="bold"))
        elif step.request is not None and can_fire:
            parts.append(Text("\nPress Enter to fire the request.", style="bold"))
        elif step.request is not None:
            parts.append(Text("\nThis is a replay: the recorded requests are in the history.", style="dim"))
        if index + 1 == total and lesson.summary.strip():  # the lesson's end: what it taught, and what is next
            parts.append(Text("\nSummary", style="bold cyan"))
            parts.append(Markdown(lesson.summary.strip()))
        self._parts = parts
        self.update(Group(*parts))

    def anchor_y(self) -> int | None:
        """How many rows down the part to scroll to starts, at the pane's width (None: no run to show)."""
        if self.anchor is None or self.size.width <= 0:
            return None
        console = self.app.console
        before = Group(*self._parts[:self.anchor])
        return len(console.render_lines(before, console.options.update_width(self.size.width), pad=False))


def _looked(entry: str) -> str:
    """A ``look_for`` entry in words: a layer by its name, another named event as "validation of q",
    a stage's start as "the start of response"."""
    stage, dot, kind = entry.partition(".")
    if dot and ":" not in entry:
        return f"the {kind} of {stage}"
    stage, _, name = entry.partition(":")
    if not name:
        return stage
    return name if stage == "middleware" else f"{stage} of {name}"
