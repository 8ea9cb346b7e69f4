"""The event type, the stage names and the JSON round-trip.

Everything else in the package speaks in these terms, so they live in one
short module. An event holds facts (``detail``); its sentence (``explain``)
is written from those facts by ``lifecycle_tracer.explain`` only when someone
reads it, as ``logging.LogRecord`` builds its message only when a handler
emits: recording stays cheap, and most events are never read.
"""

from __future__ import annotations

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

_new = object.__new__
_setattr = object.__setattr__
_FIELDS = ("request_id", "seq", "stage", "kind", "name", "t_ns", "detail", "explain")


class TraceEvent:
    """One thing that happened while FastAPI handled one request.

    ``seq`` counts from 0 within a request and ``t_ns`` is a monotonic clock
    reading; neither goes back within a request. ``detail`` holds JSON-safe
    facts only, so ``to_dict()``/``from_dict()`` round-trip exactly.
    ``explain`` is the plain-English sentence: given explicitly (a recording
    keeps the words it was made with), or written from the facts on first read.
    Events are immutable.
    """

    __hash__ = None  # type: ignore[assignment]  # detail is a dict

    def __init__(
        self,
        request_id: str,
        seq: int,
        stage: str,
        kind: Kind | str,
        name: str,
        t_ns: int,
        detail: dict[str, Any] | None = None,
        explain: str | None = None,
    ) -> None:
        _setattr(
            self,
            "__dict__",
            {
                "request_id": request_id,
                "seq": seq,
                "stage": stage,
                "kind": kind,
                "name": name,
                "t_ns": t_ns,
                "detail": {} if detail is None else detail,
                "_explain": explain or None,
            },
        )

    @classmethod
    def _fast(cls, request_id: str, seq: int, stage: str, kind: str, name: str, t_ns: int,
              detail: dict[str, Any]) -> TraceEvent:
        # The tracer builds thousands of these a second: one __dict__ assignment.
        ev = _new(cls)
        _setattr(ev, "__dict__", {"request_id": request_id, "seq": seq, "stage": stage, "kind": kind,
                                  "name": name, "t_ns": t_ns, "detail": detail, "_explain": None})
        return ev

    # The attributes __init__ sets (annotations only: they live in __dict__).
    request_id: str
    seq: int
    stage: str
    kind: Kind
    name: str
    t_ns: int
    detail: dict[str, Any]

    @property
    def explain(self) -> str:
        d = self.__dict__
        text = d["_explain"]
        if text is None:
            text = d["_explain"] = sentence(self)
        return text

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"TraceEvent is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"TraceEvent is immutable: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TraceEvent):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return (f"TraceEvent({self.request_id!r}, {self.seq}, {self.stage!r}, {self.kind!r}, "
                f"{self.name!r}, {self.t_ns}, {self.detail!r})")

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
