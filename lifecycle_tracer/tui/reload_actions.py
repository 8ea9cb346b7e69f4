"""Reloading the lesson file: on every save with ``run --watch``, and on r always (watching fails on some systems)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import work
from textual.message import Message

from ..visible import visible


@dataclass
class LessonReloaded(Message):
    """A reload finished: ``error`` is the sentence to show when the new version is not serving."""

    error: str | None


class ReloadActions:
    """Mixed into TracerApp; the state it uses (step_index, outcomes, busy, ...) lives there."""

    controller: Any
    ready: bool
    busy: bool
    step_index: int
    outcomes: dict[int, Any]
    answers: dict[int, int]
    revealed: set[int]
    watching = False

    def start_watching(self) -> None:
        if self.controller.watch and self.controller.can_reload:
            self.watch_lesson()

    @work(exclusive=True, group="watch")
    async def watch_lesson(self) -> None:
        import watchfiles

        from ..course.watch import only, watch_folder

        path = self.controller.loaded.file.path
        try:
            # The timeouts only say the watcher is armed (``watching``): a save from then on is seen.
            async for changed in watchfiles.awatch(watch_folder(path), watch_filter=only(path), recursive=False,
                                                   rust_timeout=1000, yield_on_timeout=True):
                self.watching = True
                if changed:
                    self.action_reload()
        except Exception as exc:  # no inotify, too many watches, a folder gone: r still works
            self.notify(visible(f"Watching {path.name} stopped ({exc}); press r to reload it by hand."),
                        severity="warning", markup=False, timeout=10)

    def action_reload(self) -> None:
        if not self.controller.can_reload:
            self.notify("Only a lesson's file can be reloaded.")
            return
        if not self.ready:
            self.notify("The server is starting…")
            return
        self.reload_lesson()

    @work(thread=True, group="reload")
    def reload_lesson(self) -> None:
        from ..course.loader import LessonError
        from ..course.session import reload_error
        from ..server import LifespanFailed

        try:
            self.controller.reload()
            error = None
        except (LessonError, LifespanFailed) as exc:
            error = reload_error(exc)
        except Exception as exc:  # reported, never a crash of the TUI: the old app is still serving
            error = f"Reloading failed ({type(exc).__name__}: {exc}) — the previous version keeps serving."
        self.post_message(LessonReloaded(error))

    def on_lesson_reloaded(self, message: LessonReloaded) -> None:
        if message.error is not None:
            self.notify(visible(message.error), severity="error", markup=False, timeout=15)
            return
        lesson = self.controller.lesson
        self.step_index = min(self.step_index, len(lesson.steps) - 1)
        self.outcomes.pop(self.step_index, None)  # they judged the old code
        self.title = visible(self.controller.title)
        name = self.controller.loaded.file.path.name
        step = lesson.steps[self.step_index]
        fired_before = step.question is None or self.step_index in self.revealed or self.step_index in self.answers
        if step.request is not None and fired_before and not self.busy:
            self.notify(visible(f"Reloaded {name}; firing step {self.step_index + 1} again."), markup=False)
            self.busy = True
            self.cursor = None
            self.follow_latest = True
            self.fire_step(self.step_index)
        else:  # firing now would reveal the answer before the learner predicted it
            self.notify(visible(f"Reloaded {name}."), markup=False)
        self.refresh_all()
