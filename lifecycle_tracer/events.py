"""The event type, the stage names and the JSON round-trip.

Everything else in the package speaks in these terms, so they live in one
short module with no imports from the rest of the package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

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


@dataclass(frozen=True)
class TraceEvent:
    """One thing that happened while FastAPI handled one request.

    ``seq`` counts from 0 within a request and ``t_ns`` is a monotonic clock
    reading; neither goes back within a request. ``detail`` holds JSON-safe
    values only, so ``to_dict()``/``from_dict()`` round-trip exactly.
    """

    request_id: str
    seq: int
    stage: str
    kind: Kind
    name: str
    t_ns: int
    detail: dict[str, Any] = field(default_factory=dict)
    explain: str = ""

    @classmethod
    def _fast(
        cls,
        request_id: str,
        seq: int,
        stage: str,
        kind: str,
        name: str,
        t_ns: int,
        detail: dict[str, Any],
        explain: str,
    ) -> TraceEvent:
        # The tracer builds thousands of these a second; setting __dict__ in
        # one go skips the frozen dataclass's per-field object.__setattr__.
        ev = _new(cls)
        _setattr(
            ev,
            "__dict__",
            {
                "request_id": request_id,
                "seq": seq,
                "stage": stage,
                "kind": kind,
                "name": name,
                "t_ns": t_ns,
                "detail": detail,
                "explain": explain,
            },
        )
        return ev

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceEvent:
        missing = [name for name in _FIELDS if name not in data]
        if missing:
            raise ValueError(f"trace event is missing {', '.join(missing)}")
        if data["stage"] not in STAGES:
            raise ValueError(f"unknown stage {data['stage']!r}")
        if data["kind"] not in KINDS:
            raise ValueError(f"unknown kind {data['kind']!r}")
        return cls(
            request_id=str(data["request_id"]),
            seq=int(data["seq"]),
            stage=data["stage"],
            kind=data["kind"],
            name=str(data["name"]),
            t_ns=int(data["t_ns"]),
            detail=dict(data["detail"]),
            explain=str(data["explain"]),
        )
