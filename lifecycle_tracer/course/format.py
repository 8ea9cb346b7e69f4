"""The lesson format: plain data a lesson module declares next to its app.

A lesson is a normal Python module in ``lessons/``: a FastAPI ``app``
written as a real app would be, and ``LESSON = Lesson(...)`` describing the
steps. Checks are small declarative objects evaluated against the trace of
the step's real request, so a lesson that becomes wrong after a FastAPI
upgrade fails instead of teaching something false.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..events import STAGES, TraceEvent


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    content: str | bytes | None = None
    # Fire this many copies at once (to show concurrency); the checks see the first.
    concurrent: int = 1
    # "http": through uvicorn, as a browser would. "testclient": in-process, through
    # fastapi.testclient.TestClient on the same (traced) app, as a test would.
    via: str = "http"

    def describe(self) -> str:
        from urllib.parse import urlencode

        qs = f"?{urlencode(self.query, doseq=True)}" if self.query else ""
        how = " (TestClient)" if self.via == "testclient" else ""
        return f"{self.method} {self.path}{qs}{how}"


@dataclass(frozen=True)
class WebSocketRequest:
    """Open a WebSocket, send each text once accepted, read one reply per text, close."""

    path: str
    send: Sequence[str] = ()
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "WEBSOCKET"
    concurrent: int = 1

    def describe(self) -> str:
        return f"WEBSOCKET {self.path}"


@dataclass
class WebSocketResponse:
    """What the client saw: the replies, and how the connection closed.

    ``status_code`` is 101 when the handshake was accepted, or the HTTP status
    of the refusal; ``close_code`` is the WebSocket close code, if any.
    """

    status_code: int
    received: list[str] = field(default_factory=list)
    close_code: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    text: str = ""
    local_port: int | None = None  # the client's port, to find this connection's trace

    def json(self) -> Any:
        return {"received": self.received, "close_code": self.close_code}


@dataclass(frozen=True)
class Question:
    """A predict-first question, answered before the request fires."""

    prompt: str
    choices: Sequence[str]
    answer: int  # index into choices
    why: str = ""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


@dataclass(frozen=True)
class StepResult:
    """What a step's request(s) produced: each response and each request's events.

    ``response`` and ``events`` are the first request's; ``responses`` and
    ``traces`` hold all of them when the step fires several at once.
    ``elapsed`` is the wall time, in seconds, from firing to the last answer.
    """

    responses: Sequence[Any]
    traces: Sequence[list[TraceEvent]]
    elapsed: float = 0.0
    # Every trace of the session so far, by id, lifespan startup included.
    session: dict[str, list[TraceEvent]] = field(default_factory=dict)

    @property
    def response(self) -> Any:
        return self.responses[0]

    @property
    def events(self) -> list[TraceEvent]:
        return self.traces[0]


@dataclass(frozen=True)
class Check:
    """One claim about the trace. ``describe`` is what the learner reads.

    ``test`` gets the ``StepResult`` and returns True, False, or a string
    saying what was seen instead (which also means False).
    """

    describe: str
    test: Callable[[StepResult], bool | str]

    def evaluate(self, result: StepResult) -> Outcome:
        try:
            verdict = self.test(result)
        except Exception as exc:  # a broken check is a failed check, with a reason
            return Outcome(False, f"{self.describe}: the check itself failed ({type(exc).__name__}: {exc})")
        if isinstance(verdict, str):
            return Outcome(False, f"{self.describe}: {verdict}")
        return Outcome(bool(verdict), self.describe)


def _matches(ev: TraceEvent, stage: str, kind: str | None, name: str | None) -> bool:
    return (
        ev.stage == stage
        and (kind is None or ev.kind == kind)
        and (name is None or ev.name == name or ev.name.endswith("." + name))
    )


def status(code: int) -> Check:
    def test(r: StepResult) -> bool | str:
        got = getattr(r.response, "status_code", None)
        return got == code or f"the status was {got}"

    return Check(f"the response status is {code}", test)


def has(stage: str, kind: str | None = None, name: str | None = None, **detail: Any) -> Check:
    """Some event of ``stage`` (and kind, name) exists whose detail includes ``detail``."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")
    label = " ".join(x for x in (stage, kind or "", name or "") if x)
    extra = ", ".join(f"{k}={v!r}" for k, v in detail.items())

    def test(r: StepResult) -> bool | str:
        found = [e for e in r.events if _matches(e, stage, kind, name)]
        if not found:
            return "no such event in the trace"
        for ev in found:
            if all(ev.detail.get(k) == v for k, v in detail.items()):
                return True
        return f"found {len(found)} such event(s) but none with {extra}"

    article = "an" if label[:1] in "aeiou" else "a"
    return Check(f"{article} {label} event{' with ' + extra if extra else ''} happens", test)


