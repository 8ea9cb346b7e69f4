"""Step mode: hold a real request at each stage boundary until released.

The request waits inside the running server, on the server's own event
loop, so the server keeps serving other requests and the UI stays live. A
paused request is released from any thread (a key press in the TUI); turning
step mode off releases every paused request.

The trace measures each hold and writes it on every later event
(``held_ns``, see ``RequestTrace.checkpoint``): durations shown leave the
learner's time out, and say it as its own fact.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..events import TraceEvent

# Boundaries worth stopping at: where a stage begins, and the moments the
# learner reads (routing decided). Only boundaries in async code can hold a
# request: parameter validation is synchronous, so its events are held
# together, at the next async boundary after them.
PAUSE_KINDS = frozenset({"start", "point"})


def holds_at(event: TraceEvent) -> bool:
    """Whether step mode stops after ``event``.

    On the way out it stops where each middleware has returned (an exception
    passing out is not held: a cancelled task must not wait on a gate).
    Other ends are not held: the boundary after each (a start, or a
    middleware returning) is.
    """
    if event.kind in PAUSE_KINDS:
        return True
    return event.kind == "end" and event.stage == "middleware" and "raised" not in event.detail


@dataclass
class Paused:
    event: TraceEvent
    loop: asyncio.AbstractEventLoop
    gate: asyncio.Event = field(default_factory=asyncio.Event)


class Stepper:
    """Shared by a tracer and its UI. ``on_pause(event)`` is called on the server's thread."""

    def __init__(
        self,
        on_pause: Callable[[TraceEvent], None] | None = None,
        select: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        self._enabled = False
        self._lock = threading.Lock()
        self._paused: dict[str, Paused] = {}
        self.on_pause = on_pause
        # Which requests to hold, decided once per request from its ASGI scope;
        # by default every request that arrives while step mode is on.
        self.select = select
        self._chosen: dict[str, bool] = {}

    @property
    def enabled(self) -> bool:
        return self._enabled

    def enable(self) -> None:
        self._enabled = True

    def disable(self) -> None:
        """Leave step mode: every paused request goes on."""
        self._enabled = False
        self.release_all()

    def paused(self) -> list[TraceEvent]:
        with self._lock:
            return [p.event for p in self._paused.values()]

    async def wait(self, event: TraceEvent, scope: dict[str, Any] | None = None) -> bool:
        """Called by the tracer right after ``event``; returns when released, saying whether it held."""
        if not self._enabled or not holds_at(event):
            return False
        chosen = self._chosen.get(event.request_id)
        if chosen is None:
            chosen = self.select is None or bool(self.select(scope or {}))
            if len(self._chosen) > 10000:
                self._chosen.clear()
            self._chosen[event.request_id] = chosen
        if not chosen:
            return False
        paused = Paused(event, asyncio.get_running_loop())
        with self._lock:
            self._paused[event.request_id] = paused
        if self.on_pause is not None:
            with contextlib.suppress(Exception):  # the UI's trouble must not hold the request forever
                self.on_pause(event)
        if not self._enabled:  # turned off while we were registering
            self._release(event.request_id)
        await paused.gate.wait()
        return True

    def release(self, request_id: str | None = None, *, exact: bool = False) -> bool:
        """Let one paused request (the given one, or the oldest; with ``exact`` only the given one) go on."""
        with self._lock:
            if not self._paused or (exact and request_id not in self._paused):
                return False
            rid = request_id if request_id in self._paused else next(iter(self._paused))
        return self._release(rid)

    def _release(self, request_id: str) -> bool:
        with self._lock:
            paused = self._paused.pop(request_id, None)
        if paused is None:
            return False
        paused.loop.call_soon_threadsafe(paused.gate.set)
        return True

    def release_all(self) -> None:
        with self._lock:
            ids = list(self._paused)
        for rid in ids:
            self._release(rid)
