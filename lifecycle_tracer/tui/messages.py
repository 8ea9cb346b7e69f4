"""App-wide messages. Threads other than the UI's speak to it only through these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from ..events import TraceEvent


class EventsArrived(Message):
    """New events are buffered in the UISink; drain them."""


@dataclass
class StepPaused(Message):
    """Step mode holds a request at ``event``."""

    event: TraceEvent


@dataclass
class StepFinished(Message):
    """A lesson step's request(s) came back; ``result`` is a StepResult or an exception."""

    step_index: int
    result: Any


@dataclass
class ComposedSent(Message):
    """A request from the composer came back (or failed)."""

    description: str
    status: Any