def lacks(stage: str, kind: str | None = None, name: str | None = None) -> Check:
    label = " ".join(x for x in (stage, kind or "", name or "") if x)

    def test(r: StepResult) -> bool | str:
        n = sum(1 for e in r.events if _matches(e, stage, kind, name))
        return n == 0 or f"it happened {n} time(s)"

    return Check(f"no {label} event happens", test)


def count(n: int, stage: str, kind: str | None = None, name: str | None = None) -> Check:
    label = " ".join(x for x in (stage, kind or "", name or "") if x)

    def test(r: StepResult) -> bool | str:
        got = sum(1 for e in r.events if _matches(e, stage, kind, name))
        return got == n or f"it happened {got} time(s)"

    return Check(f"{label} happens exactly {n} time(s)", test)


Spec = tuple[str, ...]  # (stage,) or (stage, kind) or (stage, kind, name)


def order(*specs: Spec) -> Check:
    """The first event matching each spec appears in this order."""
    labels = [" ".join(s) for s in specs]

    def test(r: StepResult) -> bool | str:
        positions = []
        for spec, label in zip(specs, labels, strict=True):
            stage, kind, name = (*spec, None, None)[:3]
            pos = next((i for i, e in enumerate(r.events) if _matches(e, stage, kind, name)), None)
            if pos is None:
                return f"'{label}' never happens"
            positions.append(pos)
        if positions != sorted(positions):
            return "they happen in another order: " + " → ".join(
                label for _, label in sorted(zip(positions, labels, strict=True))
            )
        return True

    return Check("in order: " + " → ".join(labels), test)


def body(predicate: Callable[[Any], bool], describe: str) -> Check:
    def test(r: StepResult) -> bool | str:
        try:
            data = r.response.json()
        except ValueError:
            data = r.response.text
        return bool(predicate(data)) or f"the body was {str(data)[:120]}"

    return Check(describe, test)


def custom(describe: str, test: Callable[[StepResult], bool | str]) -> Check:
    """Any claim about the step's result, for what the helpers above cannot say."""
    return Check(describe, test)


def header(name: str, present: bool = True, value: str | None = None) -> Check:
    """A response header is (or is not) present, optionally with this value."""

    def test(r: StepResult) -> bool | str:
        got = r.response.headers.get(name)
        if not present:
            return got is None or f"it was {got!r}"
        if got is None:
            return "it is missing"
        return value is None or got == value or f"it was {got!r}"

    what = f"has {name}" + (f": {value}" if value else "") if present else f"has no {name}"
    return Check(f"the response {what}", test)


@dataclass(frozen=True)
class Step:
    title: str
    narration: str
    # One request, or several fired at the same moment (to show concurrency).
    request: Request | WebSocketRequest | Sequence[Request | WebSocketRequest] | None = None
    # Stages to explain ("routing"), one named event of a stage ("middleware:ServerErrorMiddleware"),
    # or only a stage's start or end ("response.start").
    look_for: Sequence[str] = ()
    question: Question | None = None
    hints: Sequence[str] = ()
    checks: Sequence[Check] = ()
    # Plain mode folds runs of the stages the step does not look at into one line each (a step about
    # the layers, say, after a step that showed every stage).
    fold_rest: bool = False


@dataclass(frozen=True)
class Exercise(Step):
    """A step the learner solves by changing the lesson's app.

    The starting code sits in the lesson file between two marker lines
    (``# ── exercise NAME: your code starts here ──`` and ``… ends here ──``);
    ``region`` is NAME. The exercise is solved when every check holds. The
    reference solution for the region is kept beside the lesson, in
    ``solutions/<the lesson's file name>``, and shown only when asked.
    ``narration`` is the task, in the learner's words.
    """

    region: str = ""


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    goals: Sequence[str]
    topics: Sequence[str]
    steps: Sequence[Step]
    summary: str = ""

    @property
    def exercises(self) -> list[tuple[int, Exercise]]:
        """(step number, exercise) for every exercise, in order; step numbers count from 1."""
        return [(n, s) for n, s in enumerate(self.steps, 1) if isinstance(s, Exercise)]

    @property
    def questions(self) -> int:
        return sum(1 for s in self.steps if s.question is not None)
