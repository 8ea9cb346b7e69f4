"""Comparisons: one request's trace against what the oracle saw.

Each check produces ``Mismatch`` records, never an assertion, so a test can
list every disagreement for an app at once: app, request, fact, what the
trace said, what really happened. The facts follow the tracer's FACTS
CONTRACT (see README.md in this folder). Where a key is absent from an event
the check says so ("<absent>"): a missing fact is a mismatch too when the
contract names it.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import re
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from .oracle import _NOTSET as _NOT
from .oracle import Call, Exchange, WsReq
from .registry import Registry, is_async_declared, is_generator_declared, middleware_layers, module_of, qualname_of

ABSENT = "<absent>"


@dataclass(frozen=True)
class Mismatch:
    app: str
    request: str
    fact: str
    trace: Any
    oracle: Any
    note: str = ""

    def __str__(self) -> str:
        text = f"[{self.fact}] {self.app} :: {self.request}: trace said {_short(self.trace)}; oracle saw {_short(self.oracle)}"
        return text + (f" ({self.note})" if self.note else "")

    def to_json(self) -> dict[str, Any]:
        return {"app": self.app, "request": self.request, "fact": self.fact, "trace": _jsonable(self.trace),
                "oracle": _jsonable(self.oracle), "note": self.note}


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------
# Comparing a live value with the tracer's JSON-safe preview of it.

_TRUNC = re.compile(r"… \(\+\d+ chars\)$")
_SECRETISH = re.compile(r"(api[-_]?key|token|secret|password|passwd|authorization|cookie)", re.I)
REDACTED = "[redacted]"


def _is_redaction(pv: Any) -> bool:
    return pv == REDACTED or (isinstance(pv, str) and pv.startswith("<") and "hidden" in pv)


def hidden_only(shown: Any, actual: Any, separators: str) -> bool:
    """Whether ``shown`` is ``actual`` with some values replaced by [redacted] (a value never spans a separator)."""
    if shown == actual:
        return True
    if not isinstance(shown, str) or not isinstance(actual, str) or REDACTED not in shown:
        return False
    pattern = f"[^{re.escape(separators)}]*".join(re.escape(part) for part in shown.split(REDACTED))
    return re.fullmatch(pattern, actual) is not None


def _str_matches(actual: str, pv: Any) -> bool:
    if not isinstance(pv, str):
        return False
    if pv == actual:
        return True
    m = _TRUNC.search(pv)
    if m:
        return actual.startswith(pv[: m.start()])
    if pv.endswith("…"):
        return actual.startswith(pv[:-1])
    return False


def matches_preview(actual: Any, pv: Any, depth: int = 0) -> bool:
    """Whether ``pv`` is a faithful preview of ``actual``. Unverifiable objects pass."""
    if _is_redaction(pv):
        return True
    if isinstance(pv, str) and pv.lower() == f"<{type(actual).__name__.lower()}>":
        return True  # a placeholder naming the type: uninformative, but not false
    if depth > 6:
        return True
    if actual is None or isinstance(actual, bool):
        return pv is actual or pv == actual and type(pv) is type(actual)
    if isinstance(actual, enum.Enum):
        qualified = f"{type(actual).__name__}.{actual.name}"  # how the tracer previews a member
        return any(matches_preview(c, pv, depth + 1) for c in (actual.value, actual.name, qualified, repr(actual)))
    if isinstance(actual, int):
        return (pv == actual and not isinstance(pv, bool)) or pv == str(actual)
    if isinstance(actual, float):
        return pv == actual or pv == repr(actual) or pv == str(actual)
    if isinstance(actual, str):
        return _str_matches(actual, pv)
    if isinstance(actual, bytes | bytearray | memoryview):
        raw = bytes(actual)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = repr(raw)
        if _str_matches(text, pv) or _str_matches(repr(raw), pv):
            return True
        if isinstance(pv, dict | list):  # JSON bytes previewed as data (for redaction)
            try:
                return matches_preview(json.loads(raw), pv, depth + 1)
            except ValueError:
                return False
        return False
    if isinstance(actual, datetime.datetime | datetime.date | datetime.time | uuid.UUID | decimal.Decimal | PurePath | datetime.timedelta):
        if not isinstance(pv, str):
            return isinstance(pv, int | float)  # a number form (timedelta seconds, Decimal) is acceptable
        cands = [str(actual), repr(actual)]
        if hasattr(actual, "isoformat"):
            cands.append(actual.isoformat())
        return any(_str_matches(c, pv) for c in cands)
    if hasattr(type(actual), "__pydantic_fields__") and not isinstance(actual, type):
        if isinstance(pv, dict):
            data = getattr(actual, "__dict__", {})
            return all(k in data and matches_preview(data[k], v, depth + 1) for k, v in pv.items() if k != "…")
        return isinstance(pv, str)
    if dataclasses.is_dataclass(actual) and not isinstance(actual, type):
        if isinstance(pv, dict):
            names = {f.name for f in dataclasses.fields(actual)}
            return all(k in names and matches_preview(getattr(actual, k), v, depth + 1) for k, v in pv.items() if k != "…")
        return isinstance(pv, str)
    if type(actual) is dict:
        if not isinstance(pv, dict):
            return isinstance(pv, str)
        keys = {str(k): v for k, v in actual.items()}
        for k, v in pv.items():
            if k == "…":
                continue
            if k not in keys:
                return False
            if not matches_preview(keys[k], v, depth + 1):
                return False
        return True
    if type(actual) in (list, tuple):
        if not isinstance(pv, list):
            return isinstance(pv, str)
        items = list(actual)
        shown = [x for x in pv if not (isinstance(x, str) and x.startswith("… ") and x.endswith(" more"))]
        if len(shown) > len(items):
            return False
        return all(matches_preview(a, p, depth + 1) for a, p in zip(items, shown, strict=False))
    if type(actual) in (set, frozenset):
        return isinstance(pv, list | str)
    return True  # an object the preview cannot be checked against


# --------------------------------------------------------------------------
# Oracle facts, computed from one exchange's calls.


class Facts:
    """What really happened in one exchange, derived from the wire and the profile."""

    def __init__(self, ex: Exchange, reg: Registry, app: Any, roots: tuple[str, ...]) -> None:
        self.ex = ex
        self.reg = reg
        self.app = app
        self.roots = roots
        self.loop = ex.loop_thread
        self.calls = ex.calls

    def _from_app(self, call: Call) -> bool:
        if call.caller is None:
            return False
        fname = call.caller[0]
        return any(fname == r or fname.startswith(r.rstrip("/") + "/") for r in self.roots)

    def of_kind(self, kind: str) -> list[Call]:
        return [c for c in self.calls if c.kind == kind]

    # ---- endpoint
    def endpoint_calls(self) -> list[tuple[Any, Call]]:
        out = []
        for c in self.calls:
            if c.code in self.reg.endpoints and not self._from_app(c):
                obj = self.reg.endpoint_for(c.code, c.self_obj())
                if obj is not None:
                    out.append((obj, c))
        return out

    # ---- dependencies
    def dependency_calls(self) -> list[tuple[Any, Call]]:
        out = []
        for c in self.calls:
            if c.code in self.reg.deps and not self._from_app(c):
                obj = self.reg.dep_for(c.code, c.self_obj())
                if obj is not None:
                    out.append((obj, c))
        return out

    def sub_solves(self) -> list[Call]:
        """solve_dependencies recursions for a sub-dependency (not the endpoint's own)."""
        solves = self.of_kind("solve")
        # A recursion runs while an outer solve_dependencies is still open (by the shared clock);
        # the caller frame cannot tell, since a tracer may wrap the function FastAPI recurses through.
        return [c for c in solves if any(o is not c and o.ordinal < c.ordinal and (o.return_ordinal or 0) > c.ordinal
                                         for o in solves)]

    # ---- wire
    @property
    def final_body_ordinal(self) -> int | None:
        final = self.ex.final_body
        return final.ordinal if final is not None else None

    def after_response(self, ordinal: int) -> bool:
        fb = self.final_body_ordinal
        return fb is not None and ordinal > fb


def _explain_claims_worker(text: str) -> bool | None:
    t = text.lower()
    worker = "worker thread" in t or "threadpool" in t or "thread pool" in t
    loop = "on the event loop" in t or "awaits it" in t
    if worker and not loop:
        return True
    if loop and not worker:
        return False
    return None


def _explain_claims_after_response(text: str) -> bool | None:
    t = text.lower()
    if "after the response" in t:
        return True
    if "before the response" in t:
        return False
    return None


_JSON_CLASSES = {"JSONResponse", "ORJSONResponse", "UJSONResponse"}


# --------------------------------------------------------------------------
# The checks.


class Checker:
    def __init__(self, app_name: str, app: Any, reg: Registry, roots: tuple[str, ...]) -> None:
        self.app_name = app_name
        self.app = app
        self.reg = reg
        self.roots = roots
        self.out: list[Mismatch] = []
        self.request = ""

    def bad(self, fact: str, trace: Any, oracle: Any, note: str = "") -> None:
        self.out.append(Mismatch(self.app_name, self.request, fact, trace, oracle, note))

    # ------------------------------------------------------------------
    def check(self, ex: Exchange, events: list[Any] | None) -> None:
        spec = ex.spec
        self.request = getattr(spec, "id", "?")
        if events is None or not events:
            self.bad("request.traced", "no events", "the request ran")
            return
        facts = Facts(ex, self.reg, self.app, self.roots)
        for fn in (self.generic, self.request_facts, self.response_facts, self.endpoint_facts, self.dependency_facts,
                   self.validation_facts, self.exception_facts, self.routing_facts, self.middleware_facts,
                   self.background_facts, self.serialization_facts, self.websocket_facts, self.explain_facts):
            try:
                fn(ex, events, facts)
            except Exception as exc:  # a check that crashes is a harness bug: say so, do not hide it
                self.bad(f"harness.{fn.__name__}", "-", f"{type(exc).__name__}: {exc}", "the check itself failed")

    # ------------------------------------------------------------------
    def generic(self, ex: Exchange, events: list[Any], facts: Facts) -> None:
        seqs = [e.seq for e in events]
        if seqs != list(range(len(events))):
            self.bad("generic.seq", seqs, f"0..{len(events) - 1} without gaps")
        times = [e.t_ns for e in events]
        if any(b < a for a, b in zip(times, times[1:], strict=False)):
            self.bad("generic.t_ns", "t_ns decreased", "monotonic time")
        if not (events[0].stage == "request" and events[0].kind == "start"):
            self.bad("generic.first", f"{events[0].stage} {events[0].kind}", "request start")
        if not (events[-1].stage == "request" and events[-1].kind == "end"):
            self.bad("generic.last", f"{events[-1].stage} {events[-1].kind}", "request end")
        if len({e.request_id for e in events}) != 1:
            self.bad("generic.request_id", sorted({e.request_id for e in events}), "one request id")
        if not (ex.cancelled or ex.timed_out):
            open_: list[tuple[str, str]] = []
            for e in events:
                # A request's end is named "request", whatever its start was called.
                key = (e.stage, "request" if e.stage == "request" else e.name)
                if e.kind == "start":
                    open_.append(key)
                elif e.kind == "end":
                    if key in open_:
                        # remove the innermost matching start
                        idx = len(open_) - 1 - open_[::-1].index(key)
                        del open_[idx]
                    else:
                        self.bad("generic.unmatched_end", f"{e.stage} end {e.name} (seq {e.seq})", "a matching start before it")
            for stage, name in open_:
                self.bad("generic.unmatched_start", f"{stage} start {name}", "a matching end (the request was not cancelled)")

    # ------------------------------------------------------------------
    def request_facts(self, ex: Exchange, events: list[Any], facts: Facts) -> None:
        start = events[0]
        scope = ex.scope
        d = start.detail if start.stage == "request" else {}
        typ = scope["type"]
        if d.get("type", ABSENT) != typ:
            self.bad("request.start.type", d.get("type", ABSENT), typ)
        method = scope.get("method")
        if typ == "http":
            if d.get("method", ABSENT) != method:
                self.bad("request.start.method", d.get("method", ABSENT), method)
        elif d.get("method", ABSENT) not in ("GET", None, ABSENT):
            self.bad("request.start.method(websocket)", d.get("method"), "GET (the handshake) or no method",
                     "a WebSocket scope has no method; its handshake is an HTTP GET")
        if not hidden_only(d.get("path", ABSENT), scope.get("path"), "/"):
            self.bad("request.start.path", d.get("path", ABSENT), scope.get("path"))
        qs = scope.get("query_string", b"")
        qs = qs.decode("latin-1") if isinstance(qs, bytes) else str(qs)
        if not hidden_only(d.get("query_string", ABSENT), qs, "&#"):
            self.bad("request.start.query_string", d.get("query_string", ABSENT), qs)

        end = events[-1]
        if end.stage != "request" or end.kind != "end":
            return
        expected = self._wire_status(ex)
        if end.detail.get("status_code", ABSENT) != expected:
            self.bad("request.end.status_code", end.detail.get("status_code", ABSENT), expected,
                     self._status_note(ex))
        has_raised = "raised" in end.detail and end.detail.get("raised") is not None
        if ex.raised is not None and not has_raised:
            self.bad("request.end.raised", ABSENT, type(ex.raised).__qualname__, "an exception escaped the app")
        elif ex.raised is None and has_raised:
            self.bad("request.end.raised", end.detail.get("raised"), "nothing escaped the app")
        elif ex.raised is not None and type(ex.raised).__name__ not in str(end.detail.get("raised")):
            self.bad("request.end.raised", end.detail.get("raised"), type(ex.raised).__qualname__)

    def _wire_status(self, ex: Exchange) -> int | None:
        if ex.scope["type"] == "websocket":
            types = [m.type for m in ex.sent()]
            if "websocket.accept" in types:
                return 101
            if "websocket.http.response.start" in types:
                return int(ex.sent("websocket.http.response.start")[0].message["status"])
            if "websocket.close" in types:
                return 403
            return 500  # uvicorn answers a handshake the app never answered with 500
        status = ex.status
        if status is None:
            return 500  # nothing was sent: the server answers 500 itself
        return status

    def _status_note(self, ex: Exchange) -> str:
        if ex.scope["type"] == "websocket":
            return "101 when accepted, 403 when closed before accept, else the denial response's status"
        return "the status of http.response.start on the wire"

    # ------------------------------------------------------------------
    def response_facts(self, ex: Exchange, events: list[Any], facts: Facts) -> None:
        if ex.scope["type"] != "http":
            return
        starts = [e for e in events if e.stage == "response" and e.kind == "start"]
        ends = [e for e in events if e.stage == "response" and e.kind == "end"]
        wire_start = ex.response_start
        if wire_start is None:
            if starts:
                self.bad("response.start.exists", f"{len(starts)} response start event(s)", "no http.response.start sent")
            return
        if len(starts) != 1:
            self.bad("response.start.exists", f"{len(starts)} response start event(s)", "one http.response.start sent")
        if len(ends) != 1:
            self.bad("response.end.exists", f"{len(ends)} response end event(s)",
                     f"one response (final body {'sent' if ex.final_body else 'never sent'}, complete={ex.complete})")
        if starts:
            d = starts[0].detail
            if d.get("status_code", ABSENT) != ex.status:
                self.bad("response.start.status_code", d.get("status_code", ABSENT), ex.status)
            self._headers("response.start.headers", d.get("headers", ABSENT), ex.headers)
        if ends:
            d = ends[0].detail
            bodies = ex.body_messages
            total = sum(len(bytes(m.message.get("body", b""))) for m in bodies)
            if d.get("bytes", ABSENT) != total:
                self.bad("response.end.bytes", d.get("bytes", ABSENT), total)
            if d.get("chunks", ABSENT) != len(bodies):
                self.bad("response.end.chunks", d.get("chunks", ABSENT), len(bodies))
            if d.get("complete", ABSENT) != ex.complete:
                self.bad("response.end.complete", d.get("complete", ABSENT), ex.complete,
                         "final body message sent and send() returned normally with the client still there")
            if "status_code" in d and d["status_code"] != ex.status:
                self.bad("response.end.status_code", d["status_code"], ex.status)

    def _headers(self, fact: str, shown: Any, wire: list[tuple[bytes, bytes]]) -> None:
        actual = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in wire]
        if not isinstance(shown, list):
            self.bad(fact, shown, actual)
            return
        pairs = [tuple(p) if isinstance(p, list | tuple) and len(p) == 2 else p for p in shown]
        if [p[0] if isinstance(p, tuple) else p for p in pairs] != [k for k, _ in actual]:
            self.bad(fact, pairs, actual, "header names, in order")
            return
        for (name, value), (_, real) in zip(pairs, actual, strict=True):
            if value == real or _str_matches(real, value):
                continue
            if REDACTED in str(value) and (_SECRETISH.search(name) or name.lower() in ("set-cookie", "proxy-authorization")):
                continue
            self.bad(fact, [name, value], [name, real])

    # ------------------------------------------------------------------
    def endpoint_facts(self, ex: Exchange, events: list[Any], facts: Facts) -> None:
        evs = [e for e in events if e.stage == "endpoint"]
        called = facts.endpoint_calls()
        called_names = [qualname_of(obj) for obj, _ in called]
        traced_names = list(dict.fromkeys(e.name for e in evs))
        for name in traced_names:
            if name not in called_names:
                self.bad("endpoint.exists", f"endpoint events for {name}", f"endpoints really called: {called_names}")
        for obj, call in called:
            name = qualname_of(obj)
            mine = [e for e in evs if e.name == name]
            if not mine:
                self.bad("endpoint.exists", "no endpoint event", f"{name} was called")
                continue
            first = next((e for e in mine if e.kind in ("start", "point")), mine[0])
            # A `def` generator endpoint's first point is when FastAPI created the
            # generator: where its body runs is not known yet (threadpool None); the
            # point reported when its first item is pulled carries the thread.
            pulled = next((e for e in mine if e.detail.get("iterating")), None)
            d = dict(first.detail)
            if d.get("threadpool", ABSENT) is None and pulled is not None:
                d["threadpool"] = pulled.detail.get("threadpool")
            want = {
                "is_async": is_async_declared(obj),
                "threadpool": call.thread != facts.loop,
                "streaming": is_generator_declared(obj),
            }
            for key, value in want.items():
                if key == "streaming" and key not in d and not value:
                    continue  # the contract asks for streaming=True on generator endpoints
                if d.get(key, ABSENT) != value:
                    note = ""
                    if key == "threadpool":
                        note = "observed: the endpoint's code ran on " + ("a worker thread" if value else "the event loop thread")
                    self.bad(f"endpoint.{key}", d.get(key, ABSENT), value, note)
            args = d.get("args")
            if isinstance(args, dict) and call.args is not None:
                for key, pv in args.items():
                    if key not in call.args:
                        self.bad("endpoint.args", f"{key}={pv!r}", f"the endpoint has no argument {key}")
                    elif not matches_preview(call.args[key], pv):
                        self.bad("endpoint.args", f"{key}={_short(pv, 120)}", f"{key}={_safe_repr(call.args[key])}")
                declared = call.code.co_varnames[: call.code.co_argcount + call.code.co_kwonlyargcount]
                for key in declared:
                    if key in call.args and key not in args:
                        self.bad("endpoint.args", f"no argument {key}", f"{key} was passed")

    # ------------------------------------------------------------------
    def dependency_facts(self, ex: Exchange, events: list[Any], facts: Facts) -> None:
        evs = [e for e in events if e.stage == "dependency"]
        dep_calls = facts.dependency_calls()
        by_name: dict[str, list[tuple[Any, Call]]] = {}
        for obj, call in dep_calls:
            by_name.setdefault(qualname_of(obj), []).append((obj, call))
        setups = Counter(e.name for e in evs if e.kind == "start" and e.detail.get("phase", "setup") == "setup")
        teardown_starts = Counter(e.name for e in evs if e.kind == "start" and e.detail.get("phase") == "teardown")
        teardown_ends = Counter(e.name for e in evs if e.kind == "end" and e.detail.get("phase") == "teardown")
        cached = Counter(e.name for e in evs if e.kind == "point" and e.detail.get("cached"))
        for name in sorted(set(setups) | set(by_name)):
            n = len(by_name.get(name, []))
            if setups.get(name, 0) != n:
                self.bad("dependency.setup.count", f"{setups.get(name, 0)} setup start(s) of {name}", f"{n} call(s) of {name}")
        # cache hits: FastAPI solved the sub-dependant, found no error, and did not call it
        solved = Counter()
        observable = set()
        for c in facts.sub_solves():
            dependant = (c.args or {}).get("dependant")
            call = getattr(dependant, "call", None)
            if call is None:
                continue
            result = c.returned
            if result is _NOT or not hasattr(result, "errors"):
                continue  # it raised (an HTTPException from a security scheme, say): nothing was solved
            if result.errors:
                continue
            name = qualname_of(call)
            solved[name] += 1
            if any(m.obj is call for ms in self.reg.deps.values() for m in ms):
                observable.add(name)
        for name in sorted(set(solved) | set(cached)):
            if name not in observable and name in solved:
                continue  # its calls cannot be seen in the profile (a C function)
            expected_hits = max(solved.get(name, 0) - len(by_name.get(name, [])), 0)
            if cached.get(name, 0) != expected_hits:
                self.bad("dependency.cached", f"{cached.get(name, 0)} cached point(s) for {name}",
                         f"{expected_hits} per-request cache hit(s) (solved {solved.get(name, 0)}x, called {len(by_name.get(name, []))}x)")
        for name, pairs in by_name.items():
            obj, call = pairs[0]
            mine = [e for e in evs if e.name == name and e.kind == "start" and e.detail.get("phase", "setup") == "setup"]
            on_worker = call.thread != facts.loop
            if not is_generator_declared(obj):
                for e in mine[:1]:
                    if e.detail.get("threadpool", ABSENT) != on_worker:
                        self.bad("dependency.threadpool", e.detail.get("threadpool", ABSENT), on_worker,
                                 f"{name}'s code ran on " + ("a worker thread" if on_worker else "the event loop thread"))
                    claim = _explain_claims_worker(e.explain)
                    if claim is not None and claim != on_worker:
                        self.bad("dependency.explain.thread", e.explain, "worker thread" if on_worker else "event loop")
            elif mine and "threadpool" in mine[0].detail and mine[0].detail["threadpool"] != on_worker:
                self.bad("dependency.threadpool", mine[0].detail["threadpool"], on_worker, f"{name} (yield dependency) setup thread")
            if is_generator_declared(obj):
                ran = sum(1 for _, c in pairs if c.resumes)
                if teardown_starts.get(name, 0) != ran and not ex.cancelled:
                    self.bad("dependency.teardown.exists", f"{teardown_starts.get(name, 0)} teardown start(s) of {name}",
                             f"the code after yield ran {ran} time(s)")
                if teardown_ends.get(name, 0) != ran and not ex.cancelled:
                    self.bad("dependency.teardown.end", f"{teardown_ends.get(name, 0)} teardown end(s) of {name}",
                             f"the code after yield ran {ran} time(s)")
                tds = [e for e in evs if e.name == name and e.kind == "start" and e.detail.get("phase") == "teardown"]
                resumes = [c.resumes[0] for _, c in pairs if c.resumes]
                for e, (ordinal, _thread) in zip(tds, resumes, strict=False):
                    claim = _explain_claims_after_response(e.explain)
                    truth = facts.after_response(ordinal)
                    if claim is not None and claim != truth:
                        self.bad("dependency.teardown.explain.timing", e.explain,
                                 "teardown ran " + ("after" if truth else "before") + " the response's last body message")
        for name in setups:
            if name not in by_name:
                pass  # reported above as a count mismatch

    # ------------------------------------------------------------------
    def validation_facts(self, ex: Exchange, events: list[Any], facts: Facts) -> None:
        expected = self._expected_validation(facts)
        points = [e for e in events if e.stage == "validation"]
        remaining = list(points)
        for want in expected:
            match = next((p for p in remaining if p.detail.get("field") == want["field"]
                          and p.detail.get("location") == want["location"]), None)
            if match is None:
                match = next((p for p in remaining if p.name == want["field"]), None)
            if match is None:
                self.bad("validation.exists", "no validation point",
                         f"FastAPI processed {want['location']} field {want['field']!r}", want.get("why", ""))
                continue
            remaining.remove(match)
            self._compare_validation(match, want)
        for p in remaining:
            errs = p.detail.get("errors") or []
            if any(isinstance(e, dict) and e.get("type") == "json_invalid" for e in errs):
                # By design: FastAPI's JSON parse of the body is a check too, reported
                # from the RequestValidationError it raised (no field was processed).
                continue
            else:
                self.bad("validation.extra", f"point {p.name} {p.detail.get('location')}",
                         "FastAPI did not process that field here")

    def _expected_validation(self, facts: Facts) -> list[dict[str, Any]]:
        from fastapi import params as fparams

        out: list[dict[str, Any]] = []
        validates = facts.of_kind("validate")
        lookups = facts.of_kind("lookup")
        for call in sorted(facts.of_kind("params") + facts.of_kind("body"), key=lambda c: c.ordinal):
            args = call.args or {}
            is_body = call.kind == "body"
            fields = args.get("body_fields" if is_body else "fields") or []
            container = args.get("received_body" if is_body else "received_params")
            end = call.return_ordinal or 10**18
            inner = [v for v in validates if call.ordinal < v.ordinal < end and v.thread == call.thread]
            inner_lookups = [v for v in lookups if call.ordinal < v.ordinal < end and v.thread == call.thread]
            returned = call.returned if isinstance(call.returned, tuple) and len(call.returned) == 2 else (None, None)
            ret_values, ret_errors = returned
            for fld in fields:
                info = getattr(fld, "field_info", None)
                location = _location(info)
                model = _param_model(fld, location) or (_form_model(fld) if location == "form" else None)
                v = next((x for x in inner if (x.args or {}).get("field") is fld), None)
                want: dict[str, Any] = {"field": fld.name, "location": location, "model": model is not None}
                loc = tuple((v.args or {}).get("loc") or ()) if v else ()
                whole = is_body and loc == ("body",)
                want["whole"] = whole
                if v is not None and isinstance(v.returned, tuple) and len(v.returned) == 2:
                    value, errs = v.returned
                    want["ok"] = not errs
                    want["errors"] = list(errs or [])
                    if not errs:
                        want["value"] = value
                elif isinstance(ret_values, dict):
                    want["ok"] = fld.name in ret_values
                    if want["ok"]:
                        want["value"] = ret_values[fld.name]
                    names = {fld.name, getattr(fld, "alias", None)}
                    want["errors"] = [e for e in (ret_errors or []) if isinstance(e, dict)
                                      and len(tuple(e.get("loc") or ())) > 1 and tuple(e["loc"])[1] in names]
                # the name FastAPI looked the value up under
                alias = None
                if model is None and not whole:
                    if len(loc) >= 2 and isinstance(loc[1], str):
                        alias = loc[1]
                    else:
                        lk = next((x for x in inner_lookups if (x.args or {}).get("field") is fld), None)
                        alias = (lk.args or {}).get("alias") if lk else None
                        alias = alias or getattr(fld, "alias", None) or fld.name
                want["alias"] = alias
                # what the request carried under that name
                if model is not None:
                    names = [n for m in (model if isinstance(model, list) else [model]) for n in _model_names(m, location, info)]
                    present = [n for n in names if _contains(container, n)]
                    empty = hasattr(container, "multi_items") and len(container) == 0
                    # only "sent" is asserted for models: True when one of its fields was sent,
                    # False when the request carried nothing at all
                    want["sent"] = True if present else (False if empty else None)
                    want["why"] = "a parameter or form model"
                elif whole:
                    from pydantic_core import PydanticUndefined

                    want["sent"] = container is not None and container is not PydanticUndefined and container != b"" \
                        and not (hasattr(container, "multi_items") and len(container) == 0)
                    want["raw"] = container if want["sent"] else None
                else:
                    present = alias is not None and _contains(container, alias)
                    want["sent"] = present
                    want["raw"] = _raw_value(container, alias) if present else None
                    if present and v is not None and "value" in (v.args or {}):
                        # exactly what FastAPI handed to the check (a list for a list-typed parameter)
                        want["raw"] = v.args["value"]
                out.append(want)
        _ = fparams
        return out

    def _compare_validation(self, p: Any, want: dict[str, Any]) -> None:
        d = p.detail
        label = f"{want['location']} {want['field']}"
        if d.get("location", ABSENT) != want["location"]:
            self.bad("validation.location", f"{label}: {d.get('location', ABSENT)}", want["location"])
        if want.get("alias") is not None and d.get("alias", ABSENT) != want["alias"]:
            self.bad("validation.alias", f"{label}: {d.get('alias', ABSENT)}", want["alias"],
                     "the name FastAPI looked up in the request")
        sent = want.get("sent")
        if d.get("sent", ABSENT) is None:
            # Older FastAPI hands its check the default when nothing was sent: a value equal
            # to the default leaves "sent" unobservable, and the tracer says so (None).
            sent = None
        if sent is not None and d.get("sent", ABSENT) != sent:
            self.bad("validation.sent" + ("(param model)" if want["model"] else ""), f"{label}: {d.get('sent', ABSENT)}", sent)
        if not want["model"] and sent is not None and d.get("sent", ABSENT) is not None and "raw" in want:
            raw = want["raw"]
            if raw is None:
                if d.get("raw", ABSENT) is not None:
                    self.bad("validation.raw", f"{label}: {d.get('raw', ABSENT)!r}", None, "nothing was sent")
            elif "raw" not in d or not matches_preview(raw, d["raw"]):
                self.bad("validation.raw", f"{label}: {_short(d.get('raw', ABSENT), 120)}", _safe_repr(raw))
        if "ok" in want:
            if d.get("ok", ABSENT) != want["ok"]:
                self.bad("validation.ok", f"{label}: {d.get('ok', ABSENT)}", want["ok"], _short(want.get("errors"), 200))
            elif want["ok"] and "value" in want:
                if "value" not in d:
                    self.bad("validation.value", f"{label}: {ABSENT}", _safe_repr(want["value"]))
                elif not matches_preview(want["value"], d["value"]):
                    self.bad("validation.value", f"{label}: {_short(d['value'], 120)}", _safe_repr(want["value"]))
            elif not want["ok"]:
                self._compare_errors(label, d.get("errors", ABSENT), want.get("errors") or [])

    def _compare_errors(self, label: str, shown: Any, real: list[dict[str, Any]]) -> None:
        if not isinstance(shown, list):
            self.bad("validation.errors", f"{label}: {shown}", _short(real, 200))
            return
        if len(shown) != len(real):
            self.bad("validation.errors.count", f"{label}: {len(shown)} error(s)", f"{len(real)}: {_short([e.get('loc') for e in real], 200)}")
            return
        for s, r in zip(shown, real, strict=True):
            if not isinstance(s, dict):
                self.bad("validation.errors", f"{label}: {s!r}", r)
                continue
            if list(s.get("loc", ())) != [p if isinstance(p, int) else str(p) for p in r.get("loc", ())]:
                self.bad("validation.errors.loc", f"{label}: {s.get('loc')}", list(r.get("loc", ())))
            if s.get("type") != r.get("type"):
                self.bad("validation.errors.type", f"{label}: {s.get('type')}", r.get("type"))
            if s.get("msg") != r.get("msg"):
                self.bad("validation.errors.msg", f"{label}: {s.get('msg')}", r.get("msg"))
            if "input" in s and not matches_preview(r.get("input"), s["input"]):
                self.bad("validation.errors.input", f"{label}: {_short(s['input'], 120)}", _safe_repr(r.get("input")))

    # ------------------------------------------------------------------
    def exception_facts(self, ex: Exchange, events: list[Any], facts: Facts) -> None:
        evs = [e for e in events if e.stage == "exception"]
        handled: list[dict[str, Any]] = []
        for c in facts.of_kind("handler"):
            handler = self.reg.handlers.get(c.code)
            response = c.returned
            status = getattr(response, "status_code", None) if response is not _NOT else None
            handled.append({"name": qualname_of(handler), "module": module_of(handler), "status": status, "call": c})
        sem = facts.of_kind("server_error_response")
        unhandled_500 = bool(sem) and any(m.ordinal > sem[0].ordinal and m.message.get("status") == 500
                                          for m in ex.sent("http.response.start"))
        named = [e for e in evs if e.detail.get("handler") is not None]
        unnamed = [e for e in evs if e.detail.get("handler") is None]
        names_trace = [e.detail.get("handler") for e in named]
        names_real = [h["name"] for h in handled]
        if names_trace != names_real:
            self.bad("exception.handler", names_trace or "no handler named", names_real or "no exception handler was called",
                     "handlers really called, in order")
        for e, h in zip(named, handled, strict=False):
            if e.detail.get("handler") != h["name"]:
                continue
            d = e.detail
            if d.get("handler_module", ABSENT) != h["module"]:
                self.bad("exception.handler_module", f"{h['name']}: {d.get('handler_module', ABSENT)}", h["module"])
            if d.get("handled", ABSENT) is not True:
                self.bad("exception.handled", f"{h['name']}: {d.get('handled', ABSENT)}", True, "the handler answered")
            if d.get("status_code", ABSENT) != h["status"]:
                self.bad("exception.status_code", f"{h['name']}: {d.get('status_code', ABSENT)}", h["status"],
                         "the status of the response the handler returned")
        # An unhandled exception is reported as it reaches ServerErrorMiddleware, before
        # anything is answered: it claims no status (the response start says 500).
        if unhandled_500 and not any(e.detail.get("status_code") is None and e.detail.get("handled") is False for e in unnamed):
            self.bad("exception.unhandled", [(e.name, e.detail.get("handler"), e.detail.get("status_code")) for e in evs],
                     "ServerErrorMiddleware answered 500 itself, with no handler")
        for e in unnamed:
            status = e.detail.get("status_code")
            if status is not None and not unhandled_500:
                self.bad("exception.unhandled", f"{e.name}: handler None, status 500",
                         f"ServerErrorMiddleware did not send a 500 itself; handlers called: {names_real}")
            if e.detail.get("handled") is True:
                self.bad("exception.handled", f"{e.name}: handled=True with handler None", "no handler")

    # ------------------------------------------------------------------
    def routing_facts(self, ex: Exchange, events: list[Any], facts: Facts) -> None:
        points = [e for e in events if e.stage == "routing"]
        router_ran = bool(facts.of_kind("router_app"))
        if not points:
            if router_ran:
                self.bad("routing.exists", "no routing point", "the router ran")
            return
        if not router_ran:
            self.bad("routing.exists", f"{len(points)} routing point(s)", "the router never ran (a middleware answered first)")
            return
        # A mounted app that is traced too has a router of its own: the last
        # routing point is the innermost router's decision, the one with the leaf.
        d = points[-1].detail
        outcome = self._router_outcome(ex, facts)
        leaf = self._leaf(facts)
        matched = leaf is not None and outcome is None
        if d.get("matched", ABSENT) != matched:
            self.bad("routing.matched", d.get("matched", ABSENT), matched, f"router outcome: {outcome or 'a route handled it'}")
        if matched:
            route = self._route_template(facts, leaf)
            if route is not None and d.get("route", ABSENT) != route:
                self.bad("routing.route", d.get("route", ABSENT), route, "the matched path template, with prefixes")
            endpoint = getattr(leaf, "endpoint", None)
            if endpoint is not None and d.get("endpoint", ABSENT) != qualname_of(endpoint):
                self.bad("routing.endpoint", d.get("endpoint", ABSENT), qualname_of(endpoint))
            cands = d.get("candidates")
            if isinstance(cands, list) and route is not None and not any(
                    isinstance(c, dict) and c.get("path") == route and c.get("match") == "full" for c in cands):
                self.bad("routing.candidates", _short([(c.get("path"), c.get("match")) for c in cands if isinstance(c, dict)], 200),
                         f"{route} matched fully")
            if d.get("status") is not None:
                self.bad("routing.status", d.get("status"), "no router answer (a route matched)")
        elif outcome is not None:
            code = outcome[0]
            if code is None:
                if d.get("ws_closed") is None:
                    self.bad("routing.ws_closed", d.get("ws_closed", ABSENT), "a close code", outcome[1])
            elif d.get("status", ABSENT) != code:
                said = d.get("status", ABSENT)
                if said == ABSENT and "status_hint" in d:
                    said = f"{ABSENT} (status_hint={d['status_hint']})"
                self.bad("routing.status", said, code, outcome[1])
            if code == 405:
                allow = ex.header("allow")
                if allow is None:
                    allow = outcome[2]
                want = sorted(m.strip() for m in (allow or "").split(",") if m.strip())
                got = d.get("allowed", ABSENT)
                if not isinstance(got, list) or sorted(got) != want:
                    self.bad("routing.allowed", got, want, "the methods in the Allow header actually sent")
        self._top_level_candidates(d, facts)

    def _leaf(self, facts: Facts) -> Any:
        leaf = None
        for c in facts.of_kind("handle"):
            obj = c.self_obj()
            if obj is not None and hasattr(obj, "endpoint") and type(obj).__name__ != "Mount":
                leaf = obj
        return leaf

    def _router_outcome(self, ex: Exchange, facts: Facts) -> tuple[int, str, str | None] | None:
        for c in facts.calls:
            caller = c.caller[1] if c.caller else ""
            if c.kind == "not_found":
                if ex.scope["type"] == "websocket":
                    # The routing point records the close the router sent (ws_closed); the
                    # HTTP 403 is the server's answer to it, in the request's end.
                    return (None, "Router.not_found closed the WebSocket before accepting it (HTTP 403)", None)
                return (404, "Router.not_found answered", None)
            if c.kind == "http_exception" and caller.endswith(".handle"):
                status = (c.args or {}).get("status_code")
                headers = (c.args or {}).get("headers") or {}
                return (int(status), f"{caller} raised HTTPException({status})", headers.get("Allow"))
            if c.kind == "response_init" and caller.endswith(".handle"):
                status = (c.args or {}).get("status_code")
                if status == 405:
                    headers = (c.args or {}).get("headers") or {}
                    return (405, f"{caller} answered 405", headers.get("Allow"))
            if c.kind == "response_init" and caller in ("Router.app", "APIRouter.app"):
                obj = c.self_obj()
                if type(obj).__name__ == "RedirectResponse":
                    return (307, "the router's redirect_slashes answered", None)
        return None

    def _route_template(self, facts: Facts, leaf: Any) -> str | None:
        selected = [c for c in facts.of_kind("route_selected") if (c.args or {}).get("path") is not None]
        if selected:
            prefix = ""
            route = None
            for c in selected:
                path = c.args["path"]
                if c.args.get("mount"):
                    prefix += path.removesuffix("/{path}")
                else:
                    route = prefix + path
            if route is not None:
                return route
        prefix = ""
        for c in facts.of_kind("handle"):
            obj = c.self_obj()
            if type(obj).__name__ == "Mount":
                prefix += getattr(obj, "path", "")
        template = getattr(leaf, "path_format", None) or getattr(leaf, "path", None)
        return prefix + template if isinstance(template, str) else None

    def _top_level_candidates(self, d: dict[str, Any], facts: Facts) -> None:
        cands = d.get("candidates")
        if not isinstance(cands, list):
            return
        path = facts.ex.scope.get("path")
        real: dict[str, str] = {}
        for c in facts.of_kind("matches"):
            if not c.caller or c.caller[1] not in ("Router.app", "APIRouter.app"):
                continue
            scope = (c.args or {}).get("scope") or {}
            if scope.get("path") != path or scope is not facts.ex.scope:
                continue
            route = c.self_obj()
            if not hasattr(route, "endpoint") or type(route).__name__ == "Mount":
                continue
            result = c.returned
            if isinstance(result, tuple) and result:
                key = (getattr(route, "path_format", ""), tuple(sorted(getattr(route, "methods", None) or ())))
                real.setdefault(key, getattr(result[0], "name", str(result[0])).lower())
        for cand in cands:
            if not isinstance(cand, dict):
                continue
            key = (cand.get("path"), tuple(sorted(cand.get("methods") or ())))
            if key in real and cand.get("match") != real[key]:
                self.bad("routing.candidates.match", f"{cand['path']} {list(key[1])}: {cand.get('match')}", real[key])

    # ------------------------------------------------------------------
    def middleware_facts(self, ex: Exchange, events: list[Any], facts: Facts) -> None:
        layers = middleware_layers(self.app)
        if not layers:
            return
        router = getattr(self.app, "router", None)
        chain = [*layers, router]
        first_call: dict[int, Call] = {}
        for c in facts.of_kind("asgi_call"):
            obj = c.self_obj()
            if obj is not None and id(obj) not in first_call and any(obj is x for x in chain):
                first_call[id(obj)] = c
        ran = [x for x in layers if id(x) in first_call]
        ran.sort(key=lambda x: first_call[id(x)].ordinal)
        starts = [e for e in events if e.stage == "middleware" and e.kind == "start"]
        want_names = [type(x).__name__ for x in ran]
        got_names = [e.name for e in starts][: len(want_names)]
        if got_names != want_names:
            self.bad("middleware.layers", [e.name for e in starts], want_names, "layers whose __call__ ran, in order")
            return
        pairs = _pair_middleware(events)
        for i, layer in enumerate(ran):
            start = starts[i]
            dispatch = getattr(layer, "dispatch_func", None)
            if type(layer).__name__ == "BaseHTTPMiddleware" and dispatch is not None and getattr(dispatch, "__self__", None) is not layer:
                want = qualname_of(dispatch)
                if start.detail.get("function", ABSENT) != want:
                    self.bad("middleware.function", start.detail.get("function", ABSENT), want)
            idx = next(j for j, x in enumerate(chain) if x is layer)
            inner = chain[idx + 1] if idx < len(chain) - 1 else None
            called_next = inner is not None and id(inner) in first_call
            end = pairs.get(start.seq)
            if end is None:
                continue
            if end.detail.get("called_next", ABSENT) != called_next:
                self.bad("middleware.called_next", f"{type(layer).__name__}: {end.detail.get('called_next', ABSENT)}", called_next,
                         "whether the next inner layer's __call__ ran")

    # ------------------------------------------------------------------
    def background_facts(self, ex: Exchange, events: list[Any], facts: Facts) -> None:
        ran = []
        for c in facts.of_kind("background_task"):
            task = c.self_obj()
            func = getattr(task, "func", None)
            if func is None:
                continue
            code = getattr(func, "__code__", None) or getattr(getattr(func, "__func__", None), "__code__", None)
            body = next((x for x in facts.calls if code is not None and x.code is code and x.ordinal > c.ordinal), None)
            if body is not None:
                thread, inferred = body.thread != facts.loop, False
            else:
                thread, inferred = not bool(getattr(task, "is_async", False)), True
            ran.append((qualname_of(func), thread, inferred, c))
        starts = [e for e in events if e.stage == "background" and e.kind == "start"]
        ends = [e for e in events if e.stage == "background" and e.kind == "end"]
        if [e.name for e in starts] != [r[0] for r in ran]:
            self.bad("background.exists", [e.name for e in starts], [r[0] for r in ran], "background tasks that really ran, in order")
            return
        if len(ends) != len(ran) and not ex.cancelled:
            self.bad("background.end", [e.name for e in ends], [r[0] for r in ran])
        for e, (name, on_worker, inferred, c) in zip(starts, ran, strict=True):
            if e.detail.get("threadpool", ABSENT) != on_worker:
                self.bad("background.threadpool", f"{name}: {e.detail.get('threadpool', ABSENT)}", on_worker,
                         "inferred from Starlette's is_async (a C function cannot be profiled)" if inferred else "observed thread")
            claim = _explain_claims_after_response(e.explain)
            truth = facts.after_response(c.ordinal)
            if claim is not None and claim != truth:
                self.bad("background.explain.timing", e.explain,
                         "the task started " + ("after" if truth else "before") + " the response's last body message")

    # ------------------------------------------------------------------
    def serialization_facts(self, ex: Exchange, events: list[Any], facts: Facts) -> None:
        evs = [e for e in events if e.stage == "serialization"]
        if not evs:
            return
        handlers = facts.of_kind("route_handler")
        rendered = None
        if handlers:
            response = handlers[-1].returned
            if response is not _NOT and response is not None and hasattr(response, "status_code"):
                rendered = type(response).__name__
        serializes = facts.of_kind("serialize")
        for e in evs:
            if rendered is not None and "response_class" in e.detail and e.detail["response_class"] != rendered:
                self.bad("serialization.response_class", e.detail["response_class"], rendered,
                         "the class of the response FastAPI's route handler really returned")
        if serializes:
            fld = (serializes[0].args or {}).get("field")
            ann = getattr(getattr(fld, "field_info", None), "annotation", None) if fld is not None else None
            want = _type_label(ann) if fld is not None else None
            for e in evs:
                if e.kind == "start" and "response_model" in e.detail:
                    got = e.detail["response_model"]
                    if _norm_type(got) != _norm_type(want):
                        self.bad("serialization.response_model", got, want)

    # ------------------------------------------------------------------
    def websocket_facts(self, ex: Exchange, events: list[Any], facts: Facts) -> None:
        if ex.scope["type"] != "websocket":
            return
        names = {"websocket.connect", "websocket.accept", "websocket.receive", "websocket.send", "websocket.close",
                 "websocket.disconnect", "websocket.http.response.start"}
        wire = [m.type.removeprefix("websocket.") for m in ex.wire if m.type in names]
        got = [e.name for e in events if e.stage == "websocket"]
        if got != wire:
            self.bad("websocket.messages", got, wire, "websocket messages on the wire, both directions, in order")
        for m in ex.wire:
            if m.type == "websocket.close" and m.direction == "send":
                code = m.message.get("code", 1000)
                ev = next((e for e in events if e.stage == "websocket" and e.name == "close"), None)
                if ev is not None and ev.detail.get("code", 1000) != code:
                    self.bad("websocket.close.code", ev.detail.get("code"), code)

    # ------------------------------------------------------------------
    def explain_facts(self, ex: Exchange, events: list[Any], facts: Facts) -> None:
        ctype = (ex.header("content-type") or "") if ex.scope["type"] == "http" else ""
        handlers = facts.of_kind("route_handler")
        rendered = None
        if handlers and handlers[-1].returned is not _NOT and hasattr(handlers[-1].returned, "status_code"):
            response = handlers[-1].returned
            rendered = type(response).__name__
            # the route's own response decides what the serialization stage produced
            ctype = str(getattr(response, "media_type", None) or ctype)
        is_json = "json" in ctype.lower()
        for e in events:
            text = e.explain
            where = f"{e.stage} {e.kind} {e.name}"
            if not isinstance(text, str) or not text.strip():
                self.bad("explain.empty", f"{where}: {text!r}", "a sentence")
                continue
            if re.search(r"\bwill\b", text, re.I):
                self.bad("explain.future", f"{where}: {text}", "no prediction of the future ('will')")
            if e.stage in ("serialization", "response") and ex.scope["type"] == "http" and not is_json \
                    and rendered not in _JSON_CLASSES and re.search(r"\bJSON\b(?!-compatible)", text):
                self.bad("explain.json", f"{where}: {text}", f"the body is {ctype or 'not JSON'} ({rendered or 'no route response'})")
            if e.stage == "response" and e.kind == "end" and not ex.complete and re.search(r"full answer|complete answer", text, re.I):
                self.bad("explain.complete", f"{where}: {text}", "the response did not complete (client gone or send raised)")
            if e.stage == "endpoint" and e.kind in ("start", "point"):
                called = {qualname_of(o): c for o, c in facts.endpoint_calls()}
                c = called.get(e.name)
                claim = _explain_claims_worker(text)
                if c is not None and claim is not None and claim != (c.thread != facts.loop):
                    self.bad("endpoint.explain.thread", f"{where}: {text}",
                             "ran on " + ("a worker thread" if c.thread != facts.loop else "the event loop thread"))


