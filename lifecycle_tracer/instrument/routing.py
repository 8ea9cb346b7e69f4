"""The router's decision, as it made it.

Every route class's ``matches()`` is wrapped, process-wide: while a traced
request is being routed, each call the router (or an included router, a
mount, the slash-redirect check) makes is recorded with what it returned.
Nothing is asked twice and no rule is re-implemented: the routes tried, in
order, are the calls the router made; the route chosen is the full match
it acted on; a 404, 405 or 307 is the exception the router raised or the
response it sent itself.
"""

from __future__ import annotations

import functools
from typing import Any

from starlette.routing import BaseRoute

from ..redaction import header_pairs
from ..safe import preview
from .decision import CONTAINERS, DECISIONS, decide
from .trace import RequestTrace, current, report_fault

MAX_CANDIDATES = 200
_MARK = "__lifecycle_tracer_matches__"


def install() -> None:
    """Wrap ``matches`` on every route class there is now (idempotent; call again for new classes)."""
    classes: list[type] = []
    stack: list[type] = [BaseRoute]
    while stack:
        cls = stack.pop()
        classes.append(cls)
        stack.extend(cls.__subclasses__())
    try:
        import fastapi.routing as fr

        ctx = getattr(fr, "_EffectiveRouteContext", None)
        if ctx is not None:
            classes.append(ctx)
    except Exception as exc:  # pragma: no cover
        report_fault("routing install", exc)
    for cls in classes:
        orig = cls.__dict__.get("matches")
        if orig is None or getattr(orig, _MARK, False) or not callable(orig):
            continue
        cls.matches = _wrap(orig)


def _wrap(orig: Any) -> Any:
    @functools.wraps(orig)
    def matches(self: Any, scope: Any) -> Any:
        trace = current.get()
        obs = trace.routing if trace is not None else None
        if obs is None:
            return orig(self, scope)
        depth = trace.match_depth  # type: ignore[union-attr]
        trace.match_depth = depth + 1  # type: ignore[union-attr]
        try:
            result = orig(self, scope)
        finally:
            trace.match_depth = depth  # type: ignore[union-attr]
        if depth == 0:  # the router's own call, not one nested inside another route's
            try:
                obs.record(self, result[0], scope)
            except Exception as exc:
                report_fault("routing", exc)
        return result

    setattr(matches, _MARK, True)
    return matches


class RoutingObservation:
    """One request's routing, recorded while the router works; emitted once decided."""

    __slots__ = ("_raised", "calls", "path", "root", "router", "scope", "sent", "trace")

    def __init__(self, trace: RequestTrace, router: Any, scope: dict[str, Any]) -> None:
        self.trace = trace
        self.router = router
        self.scope = scope
        self.path = scope.get("path", "")
        # Paths are shown from the app the request entered, so a mounted app's
        # routes carry the mount's prefix.
        self.root = trace.root_path
        self.calls: list[tuple[Any, Any, str, bool]] = []
        self.sent: dict[str, Any] | None = None
        self._raised: BaseException | None = None
        trace.routing = self
        trace.pending = self._emit_locked

    def record(self, route: Any, match: Any, scope: dict[str, Any]) -> None:
        if len(self.calls) < MAX_CANDIDATES:
            root = scope.get("root_path", "") or ""
            self.calls.append((route, match, root, scope.get("path", "") != self.path))

    def watch_send(self, send: Any) -> Any:
        trace = self.trace

        async def send_from_router(message: dict[str, Any]) -> None:
            if trace.routing is self and self.sent is None:
                try:
                    self.sent = message
                    trace.flush_pending()
                except Exception as exc:
                    report_fault("routing", exc)
            await send(message)

        return send_from_router

    def done(self, exc: BaseException | None) -> None:
        """The router returned or raised; if the decision is still unreported, report it now."""
        trace = self.trace
        if trace.routing is not self:
            return
        try:
            if trace.pending == self._emit_locked:
                self._raised = exc
                trace.flush_pending()
        except Exception as fault:
            report_fault("routing", fault)
        finally:
            trace.routing = None

    def _emit_locked(self) -> None:
        trace = self.trace
        trace.routing = None  # what the route does from now on is not routing
        try:
            detail = self._detail()
        except Exception as exc:
            report_fault("routing", exc)
            return
        name = detail.get("route") or _outcome_name(detail)
        trace._emit_locked("routing", "point", name, detail)

    def _detail(self) -> dict[str, Any]:
        calls = self.calls
        top = len(getattr(self.router, "routes", ()) or ())
        key = (self.root, top, *[(id(c[0]), c[1], c[2], c[3]) for c in calls])
        hit = DECISIONS.get(key)
        if hit is None:
            hit = decide(calls, self.root, top)
            if len(DECISIONS) >= 512:
                DECISIONS.clear()
            DECISIONS[key] = hit
        static, route, candidates = hit
        detail: dict[str, Any] = {
            "method": self.scope.get("method", "WEBSOCKET"),
            "path": self.path,
            "type": self.scope.get("type"),
            **static,
            "path_params": {},
        }
        here = self.scope.get("root_path", "") or ""
        if here != self.root and "mount" not in detail:
            detail["mount"] = here[len(self.root):] if here.startswith(self.root) else here  # a mounted app's own router
        if detail["matched"]:
            params = self.scope.get("path_params")
            if params:
                detail["path_params"] = preview(params, redact=self.trace.redact)
        else:
            self._outcome(detail, candidates)
        return detail

    def _outcome(self, detail: dict[str, Any], candidates: list[dict[str, Any]]) -> None:
        """What the router itself did when no route took the request: what it raised or sent."""
        level = candidates[-1]["level"] if candidates else 0
        partials = [c for c in candidates if c["match"] == "partial" and c["level"] == level
                    and not c.get("redirect_check")]
        # The route that raised is the partial match the router (or an included router) acted on.
        partial = next((c for c in reversed(partials) if c["kind"] not in CONTAINERS), partials[0] if partials else None)
        if partial is not None:
            detail["partial"] = partial["path"]
        exc = self._raised
        sent = self.sent
        if exc is not None:
            status = exc.__dict__.get("status_code") if hasattr(exc, "__dict__") else None
            detail["raised"] = type(exc).__name__
            if type(status) is int:
                detail["status"] = status
            headers = exc.__dict__.get("headers") if hasattr(exc, "__dict__") else None
            if isinstance(headers, dict):
                allow = headers.get("Allow", headers.get("allow"))
                if isinstance(allow, str):
                    detail["allowed"] = [m.strip() for m in allow.split(",") if m.strip()]
        elif sent is not None:
            typ = sent.get("type")
            if typ == "http.response.start":
                detail["status"] = sent.get("status")
                detail["answered"] = True
                for name, value in header_pairs(sent.get("headers"), self.trace.redact):
                    if name.lower() == "location":
                        detail["location"] = value
                    elif name.lower() == "allow":
                        detail["allowed"] = [m.strip() for m in value.split(",") if m.strip()]
            elif typ == "websocket.close":
                detail["ws_closed"] = sent.get("code", 1000)


def _outcome_name(detail: dict[str, Any]) -> str:
    status = detail.get("status")
    if detail.get("ws_closed") is not None:
        return "no route: closed"
    # A partial match is a route whose path matched and whose methods did not (a 405), not "no route".
    what = "path matched, method not allowed" if detail.get("partial") else "no route"
    return f"{status}: {what}" if status is not None else what
