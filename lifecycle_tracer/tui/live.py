"""``view`` in the TUI: events from apps in other processes, shown as they arrive (nothing is sent from here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..viewer import Viewer
from .controllers import Controller


class LiveController(Controller):
    """Listens for ``LiveSink`` streams; the viewer's notes (an app connected, events dropped) go to the log pane."""

    def __init__(self, *, host: str, port: int, token: str | None, record: Path | None) -> None:
        super().__init__()
        self._sink: Any = None
        self._early: list[Any] = []  # events before the UI's sink is attached
        self.notes: list[str] = []
        self.recording: Any = None
        if record:
            from ..sinks import JsonLinesSink

            self.recording = JsonLinesSink(record)
        self.viewer = Viewer(self._event, self._note, host=host, port=port, token=token)
        self.title = f"viewing apps that stream to {host}:{port}"

    def start(self, sink: Any) -> None:
        self._sink = sink
        for ev in self._early:
            sink.emit(ev)
        self._early.clear()
        self.subtitle = f"listening on {self.viewer.host}:{self.viewer.port}" + (
            f" · apps must set LIFECYCLE_TRACER_TOKEN={self.viewer.token}" if self.viewer.token else "")

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
        return ("No request yet: run your app with instrument(app, sink=LiveSink()) and send it a request; "
                "it appears here.")

    def stop(self) -> None:
        self.viewer.stop()
        if self.recording is not None:
            self.recording.close()
