"""The event type, the stage names and the JSON round-trip.

Everything else in the package speaks in these terms, so they live in one
short module. An event holds facts (``detail``); its sentence (``explain``)
is written from those facts by ``lifecycle_tracer.explain`` only when someone
reads it, as ``logging.LogRecord`` builds its message only when a handler
emits: recording stays cheap, and most events are never read.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Literal

from .explain import sentence

STAGES: tuple[str, ...] = (
    "request",
    "middleware",
    "routing",
    "dependency",
    "validation",
    "endpoint",
    "serialization",
    "response",
    "background",
    "exception",
    "websocket",
)

Kind = Literal["start", "end", "point"]
KINDS: tuple[str, ...] = ("start", "end", "point")

_tuple_new = tuple.__new__
_FIELDS = ("request_id", "seq", "stage", "kind", "name", "t_ns", "detail", "explain")


class TraceEvent(tuple):  # type: ignore[type-arg]
    """One thing that happened while FastAPI handled one request.

    ``seq`` counts from 0 within a request and ``t_ns`` is a monotonic clock
    reading; neither goes back within a request. ``detail`` holds JSON-safe
    facts only, so ``to_dict()``/``from_dict()`` round-trip exactly.
    ``explain`` is the plain-English sentence: given explicitly (a recording
    keeps the words it was made with), or written from the facts when read.

    Events are immutable: a tuple underneath, so making one costs a single
    allocation and holds no per-instance ``__dict__`` for the collector to walk.
    """

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]  # detail is a dict

    def __new__(
        cls,
        request_id: str,
        seq: int,
        stage: str,
        kind: Kind | str,
        name: str,
        t_ns: int,
        detail: dict[str, Any] | None = None,
        explain: str | None = None,
    ) -> TraceEvent:
        return _tuple_new(cls, (request_id, seq, stage, kind, name, t_ns, {} if detail is None else detail,
                                explain or None))

    @classmethod
    def _fast(cls, request_id: str, seq: int, stage: str, kind: str, name: str, t_ns: int,
              detail: dict[str, Any]) -> TraceEvent:
        # The tracer builds thousands of these a second: one tuple allocation.
        return _tuple_new(cls, (request_id, seq, stage, kind, name, t_ns, detail, None))

    request_id: str = property(itemgetter(0))  # type: ignore[assignment]
    seq: int = property(itemgetter(1))  # type: ignore[assignment]
    stage: str = property(itemgetter(2))  # type: ignore[assignment]
    kind: Kind = property(itemgetter(3))  # type: ignore[assignment]
    name: str = property(itemgetter(4))  # type: ignore[assignment]
    t_ns: int = property(itemgetter(5))  # type: ignore[assignment]
    detail: dict[str, Any] = property(itemgetter(6))  # type: ignore[assignment]

    @property
    def explain(self) -> str:
        text = self[7]
        return text if text is not None else sentence(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TraceEvent):
            return NotImplemented
        return tuple.__eq__(self[:7], other[:7]) and self.explain == other.explain

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __repr__(self) -> str:
        return (f"TraceEvent({self[0]!r}, {self[1]}, {self[2]!r}, {self[3]!r}, "
                f"{self[4]!r}, {self[5]}, {self[6]!r})")

    def __getnewargs__(self) -> tuple[Any, ...]:
        return tuple(self)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceEvent:
        missing = [name for name in _FIELDS if name not in data and name != "explain"]
        if missing:
            raise ValueError(f"trace event is missing {', '.join(missing)}")
        if data["stage"] not in STAGES:
            raise ValueError(f"unknown stage {data['stage']!r}")
        if data["kind"] not in KINDS:
            raise ValueError(f"unknown kind {data['kind']!r}")
        explain = data.get("explain")
        return cls(
            request_id=str(data["request_id"]),
            seq=int(data["seq"]),
            stage=data["stage"],
            kind=data["kind"],
            name=str(data["name"]),
            t_ns=int(data["t_ns"]),
            detail=dict(data["detail"]),
            explain=None if explain is None else str(explain),
        )
