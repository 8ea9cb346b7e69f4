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
        """An event from its JSON form, every field checked: ``ValueError`` says which one is wrong.

        A recording is data from a file, so anything the displays rely on
        (a number they compute with, text they split) is checked here, once.
        """
        if not isinstance(data, dict):
            raise ValueError(f"it is {_what(data)}, not a trace event object")
        missing = [name for name in _FIELDS if name not in data and name != "explain"]
        if missing:
            raise ValueError(f"the trace event is missing {', '.join(missing)}")
        return cls.from_fields(data["request_id"], data["seq"], data["stage"], data["kind"], data["name"],
                               data["t_ns"], data["detail"], data.get("explain"))

    @classmethod
    def from_fields(cls, request_id: Any, seq: Any, stage: Any, kind: Any, name: Any, t_ns: Any, detail: Any,
                    explain: Any = None) -> TraceEvent:
        """An event from its fields as read from JSON (a recording's object, or a live stream's array,
        which needs no dict made), every field checked: ``ValueError`` says which one is wrong."""
        if type(request_id) is not str or not 0 < len(request_id) <= MAX_ID_CHARS:
            raise ValueError(f"request_id is {_what(request_id)}, not an id of 1 to {MAX_ID_CHARS} characters")
        if type(stage) is not str or stage not in _STAGE_SET:
            raise ValueError(f"stage is {_what(stage)}, an unknown stage (they are {', '.join(STAGES)})")
        if type(kind) is not str or kind not in _KIND_SET:
            raise ValueError(f"kind is {_what(kind)}, an unknown kind (they are {', '.join(KINDS)})")
        if type(name) is not str:
            raise ValueError(f"name is {_what(name)}, not text")
        if type(seq) is not int or not 0 <= seq < _INT_LIMIT:
            raise ValueError(f"seq is {_what(seq)}, not a count from 0 (below 2**63)")
        if type(t_ns) is not int or not -_INT_LIMIT <= t_ns < _INT_LIMIT:
            raise ValueError(f"t_ns is {_what(t_ns)}, not a whole number of nanoseconds (below 2**63)")
        if type(detail) is not dict:
            raise ValueError(f"detail is {_what(detail)}, not an object")
        _check_detail(detail)
        if explain is not None and type(explain) is not str:
            raise ValueError(f"explain is {_what(explain)}, not text")
        return _tuple_new(cls, (request_id, seq, stage, kind, name, t_ns, detail, explain or None))


MAX_ID_CHARS = 200
_STAGE_SET, _KIND_SET = frozenset(STAGES), frozenset(KINDS)
# Times and counts stay within 64 bits, so arithmetic on them (a duration in ms) cannot overflow a float.
_INT_LIMIT = 2**63
_NONE = type(None)
# The facts that displays and exports compute with or take apart, and the types the tracer writes
# for them; any other fact is shown as it is.
_DETAIL_TYPES: dict[str, tuple[type, ...]] = {
    "status_code": (int, _NONE), "duration_ns": (int, _NONE), "line": (int, _NONE),
    "raised": (str, _NONE), "raised_name": (str, _NONE), "phase": (str, _NONE),
    "file": (str, _NONE), "function": (str, _NONE), "ok": (bool, _NONE), "held_ns": (int, _NONE),
}
_EXPECTED = {int: "a whole number or null", str: "text or null", bool: "true, false or null"}


def _check_detail(detail: dict[str, Any]) -> None:
    for key, types in _DETAIL_TYPES.items():
        if key in detail:
            value = detail[key]
            if type(value) not in types or (type(value) is int and not -_INT_LIMIT <= value < _INT_LIMIT):
                raise ValueError(f"detail.{key} is {_what(value)}, where a recording has {_EXPECTED[types[0]]}")
    headers = detail.get("headers")
    if headers is not None and not (type(headers) is list and all(
            type(pair) is list and len(pair) == 2 and type(pair[0]) is str and type(pair[1]) is str
            for pair in headers)):
        raise ValueError(f"detail.headers is {_what(headers)}, where a recording has a list of [name, value] text pairs")


def _what(value: Any) -> str:
    """A value as a few words for an error message, never the whole of it."""
    if value is None or type(value) is bool:
        return "null" if value is None else str(value).lower()
    if type(value) is float:
        return {"inf": "infinity", "-inf": "minus infinity", "nan": "NaN"}.get(str(value), f"the fraction {value}")
    if type(value) is int:
        return "a number of more than 19 digits" if abs(value) >= 10**19 else f"the number {value}"
    if type(value) is str:
        return f"the text {value[:40]!r}{'…' if len(value) > 40 else ''}" if value else "empty text"
    return {list: "a list", dict: "an object"}.get(type(value), type(value).__name__)
