"""Run one app three ways and compare: untraced, traced (checked against the oracle), and
traced with a sink that raises on every event.

Each way gets a fresh copy of the app. The untraced and the traced runs are
profiled (the same way), so their app-code calls can be compared too: a tracer
that calls a user's ``__repr__`` or ``__iter__`` shows up as an extra call.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .checks import Checker, Mismatch
from .oracle import CallRecorder, Exchange, HttpReq, LiveServer, Session, WsReq, build_all, run_session
from .registry import build_registry

NONDETERMINISTIC_HEADERS = {b"date", b"x-process-time", b"x-response-time"}  # clocks
_EXPIRES = re.compile(rb"expires=[^;]+GMT", re.I)


class BoomSink:
    """A sink that fails on every event; tracing must not disturb the app."""

    def __init__(self) -> None:
        self.calls = 0

    def emit(self, event: Any) -> None:
        self.calls += 1
        raise RuntimeError("boom")


class _Faults(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.records.append(record.getMessage())
        except Exception:
            self.records.append(str(record.msg))


@dataclass
class AppCopy:
    app: Any
    roots: tuple[str, ...]
    close: Callable[[], None] = lambda: None


@dataclass
class Case:
    """One app of the corpus: how to make a fresh copy, and the requests to send it."""

    name: str
    make: Callable[[], AppCopy]
    requests: Callable[[Any], list[HttpReq | WsReq]]  # from the untraced copy
    expect: Callable[[list[Exchange]], list[str]] | None = None  # the corpus's own claims, checked untraced


@dataclass
class Result:
    name: str
    requests: list[HttpReq | WsReq] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    corpus_errors: list[str] = field(default_factory=list)

    def report(self) -> str:
        lines = [str(m) for m in self.mismatches]
        lines += [f"[corpus] {self.name}: {e}" for e in self.corpus_errors]
        return "\n".join(lines)


def _scrub_message(item: tuple[Any, ...]) -> tuple[Any, ...]:
    typ, fields = item
    out = []
    for key, value in fields:
        if key == "headers":
            value = tuple((k, b"<varies>" if k.lower() in NONDETERMINISTIC_HEADERS else
                           (_EXPIRES.sub(b"expires=<clock>", v) if k.lower() == b"set-cookie" else v)) for k, v in value)
        out.append((key, value))
    return (typ, tuple(out))


def comparable(ex: Exchange) -> tuple[Any, ...]:
    messages, exc, timed_out = ex.comparable()
    return (tuple(_scrub_message(m) for m in messages), exc, timed_out)


def _app_calls(ex: Exchange) -> Counter[str]:
    return Counter(c.qualname for c in ex.calls if c.app)


def traced_groups(recorder: Any) -> list[list[Any]]:
    groups = []
    for evs in recorder.by_request().values():
        first = evs[0] if evs else None
        if first is not None and first.stage == "request" and first.detail.get("type") == "lifespan":
            continue
        if first is not None and first.stage == "request" and first.kind == "start" and first.detail.get("type") not in ("http", "websocket"):
            continue
        groups.append(evs)
    return groups


def run_case(case: Case, uvicorn: bool = True) -> Result:
    """Run the case in a scratch working directory: some docs examples write files (log.txt)."""
    with tempfile.TemporaryDirectory(prefix="truth-cwd-") as scratch:
        old = os.getcwd()
        os.chdir(scratch)
        try:
            return _run_case(case, uvicorn)
        finally:
            os.chdir(old)


def _run_case(case: Case, uvicorn: bool) -> Result:
    from lifecycle_tracer import Recorder, instrument

    result = Result(case.name)
    plain = case.make()
    try:
        requests = case.requests(plain.app)
        result.requests = requests
        built = build_all(requests)
        plain_reg = build_registry(plain.app)
        plain_calls = CallRecorder(plain.roots, plain_reg.handlers, set(plain_reg.deps))
        untraced = run_session(plain.app, requests, plain_calls, built)
        if case.expect is not None:
            result.corpus_errors += case.expect(untraced.exchanges)
    finally:
        plain.close()

    traced = case.make()
    faults = _Faults()
    logger = logging.getLogger("lifecycle_tracer")
    logger.addHandler(faults)
    try:
        recorder = Recorder()
        instrument(traced.app, sink=recorder)
        reg = build_registry(traced.app)
        calls = CallRecorder(traced.roots, reg.handlers, set(reg.deps))
        session = run_session(traced.app, requests, calls, built)
        checker = Checker(case.name, traced.app, reg, traced.roots)
        _check_session(checker, session, recorder)
        _transparency(checker, "traced", untraced, session)
        for ex_plain, ex_traced in zip(untraced.exchanges, session.exchanges, strict=False):
            extra = _app_calls(ex_traced) - _app_calls(ex_plain)
            missing = _app_calls(ex_plain) - _app_calls(ex_traced)
            checker.request = ex_traced.spec.id
            if extra or missing:
                checker.bad("transparency.app_calls", f"extra calls {dict(extra)}, missing {dict(missing)}",
                            "the same app code calls as the untraced run", "the tracer must never call the app's code")
            for c in ex_traced.calls:  # who made the extra calls
                if c.app and c.qualname in extra and c.caller and f"{os.sep}lifecycle_tracer{os.sep}" in c.caller[0]:
                    checker.bad("tracer.called_app_code", f"{c.caller[1]} called {c.qualname}",
                                "the tracer never calls the app's code (a __repr__, __iter__, property ...)")
        if uvicorn:
            _over_uvicorn(case, checker, requests, built)
    finally:
        logger.removeHandler(faults)
        traced.close()
    for text in faults.records:
        checker.request = "-"
        checker.bad("tracer.fault", text[:300], "no internal fault")

    boom = case.make()
    try:
        boom_sink = BoomSink()
        behind = Recorder()
        instrument(boom.app, sink=boom_sink).add_sink(behind)
        boom_session = run_session(boom.app, requests, None, built)
        _transparency(checker, "raising sink", untraced, boom_session)
        if requests and (boom_sink.calls == 0 or len(traced_groups(behind)) != len(boom_session.exchanges)):
            checker.request = "-"
            checker.bad("transparency.raising_sink.traced", f"{len(traced_groups(behind))} traced request(s), sink called {boom_sink.calls}x",
                        f"{len(boom_session.exchanges)} request(s) traced with a sink that raises")
    finally:
        boom.close()
    result.mismatches = checker.out
    _report(result)
    return result


def _check_session(checker: Checker, session: Session, recorder: Any) -> None:
    groups = traced_groups(recorder)
    used: set[int] = set()
    for i, ex in enumerate(session.exchanges):
        events = None
        # requests are sent one at a time, so the i-th trace is the i-th request's, if it has the same path
        for j in [i, *range(len(groups))]:
            if j < len(groups) and j not in used and groups[j] and groups[j][0].detail.get("path") == ex.scope.get("path"):
                events = groups[j]
                used.add(j)
                break
        checker.check(ex, events)


def _transparency(checker: Checker, label: str, plain: Session, other: Session) -> None:
    fact = "transparency.wire" if label == "traced" else "transparency.raising_sink.wire"
    for a, b in zip(plain.exchanges, other.exchanges, strict=False):
        if comparable(a) != comparable(b):
            checker.request = b.spec.id
            checker.bad(fact, _brief(b), _brief(a), f"{label} run differs from the untraced run")
    if len(plain.exchanges) != len(other.exchanges):
        checker.request = "-"
        checker.bad(fact, f"{len(other.exchanges)} exchanges", f"{len(plain.exchanges)} exchanges")
    if _warnings(plain) != _warnings(other):
        checker.request = "-"
        checker.bad(fact.replace("wire", "warnings"), sorted(other.warnings)[:5], sorted(plain.warnings)[:5])
    if plain.lifespan != other.lifespan:
        checker.request = "-"
        checker.bad(fact.replace("wire", "lifespan"), other.lifespan, plain.lifespan)


_ADDRESS = re.compile(r" at 0x[0-9a-f]+| at [0-9a-f]{8,}")


def _warnings(session: Session) -> list[tuple[str, str]]:
    return sorted((cat, _ADDRESS.sub(" at <address>", text)) for cat, text in session.warnings)


def _brief(ex: Exchange) -> str:
    parts = [f"{m.type}{' ' + str(m.message.get('status')) if 'status' in m.message else ''}"
             f"{' ' + repr(bytes(m.message.get('body', b''))[:60]) if 'body' in m.message else ''}" for m in ex.sent()]
    if ex.raised is not None:
        parts.append(f"raised {type(ex.raised).__name__}")
    return ", ".join(parts)


def _over_uvicorn(case: Case, checker: Checker, requests: list[HttpReq | WsReq], built: dict[str, Any]) -> None:
    from lifecycle_tracer import Recorder, instrument

    chosen = [r for r in requests if getattr(r, "uvicorn", False)]
    if not chosen:
        return
    copy = case.make()
    try:
        recorder = Recorder()
        instrument(copy.app, sink=recorder)
        reg = build_registry(copy.app)
        calls = CallRecorder(copy.roots, reg.handlers, set(reg.deps))
        live_checker = Checker(case.name + " (uvicorn)", copy.app, reg, copy.roots)
        exchanges: list[Exchange] = []
        with LiveServer(copy.app, calls) as server:
            for req in chosen:
                ex = server.websocket(req, built[req.id]) if isinstance(req, WsReq) else server.request(req, built[req.id])
                if ex is None:
                    live_checker.request = req.id
                    live_checker.bad("uvicorn.exchange", "-", "the request did not reach the app")
                    continue
                exchanges.append(ex)
                recorder.wait_for(lambda evs, n=len(exchanges): len(traced_groups_done(recorder)) >= n, timeout=10)
        _check_session(live_checker, Session(exchanges, [], []), recorder)
        checker.out.extend(live_checker.out)
    finally:
        copy.close()


def traced_groups_done(recorder: Any) -> list[list[Any]]:
    return [g for g in traced_groups(recorder) if g and g[-1].stage == "request" and g[-1].kind == "end"]


def _report(result: Result) -> None:
    """Append the mismatches to $LIFECYCLE_TRUTH_REPORT (JSON Lines), if set, for a summary."""
    path = os.environ.get("LIFECYCLE_TRUTH_REPORT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"case": result.name, "requests": len(result.requests),
                             "mismatches": [m.to_json() for m in result.mismatches],
                             "corpus_errors": result.corpus_errors}) + "\n")