def _pair_middleware(events: list[Any]) -> dict[int, Any]:
    """start seq -> the end event that closes it (by nesting)."""
    stack: list[Any] = []
    out: dict[int, Any] = {}
    for e in events:
        if e.stage != "middleware":
            continue
        if e.kind == "start":
            stack.append(e)
        elif e.kind == "end":
            for k in range(len(stack) - 1, -1, -1):
                if stack[k].name == e.name:
                    out[stack[k].seq] = e
                    del stack[k]
                    break
    return out



def _safe_repr(value: Any) -> str:
    # Only for builtin-ish values: never call an app object's __repr__ from the oracle.
    if isinstance(value, str | int | float | bool | bytes | type(None)):
        return _short(value, 120)
    if isinstance(value, list | tuple | dict) and len(value) < 20:
        try:
            return _short(json.loads(json.dumps(value, default=lambda o: f"<{type(o).__name__}>")), 120)
        except (TypeError, ValueError):
            pass
    return f"<{type(value).__qualname__}>"


def _location(info: Any) -> str:
    for klass in type(info).__mro__:
        name = klass.__name__
        if name in ("File", "Form", "Body"):
            return name.lower()
        if name in ("Path", "Query", "Header", "Cookie"):
            return name.lower()
    where = getattr(getattr(info, "in_", None), "value", None)
    return where or "body"


