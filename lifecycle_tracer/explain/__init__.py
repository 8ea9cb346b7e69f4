"""Words: every plain-English sentence the tool shows, written from an event's facts.

Hooks record facts (``TraceEvent.detail``); this package turns them into one
sentence per event, only when someone reads it (``TraceEvent.explain``). A
sentence is a pure function of the event's stage, kind, name and facts. It
says what has happened, never what will: an app's own handler, a WebSocket,
a mount or a redirect can change what comes next, and the events that follow
say what did. The sentences of each stage live in a module of their own, in
one table (``_table.TABLE``), tested as a table in ``tests/test_explain.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import dependency, endpoint, exception, middleware, request, routing, validation
from ._table import TABLE

if TYPE_CHECKING:
    from ..events import TraceEvent

__all__ = ["TABLE", "sentence", "words"]
_MODULES = (dependency, endpoint, exception, middleware, request, routing, validation)


def words(stage: str, kind: str, name: str, detail: dict[str, Any]) -> str:
    """The sentence for one event's facts."""
    say = TABLE.get((stage, kind))
    if say is not None:
        try:
            text = say(name, detail)
            if text:
                return text
        except Exception:  # a fact of an unexpected shape (an old or hand-made recording)
            pass
    return f"{stage.capitalize()} {kind}: {name}."


def sentence(event: TraceEvent) -> str:
    return words(event.stage, event.kind, event.name, event.detail)
