"""Step mode over a ``LiveSink``: the app holds a request, the viewer in another process releases it.

The app's side of the channel. ``StepControl`` gives the tracer a real
``Stepper`` (the request waits on the server's own event loop, as it does
in one process) and reads the viewer's commands from the sink's connection:

    {"step": true}         hold each request that arrives from now on at every stage
    {"step": false}        stop holding; every held request goes on
    {"release": "r7"}      let r7 go on to its next stage

When a request is held, a ``{"paused": "r7", "seq": 12}`` line follows its
event in the stream, so the viewer knows where it waits. The app never
waits on a viewer that is gone: when the connection is lost every held
request goes on and step mode is off, and a request whose events the sink
dropped (so no viewer shows it) is not held at all.

Only an app that opts in is controlled this way (``LiveSink(steps=True)``:
``trace`` starts its child with ``LIFECYCLE_TRACER_STEP=1``); a ``LiveSink``
in a user's own server never is.
"""

from __future__ import annotations

import json
import socket
import threading
from typing import Any

from ..instrument.stepper import Stepper

COMMAND_BYTES = 4096  # a command is a few fields; a longer line is not one


class StepControl:
    """Made by ``LiveSink(steps=True)``; give the tracer its ``stepper`` (``tracer.stepper = sink.control.stepper``)."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.stepper = Stepper(on_pause=self._paused)
        self._conn: socket.socket | None = None

    def attach(self, conn: socket.socket) -> None:
        """A viewer connected (on the sink's writer thread): read its commands on a thread of their own."""
        self._conn = conn
        threading.Thread(target=self._read, args=(conn,), name="lifecycle-tracer step commands",
                         daemon=True).start()

    def detach(self) -> None:
        self._conn = None
        self.stepper.disable()

    def _paused(self, event: Any) -> None:
        # Called on the server's thread when a request is held after ``event``.
        if self._conn is None or not self.sink.showing(event.request_id):
            self.stepper.release(event.request_id, exact=True)  # nobody can see it, so nobody could let it go
            return
        self.sink.notice({"paused": event.request_id, "seq": event.seq})

    def _read(self, conn: socket.socket) -> None:
        # recv, not a file over the socket: the writer's timeout is on the socket, and a file's
        # state is undefined after a timeout. An idle viewer is no reason to stop listening.
        pending = b""
        while True:
            try:
                chunk = conn.recv(COMMAND_BYTES)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            if len(pending) > COMMAND_BYTES or not all(map(self._line, lines)):
                break
        if self._conn is conn:  # this viewer is gone; a newer connection keeps its own state
            self.detach()

    def _line(self, raw: bytes) -> bool:
        """Carry out one command; False if the line is not one (the viewer is then not listened to)."""
        try:
            command = json.loads(raw) if len(raw) <= COMMAND_BYTES else None
        except (ValueError, RecursionError):
            return False
        if not isinstance(command, dict):
            return False
        self._do(command)
        return True

    def _do(self, command: dict[str, Any]) -> None:
        step = command.get("step")
        if step is True:
            self.stepper.enable()
        elif step is False:
            self.stepper.disable()
        rid = command.get("release")
        if isinstance(rid, str):
            self.stepper.release(rid, exact=True)  # only the request named: never "the oldest" by mistake