def _param_model(fld: Any, location: str) -> Any:
    if location in ("body", "form", "file", "path"):
        return None
    ann = getattr(getattr(fld, "field_info", None), "annotation", None)
    from pydantic import BaseModel

    candidates = [ann, *getattr(ann, "__args__", ())]
    for c in candidates:
        if isinstance(c, type) and issubclass(c, BaseModel):
            return c
    return None


def _form_model(fld: Any) -> list[Any] | None:
    """The Pydantic models a Form() parameter is made of (a model, or a union of models)."""
    from pydantic import BaseModel

    ann = getattr(getattr(fld, "field_info", None), "annotation", None)
    models = [c for c in [ann, *getattr(ann, "__args__", ())] if isinstance(c, type) and issubclass(c, BaseModel)]
    return models or None


def _model_names(model: Any, location: str, info: Any) -> list[str]:
    names: list[str] = []
    convert = getattr(info, "convert_underscores", True)
    for name, f in getattr(model, "model_fields", {}).items():
        for n in (name, f.alias, f.validation_alias if isinstance(f.validation_alias, str) else None):
            if n and n not in names:
                names.append(n)
            if n and location == "header" and convert and "_" in n:
                names.append(n.replace("_", "-"))
    return names


def _contains(container: Any, name: str) -> bool:
    if container is None or name is None:
        return False
    try:
        return name in container
    except TypeError:
        return False


def _raw_value(container: Any, name: str) -> Any:
    getlist = getattr(container, "getlist", None)
    if getlist is not None:
        items = getlist(name)
        return list(items) if len(items) > 1 else (items[0] if items else None)
    try:
        return container.get(name) if isinstance(container, Mapping) else container[name]
    except Exception:
        return None


_MODPATH = re.compile(r"\b(?:[A-Za-z_]\w*\.)+([A-Za-z_]\w*)")


def _type_label(ann: Any) -> str | None:
    if ann is None:
        return None
    if isinstance(ann, type):
        return ann.__name__
    text = str(ann).replace("<class '", "").replace("'>", "")
    return _MODPATH.sub(r"\1", text)


def _norm_type(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    return re.sub(r"\s+", "", text).replace("typing.", "").replace("Optional[", "Union[")


def describe_ws(req: WsReq) -> str:
    return req.id
