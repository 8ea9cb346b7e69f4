"""The lesson's keys: fire the step, answer first, hints, next and previous step."""

from __future__ import annotations

from typing import Any

from textual import work

from ..course.exercises import where_to_edit
from ..course.format import Exercise
from ..visible import visible
from .lesson_pane import LessonPane
from .messages import StepFinished


class LessonActions:
    """Mixed into TracerApp; the state it uses (step_index, answers, ...) lives there."""

    controller: Any
    step_index: int
    answers: dict[int, int]
    revealed: set[int]
    hints: dict[int, int]
    nudged: set[int]
    outcomes: dict[int, Any]
    busy: bool

    def refresh_lesson(self) -> None:
        lesson = self.controller.lesson
        if lesson is None:
            return
        i = self.step_index
        step = lesson.steps[i]
        source = getattr(self.controller, "source", None)
        where = where_to_edit(source, step.region) if isinstance(step, Exercise) and source else None
        self.query_one(LessonPane).show(
            lesson, i, answer=self.answers.get(i), revealed=i in self.revealed, hints=self.hints.get(i, 0),
            outcomes=self.outcomes.get(i), busy=self.busy, can_fire=self.controller.can_fire, where=where,
        )

    # The actions below; the app hides their keys when there is no lesson.
    _LESSON_ACTIONS = frozenset({"fire", "next_step", "previous_step", "answer", "hint", "solution", "scroll_lesson"})

    def action_scroll_lesson(self, rows: int) -> None:
        """The lesson pane scrolls from any pane: on a small screen its checks are below the fold."""
        found = self.query("#lesson-scroll")
        if found:
            found.first().scroll_relative(y=rows, animate=False)

    def action_fire(self) -> None:
        self._in_dialog()
        lesson = self.controller.lesson
        if lesson is None or not self.controller.can_fire:
            self.notify("Press c to compose a request." if self.controller.can_fire else "Nothing to fire in a replay.")
            return
        if not self.ready or self.busy:
            self.notify("Wait a moment: the previous request is still on its way." if self.busy else "The server is starting…")
            return
        step = lesson.steps[self.step_index]
        if step.request is None and step.question is None and not step.checks:
            self.notify("This step has no request; press n for the next one.")
            return
        i = self.step_index
        if step.question is not None and i not in self.answers and i not in self.revealed and i not in self.nudged:
            # Predict first: the answer is revealed by the request, so ask once before firing.
            self.nudged.add(i)
            self.notify(f"Predict first: press 1-{len(step.question.choices)}, or Enter again to fire without predicting.")
            return
        self.busy = True
        self.cursor = None
        self.follow_latest = True
        self.refresh_lesson()
        self.fire_step(self.step_index)

    @work(thread=True, group="requests")
    def fire_step(self, index: int) -> None:
        try:
            result: Any = self.controller.fire_step(index)
        except Exception as exc:
            result = exc
        self.post_message(StepFinished(index, result))

    def on_step_finished(self, message: StepFinished) -> None:
        from ..course.session import evaluate

        self.busy = False
        lesson = self.controller.lesson
        if isinstance(message.result, Exception):
            self.notify(visible(f"The request failed: {message.result}"), severity="error", markup=False)
        elif lesson is not None:
            step = lesson.steps[message.step_index]
            outcomes = self.outcomes[message.step_index] = evaluate(step, message.result)
            self.revealed.add(message.step_index)
            self._remember(message.step_index, outcomes)
            if message.result.traces and message.result.events:  # a reading step sends nothing to show
                self.selected = message.result.events[-1].request_id
            # Several requests: the checks speak of the first, so it is the one shown, not the newest.
            self.follow_latest = len(message.result.responses) <= 1
            if len(message.result.traces) > 1:  # the one shown may not be the one the question is about
                ids = ", ".join(visible(t[0].request_id) for t in message.result.traces if t)
                self.notify(f"This step sent {len(message.result.traces)} requests ({ids}); [ and ] move between "
                            "them, or pick one in the history.", markup=False)
        self._absorb(self.sink.drain())
        self.refresh_all()
        self.call_after_refresh(self.scroll_lesson_to_result)

    def scroll_lesson_to_result(self) -> None:
        """Bring the step's answer (or its checks) into view: on a small screen they are below the fold."""
        found = self.query("#lesson-scroll")
        y = self.query_one(LessonPane).anchor_y() if found else None
        if y is not None:
            found.first().scroll_to(y=y, animate=False)

    def _remember(self, index: int, outcomes: list[Any]) -> None:
        """The learner's progress: this step ran, its answer, and an exercise solved."""
        progress, lesson = getattr(self.controller, "progress", None), self.controller.lesson
        if progress is None or lesson is None:
            return
        # Said once, when this step is the one that finishes the lesson: a lesson done in an earlier
        # run is not announced again at the first step of the next.
        was_done = progress.is_done(lesson.id)
        progress.step_done(lesson.id, index + 1, self.answers.get(index))
        if isinstance(lesson.steps[index], Exercise) and all(o.ok for o in outcomes):
            progress.exercise_solved(lesson.id, index + 1)
        if progress.update_done(lesson) and not was_done:
            solved = " and every exercise solved" if lesson.exercises else ""
            self.notify(f"{lesson.id} done: every step run{solved}.")

    def action_solution(self) -> None:
        from ..course.exercises import ExerciseError, solution_path, solution_shown
        from .reading import ReadingScreen, solution_body

        lesson, source = self.controller.lesson, getattr(self.controller, "source", None)
        step = lesson.steps[self.step_index] if lesson is not None else None
        if not isinstance(step, Exercise) or source is None:
            self.notify("o shows a solution on an exercise step; exercises end each lesson (n to get there).")
            return
        try:
            code = solution_shown(source, step.region)
        except ExerciseError as exc:
            self.notify(visible(str(exc)), severity="error", markup=False)
            return
        self.push_screen(ReadingScreen(solution_body(step.title, code, where_to_edit(source, step.region),
                                                     str(solution_path(source)))))

    def action_glossary(self) -> None:
        from .reading import ReadingScreen, glossary_body

        self.push_screen(ReadingScreen(glossary_body()))

    def action_next_step(self) -> None:
        self._move_step(1)

    def action_previous_step(self) -> None:
        self._move_step(-1)

    def _move_step(self, delta: int) -> None:
        lesson = self.controller.lesson
        if lesson is None:
            return
        wanted = self.step_index + delta
        if wanted >= len(lesson.steps):
            self.notify(f"That was the last step of {lesson.id}; its summary ends the lesson pane.")
        elif wanted < 0:
            self.notify("This is the first step.")
        self.step_index = max(0, min(wanted, len(lesson.steps) - 1))
        self.refresh_lesson()
        self.query_one("#lesson-scroll").scroll_home(animate=False)  # a new step is read from its title

    def action_answer(self, choice: int) -> None:
        lesson = self.controller.lesson
        if lesson is None:
            return
        q = lesson.steps[self.step_index].question
        if q is None or self.step_index in self.revealed or choice >= len(q.choices):
            return
        self.answers[self.step_index] = choice
        self.refresh_lesson()

    def action_hint(self) -> None:
        lesson = self.controller.lesson
        if lesson is None:
            return
        step = lesson.steps[self.step_index]
        if not step.hints:
            self.notify("This step has no hints.")
            return
        shown = min(self.hints.get(self.step_index, 0) + 1, len(step.hints))
        progress = getattr(self.controller, "progress", None)
        if progress is not None and isinstance(step, Exercise):  # one count with `lifecycle-tracer hint`
            shown = max(shown, progress.next_hint(lesson.id, self.step_index + 1, len(step.hints)))
        self.hints[self.step_index] = shown
        self.refresh_lesson()

