"""Step mode for an app in another process: the ``Stepper`` the TUI talks to, carried over the viewer.

The TUI uses a ``Stepper`` (``enabled``, ``enable``, ``disable``,
``release``, ``paused``, ``on_pause``); ``RemoteStepper`` has the same face,
and sends each call to the app's ``StepControl`` (``sinks/live_step.py``)
as a command, where a real ``Stepper`` holds the request on the server's
own event loop. The app says where a request waits; ``on_pause(event)`` is
then called here, from the viewer's thread, as the in-process one calls it
from the server's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .events import TraceEvent


class RemoteStepper:
    def __init__(self, viewer: Any) -> None:
        self.viewer = viewer
        self.on_pause: Callable[[TraceEvent], None] | None = None
        self._enabled = False
        self._lock = threading.Lock()
        self._held: dict[str, TraceEvent] = {}  # request id (as shown) → the event it waits after
        viewer.on_paused = self._paused
        viewer.on_steppable = self._app_connected

    @property
    def enabled(self) -> bool:
        return self._enabled

    def enable(self) -> None:
        self._enabled = True
        self.viewer.command({"step": True})

    def disable(self) -> None:
        """Leave step mode: the app lets every held request go on."""
        self._enabled = False
        with self._lock:
            self._held.clear()
        self.viewer.command({"step": False})

    def paused(self) -> list[TraceEvent]:
        with self._lock:
            return list(self._held.values())

    def release(self, request_id: str | None = None) -> bool:
        """Let one held request (the given one, or the oldest) go on to its next stage."""
        with self._lock:
            if not self._held:
                return False
            rid = request_id if request_id in self._held else next(iter(self._held))
            del self._held[rid]
        self.viewer.command({}, request_id=rid)
        return True

    def _paused(self, event: TraceEvent) -> None:
        if not self._enabled:  # held before the app heard "off": let it go
            self.viewer.command({}, request_id=event.request_id)
            return
        with self._lock:
            self._held[event.request_id] = event
        if self.on_pause is not None:
            self.on_pause(event)

    def _app_connected(self) -> None:
        # An app restarted (or a new worker) starts with step mode off: tell it where the TUI is.
        if self._enabled:
            self.viewer.command({"step": True})
