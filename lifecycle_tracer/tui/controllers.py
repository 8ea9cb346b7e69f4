"""Where the TUI's requests go: a lesson's app, the user's app, or a recording.

The app talks to a controller, never to the instrumentation: the controller
owns the server thread and the tracer, and hands the UI a sink.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from ..course.format import Lesson, Request, StepResult
from ..course.loader import origin
from ..events import TraceEvent
from ..instrument.stepper import Stepper


class Controller:
    lesson: Lesson | None = None
    title = "lifecycle-tracer"
    subtitle = ""
    can_fire = False
    can_reload = False
    watch = False  # `run --watch`: the TUI reloads the lesson file on every save
    redact = True  # hide secrets in the server's log lines too (off with --show-secrets)

    def __init__(self) -> None:
        self.stepper: Stepper | None = None
        self.failure: Exception | None = None  # what stopped start(), for the command to report

    def start(self, sink: Any) -> None:
        """Called on a worker thread once the UI is up."""

    def fire_step(self, index: int) -> StepResult:
        raise RuntimeError("this view has no lesson")

    def fire(self, request: Request) -> Any:
        raise RuntimeError("this view cannot send requests")

    def reload(self) -> Any:
        raise RuntimeError("only a lesson can be reloaded")

    def stop(self) -> None:
        pass

    def initial_events(self) -> list[TraceEvent]:
        return []

    def no_request_words(self) -> str:
        """What the picture says before the first request: how one arrives in this mode."""
        return "No request yet."

    def base_url(self) -> str | None:
        """The address requests were sent to, for a copied command; None when nothing is served."""
        server = getattr(self, "server", None) or getattr(getattr(self, "session", None), "server", None)
        return getattr(server, "url", None) if server is not None else None


class LessonController(Controller):
    can_fire = True
    can_reload = True

    def __init__(self, loaded: Any, *, port: int | None = None, record: Path | None = None,
                 show_secrets: bool = False) -> None:
        super().__init__()
        from ..course.session import LessonSession

        self.loaded = loaded
        self.lesson = loaded.lesson
        self.progress: Any = None  # the learner's Progress, when a person is at the keyboard
        self.title = f"{loaded.lesson.id}: {loaded.lesson.title}"
        self.session = LessonSession(loaded, port=port, record=record, show_secrets=show_secrets)
        self.redact = not show_secrets
        self.stepper = Stepper()
        self.session.tracer.stepper = self.stepper

    def start(self, sink: Any) -> None:
        self.session.tracer.add_sink(sink)
        self.session.__enter__()
        # Which copy runs, the learner's or the packaged one; short when it is under here.
        path = self.loaded.file.path.resolve()
        shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
        self.subtitle = f"app served at {self.session.server.url} · {shown} ({origin(path)})"

    @property
    def app(self) -> Any:
        """The app served now (after a reload, the new one), for the composer's list of routes."""
        return self.loaded.app

    @property
    def source(self) -> Path:
        """The lesson file being served, for an exercise's "your code" line and its solution."""
        return self.loaded.file.path

    def no_request_words(self) -> str:
        return "No request yet: press Enter to fire the step's request, or c to compose one."

    def fire_step(self, index: int) -> StepResult:
        step = self.lesson.steps[index]  # type: ignore[union-attr]
        if step.request is None:  # a reading step: its checks look at what the session holds so far
            return StepResult([], [], 0.0, session=self.session.rec.by_request())
        return self.session.run_step(step)

    def reload(self) -> Any:
        """Load the lesson file again and serve its new app on the same port (see ``LessonSession.reload``).

        Raises ``LessonError`` or ``LifespanFailed`` and keeps the old app serving when the new one cannot.
        """
        self.loaded = self.session.reload()
        self.lesson = self.loaded.lesson
        self.title = f"{self.lesson.id}: {self.lesson.title}"
        return self.loaded

    def fire(self, request: Request) -> Any:
        from ..course.session import fire

        with httpx.Client(base_url=self.session.server.url, timeout=120) as client:
            return fire(client, request)

    def stop(self) -> None:
        if self.stepper is not None:
            self.stepper.disable()
        self.session.__exit__(None, None, None)


class AppController(Controller):
    """``trace MODULE:APP``: the user's own app, no lesson pane."""

    can_fire = True

    def __init__(self, app: Any, target: str, *, host: str, port: int, record: Path | None,
                 show_secrets: bool) -> None:
        super().__init__()
        from ..instrument.tracer import instrument
        from ..server import ServerThread
        from ..sinks import JsonLinesSink

        self.title = f"tracing {target}"
        self.app = app
        self.redact = not show_secrets
        self.tracer = instrument(app, redact=not show_secrets)
        self.recording = JsonLinesSink(record) if record else None
        if self.recording is not None:
            self.tracer.add_sink(self.recording)
        self.server = ServerThread(app, host=host, port=port)
        self.stepper = Stepper()
        self.tracer.stepper = self.stepper

    def start(self, sink: Any) -> None:
        self.tracer.add_sink(sink)
        self.server.start()
        self.subtitle = f"send requests to {self.server.url} (browser, curl, httpie) or press c"

    def fire(self, request: Request) -> Any:
        from ..course.session import fire

        with httpx.Client(base_url=self.server.url, timeout=120) as client:
            return fire(client, request)

    def no_request_words(self) -> str:
        where = f" to {self.server.url}" if self.subtitle else ""  # the port is known once it serves
        return f"No request yet: send one{where} (a browser, curl, httpie), or press c to compose one."

    def stop(self) -> None:
        if self.stepper is not None:
            self.stepper.disable()
        try:
            self.server.stop()
        finally:  # the recording is written on its own thread: finish it, then close the file
            if self.recording is not None:
                self.tracer.remove_sink(self.recording)
                self.recording.close()


class ReplayController(Controller):
    """A recorded trace, or fixed events for tests: nothing is served."""

    def __init__(self, events: list[TraceEvent], title: str = "replay", lesson: Lesson | None = None) -> None:
        super().__init__()
        self.events = events
        self.title = title
        self.lesson = lesson

    def initial_events(self) -> list[TraceEvent]:
        return list(self.events)

    def no_request_words(self) -> str:
        return "The recording holds no request to show."
