"""``view`` in the TUI: events from apps in other processes, shown as they arrive (nothing is sent from here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..viewer import Viewer
from .controllers import Controller


class LiveController(Controller):
    """Listens for ``LiveSink`` streams; the viewer's notes (an app connected, events dropped) go to the log pane."""

    def __init__(self, *, host: str, port: int, token: str | None, record: Path | None,
                 follow: str | None = None, tag: bool = True) -> None:
        super().__init__()
        self.follow, self.follow_token = follow, token
        self._sink: Any = None
        self._early: list[Any] = []  # events before the UI's sink is attached
        self.notes: list[str] = []
        self.recording: Any = None
        if record:
            from ..sinks import JsonLinesSink

            self.recording = JsonLinesSink(record)
        self.viewer = Viewer(self._event, self._note, host=host, port=port, token=None if follow else token, tag=tag)
        self.title = f"following the session at {follow}" if follow else f"viewing apps that stream to {host}:{port}"

    def connect(self) -> None:
        """Listen for apps, or reach the followed session; ``ViewerError`` says why not."""
        if self.follow is not None:
            self.viewer.follow(self.follow, str(self.follow_token))
        else:
            self.viewer.start()

    def start(self, sink: Any) -> None:
        self._sink = sink
        for ev in self._early:
            sink.emit(ev)
        self._early.clear()
        self.subtitle = ("read-only: the instructor's requests, as they happen" if self.follow else
                         f"listening on {self.viewer.host}:{self.viewer.port}" + (
                             f" · apps must set LIFECYCLE_TRACER_TOKEN={self.viewer.token}" if self.viewer.token
                             else ""))

    def _event(self, event: Any) -> None:
        if self.recording is not None:
            self.recording.emit(event)
        if self._sink is None:
            self._early.append(event)
        else:
            self._sink.emit(event)

    def _note(self, text: str) -> None:
        self.notes.append(text)
        import logging

        logging.getLogger("lifecycle_tracer.viewer").warning(text)  # the TUI's log pane takes this in

    def no_request_words(self) -> str:
        if self.follow:
            return "No request yet: the session's next request appears here as it happens."
        return ("No request yet: run your app with instrument(app, sink=LiveSink()) and send it a request; "
                "it appears here.")

    def stop(self) -> None:
        self.viewer.stop()
        if self.recording is not None:
            self.recording.close()


class ChildAppController(LiveController):
    """``trace``: the user's app served by uvicorn in a child process, streaming to this viewer.

    The TUI and the server no longer share one interpreter (one GIL), so
    drawing the screen never slows the server. Requests can be composed and
    sent to it, and step mode is carried over the channel
    (``viewer_step.RemoteStepper``). With ``reload`` the child is uvicorn's
    reloader, which restarts the app on every save; this history stays.
    """

    can_fire = True

    def __init__(self, target: str, *, host: str, port: int, app_dir: Path, record: Path | None,
                 show_secrets: bool, reload: bool = False, app: Any = None) -> None:
        from ..server import free_port
        from ..viewer_step import RemoteStepper

        # One process without --reload: its own request ids (r1) are shown. The reloader's
        # restarts each count from r1 again, so each restart's are tagged with its pid.
        super().__init__(host="127.0.0.1", port=free_port(), token=None, record=record, tag=reload)
        self.target, self.app_dir, self.show_secrets, self.reload = target, app_dir, show_secrets, reload
        self.app = app  # as loaded here to check it imports: the composer lists its routes
        self.redact = not show_secrets
        self.app_host, self.app_port = host, port or free_port(host)
        self.proc: Any = None
        self.output: list[str] = []  # the child's last lines, to say why it stopped
        self.stepper = RemoteStepper(self.viewer)
        self.title = f"tracing {target}, reloaded on every save" if reload else f"tracing {target}"

    @property
    def url(self) -> str:
        from ..server import url_host

        return f"http://{url_host(self.app_host)}:{self.app_port}"

    def base_url(self) -> str | None:
        return self.url

    def start(self, sink: Any) -> None:
        from ..reloader import start_child, wait_serving

        super().start(sink)
        self.proc = start_child(self.target, host=self.app_host, port=self.app_port, app_dir=self.app_dir,
                                viewer_port=self.viewer.port, show_secrets=self.show_secrets, on_line=self._line,
                                reload=self.reload, steps=True)
        if not self.reload:  # the reloader keeps trying on its own; a plain server that stopped is a failure
            wait_serving(self.proc, self.app_host, self.app_port, self.output)
        self.subtitle = f"send requests to {self.url} (browser, curl, httpie) or press c" + (
            " · reloads on save" if self.reload else "")

    def _line(self, text: str) -> None:
        self.output.append(text)
        del self.output[:-40]
        super()._note(text)  # the server's own output: the log pane takes it, and says so

    def _note(self, text: str) -> None:
        if text.endswith((" connected.", " disconnected.")):  # our own child coming and going: not news
            import logging

            self.notes.append(text)
            logging.getLogger("lifecycle_tracer.viewer").info(text)
            return
        super()._note(text)

    def fire(self, request: Any) -> Any:
        import httpx

        from ..course.session import fire

        with httpx.Client(base_url=self.url, timeout=120) as client:
            return fire(client, request)

    def no_request_words(self) -> str:
        return (f"No request yet: send one to {self.url} (a browser, curl, httpie), or press c to compose one."
                + (" Save a file of the app and it restarts; this history stays." if self.reload else ""))

    def stop(self) -> None:
        from ..reloader import stop_child

        self.stepper.disable()
        if self.proc is not None:
            stop_child(self.proc)
        super().stop()
