"""The lesson pane: narration, the predict-first question, hints, progress, check results."""

from __future__ import annotations

from rich.console import Group
from rich.markdown import Markdown
from rich.text import Text
from textual.widgets import Static

from ..course.format import Lesson, Outcome
from ..visible import visible


class LessonPane(Static):
    def show(self, lesson: Lesson, index: int, *, answer: int | None, revealed: bool, hints: int,
             outcomes: list[Outcome] | None, busy: bool, can_fire: bool = True) -> None:
        step = lesson.steps[index]
        total = len(lesson.steps)
        bar = "▓" * (index + 1) + "░" * (total - index - 1)
        parts: list = [
            Text(lesson.title, style="bold"),
            Text(f"Step {index + 1}/{total} {bar}  {step.title}", style="bold cyan"),
            Markdown(step.narration.strip()),
        ]
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
                qt.append(f"Predict first: press 1-{len(q.choices)}, then Enter to fire.\n", style="dim")
            parts.append(qt)
        for i in range(min(hints, len(step.hints))):
            parts.append(Text(f"Hint {i + 1}: {step.hints[i]}", style="yellow"))
        if step.hints and hints < len(step.hints):
            parts.append(Text(f"(h for a hint, {len(step.hints) - hints} left)", style="dim"))
        if step.look_for:
            parts.append(Text("Look at: " + ", ".join(step.look_for), style="italic"))
        if busy:
            parts.append(Text("\n… the request is on its way", style="bold yellow"))
        elif outcomes is not None:
            checks = Text("\nWhat the trace shows:\n", style="bold")
            for o in outcomes:
                # A check's message can quote what the app answered.
                checks.append(("✓ " if o.ok else "✗ CHECK FAILED: ") + visible(o.message) + "\n", style="green" if o.ok else "bold red")
            parts.append(checks)
            nxt = "n for the next step" if index + 1 < total else "that was the last step"
            parts.append(Text(f"Enter fires it again, {nxt}.", style="dim"))
        elif step.request is not None and can_fire:
            parts.append(Text("\nPress Enter to fire the request.", style="bold"))
        elif step.request is not None:
            parts.append(Text("\nThis is a replay: the recorded requests are in the history.", style="dim"))
        self.update(Group(*parts))
