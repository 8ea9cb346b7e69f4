"""The pipeline's vocabulary: a chip's states, the core stages, and how a layer is named and keyed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..events import TraceEvent

PENDING, ACTIVE, DONE, FAILED, SKIPPED, STOPPED = "pending", "active", "done", "failed", "skipped", "stopped"
SYMBOL = {PENDING: "○", ACTIVE: "◉", DONE: "✓", FAILED: "✗", SKIPPED: "–", STOPPED: "◐"}
WORD = {PENDING: "waiting", ACTIVE: "running", DONE: "done", FAILED: "FAILED", SKIPPED: "skipped", STOPPED: "stopped"}
CORE = ("routing", "dependencies", "validation", "endpoint", "serialization", "response", "background")


@dataclass
class Chip:
    key: str
    label: str
    state: str = PENDING
    note: str = ""
    detail: str = ""  # what a layer really is: the class a function middleware runs in
    depth: int = 0  # how deep a middleware layer sits (0: outermost)
    current: bool = False  # the stage of the last event shown, while the request is under way


def layer_label(ev: TraceEvent) -> tuple[str, str]:
    """A middleware layer as every pane names it: a function's own name, with its wrapping class as detail."""
    function = ev.detail.get("function")
    if isinstance(function, str) and function and function != ev.name:
        return own(function), ev.name
    return ev.name, ""


def own(name: str) -> str:
    """A function's own name, not its qualified one: an app made inside create_app() names its routes plainly."""
    return name.rsplit("<locals>.", 1)[-1]


def short(name: Any) -> str:
    return str(name).rsplit(".", 1)[-1]


def whole(value: Any, default: int = 0) -> int:
    return value if type(value) is int else default


def layer_key(ev: TraceEvent) -> str:
    # Two function middlewares are both called BaseHTTPMiddleware: their depth tells them apart.
    return f"mw:{whole(ev.detail.get('depth'))}:{ev.name}"


def is_done(events: list[TraceEvent]) -> bool:
    return bool(events) and events[-1].stage == "request" and events[-1].kind == "end"
