"""Which routes the router tried, in order, and which one won.

The router itself keeps no record of the routes it tried, so this module
asks each route the same question the router asks, ``route.matches(scope)``,
on a copy of the scope, stopping at the first full match as Starlette does.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Match

from ..safe import qualname

MAX_CANDIDATES = 200
_MATCH = {Match.FULL: "full", Match.PARTIAL: "partial", Match.NONE: "none"}


def _template(route: Any) -> str:
    for attr in ("path_format", "path"):
        value = getattr(route, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(route).__name__


def _entries(router: Any) -> list[tuple[str, Any, Any]]:
    """Flatten ``router.routes`` into ``(template, matcher, route)`` in the order tried.

    Since FastAPI 0.163, ``include_router`` keeps the included router whole
    behind a proxy route; its effective candidates carry the full prefixed path.
    """
    out: list[tuple[str, Any, Any]] = []
    for route in getattr(router, "routes", ()) or ():
        if hasattr(route, "effective_candidates"):
            _included(route, out)
        else:
            out.append((_template(route), route, route))
    for route in getattr(router, "_low_priority_routes", ()) or ():
        out.append((_template(route), route, route))
    return out


def _included(group: Any, out: list[tuple[str, Any, Any]]) -> None:
    for cand in group.effective_candidates():
        if hasattr(cand, "effective_candidates"):
            _included(cand, out)
        else:
            out.append((_template(cand), cand, getattr(cand, "original_route", cand)))
    low = getattr(group, "effective_low_priority_routes", None)
    if low is not None:
        for cand in low():
            out.append((_template(cand), cand, getattr(cand, "original_route", cand)))


def _copy_scope(scope: dict[str, Any]) -> dict[str, Any]:
    # ``matches()`` only reads the scope (Starlette's and FastAPI's alike); a
    # shallow copy still keeps a careless custom route from touching the real one.
    return dict(scope)


def _route_path(scope: dict[str, Any]) -> str:
    path: str = scope.get("path", "")
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


def _raw_params(matcher: Any, scope: dict[str, Any], child: dict[str, Any]) -> dict[str, str]:
    regex = getattr(matcher, "path_regex", None)
    if regex is not None:
        m = regex.match(_route_path(scope))
        if m:
            return {k: str(v) for k, v in m.groupdict().items()}
    return {k: str(v) for k, v in (child.get("path_params") or {}).items()}


def _scan(
    router: Any, scope: dict[str, Any], prefix: str, out: list[dict[str, Any]]
) -> dict[str, Any] | None:
    for template, matcher, route in _entries(router):
        if len(out) >= MAX_CANDIDATES:
            return None
        try:
            match, child = matcher.matches(scope)
        except Exception:
            out.append({"path": prefix + template, "match": "error"})
            continue
        entry: dict[str, Any] = {"path": prefix + template, "match": _MATCH.get(match, "none")}
        methods = getattr(route, "methods", None)
        if methods:
            entry["methods"] = sorted(methods)
        out.append(entry)
        if match is Match.FULL:
            found = {
                "route": prefix + template,
                "endpoint": qualname(child.get("endpoint") or getattr(route, "endpoint", None) or route),
                "path_params": _raw_params(matcher, scope, child),
                "kind": type(route).__name__,
            }
            kind = type(route).__name__
            if kind == "Mount":
                # The mount's own {path} is the remainder handed to the sub-app, not a parameter.
                found["mount"] = prefix + getattr(route, "path", "")
                found["path_params"].pop("path", None)
            inner_routes = getattr(route, "routes", None)
            if inner_routes and kind in ("Mount", "Host"):
                sub = _copy_scope(scope)
                sub.update(child)
                inner = _scan(route, sub, prefix + getattr(route, "path", ""), out)
                if inner is None:
                    found["inner_matched"] = False
                else:
                    inner["path_params"] = {**found["path_params"], **inner["path_params"]}
                    inner["mount"] = found.get("mount", found["route"])
                    return inner
            return found
    return None


class RoutingCache:
    """Remembers the description per (type, method, path) until the routes change.

    Matching depends only on those, the root path and (for ``Host`` routes)
    the host header, so a repeated request needs no second scan.
    """

    __slots__ = ("_has_host", "_results", "_signature")
    MAX = 512

    def __init__(self) -> None:
        self._results: dict[tuple[Any, ...], tuple[dict[str, Any], str]] = {}
        self._signature: Any = None
        self._has_host = False

    def describe(self, router: Any, scope: dict[str, Any]) -> tuple[dict[str, Any], str]:
        routes = getattr(router, "routes", ())
        version = getattr(router, "_get_routes_version", None)
        signature = (id(routes), len(routes), version() if version is not None else None)
        if signature != self._signature:
            self._results.clear()
            self._signature = signature
            self._has_host = any(type(r).__name__ == "Host" for r in routes)
        key = (
            scope.get("type"),
            scope.get("method"),
            scope.get("path"),
            scope.get("root_path"),
            _host(scope) if self._has_host else None,
        )
        hit = self._results.get(key)
        if hit is None:
            hit = describe_routing(router, scope)
            if len(self._results) >= self.MAX:
                self._results.clear()
            self._results[key] = hit
        detail, explain = hit
        return dict(detail), explain


def _host(scope: dict[str, Any]) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == b"host":
            return bytes(value)
    return None


def describe_routing(router: Any, scope: dict[str, Any]) -> tuple[dict[str, Any], str]:
    work = _copy_scope(scope)
    candidates: list[dict[str, Any]] = []
    found = _scan(router, work, "", candidates)
    path = scope.get("path", "")
    method = scope.get("method", "WEBSOCKET")
    detail: dict[str, Any] = {
        "matched": bool(found) and found.get("inner_matched", True),
        "route": found["route"] if found else None,
        "endpoint": found["endpoint"] if found else None,
        "path_params": found["path_params"] if found else {},
        "candidates": candidates,
        "method": method,
        "path": path,
    }
    if found and "mount" in found:
        detail["mount"] = found["mount"]
    tried = len(candidates)
    routes_word = "route" if tried == 1 else "routes"
    if found and found.get("inner_matched", True):
        params = found["path_params"]
        with_params = (
            " with " + ", ".join(f"{k}={v!r}" for k, v in params.items()) + " (still text)"
            if params
            else ""
        )
        explain = (
            f"The router tried {tried} {routes_word} in order{_docs_note(candidates)}; {found['route']} matched "
            f"{path}{with_params}, so {found['endpoint']} will handle it."
        )
        if "mount" in found and found["kind"] not in ("APIRoute", "_EffectiveRouteContext"):
            explain += " It belongs to a mounted app, which FastAPI's own stages do not cover."
        return detail, explain
    if found:  # a mount matched but nothing inside it did
        explain = f"The path {path} falls under the mounted app at {found['route']}, which has no route for it and answers 404 itself."
        detail["status_hint"] = 404
        return detail, explain
    partial = [c for c in candidates if c["match"] == "partial"]
    if partial:
        allowed = sorted({m for c in partial for m in c.get("methods", [])})
        detail["status_hint"] = 405
        detail["allowed"] = allowed
        detail["label"] = f"405: {partial[0]['path']} has no {method}"
        explain = (
            f"The path {path} matches {partial[0]['path']}, but that route does not accept {method} "
            f"(only {', '.join(allowed) or 'other methods'}), so the router raises a 405 Method Not Allowed error "
            "for an exception handler to answer."
        )
        return detail, explain
    if scope.get("type") == "websocket":
        detail["status_hint"] = 403
        explain = (
            f"None of the {tried} {routes_word} matches {path}, so the router closes the WebSocket before "
            "accepting it; the server refuses the handshake with HTTP 403."
        )
        return detail, explain
    redirect = _slash_redirect(router, scope)
    if redirect:
        detail["status_hint"] = 307
        detail["redirect"] = redirect
        explain = f"No route matches {path} exactly, but {redirect} does, so the router redirects there (307)."
        return detail, explain
    detail["status_hint"] = 404
    explain = (
        f"None of the {tried} {routes_word} matches {path}, so the router raises a 404 Not Found error "
        "for an exception handler to answer."
    )
    return detail, explain


def _docs_note(candidates: list[dict[str, Any]]) -> str:
    docs = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
    return ", including FastAPI's own docs routes" if any(c["path"] in docs for c in candidates) else ""


def _slash_redirect(router: Any, scope: dict[str, Any]) -> str | None:
    if scope.get("type") != "http" or not getattr(router, "redirect_slashes", False):
        return None
    path = scope.get("path", "")
    if path == "/":
        return None
    alt = path[:-1] if path.endswith("/") else path + "/"
    work = _copy_scope(scope)
    work["path"] = alt
    found = _scan(router, work, "", [])
    return alt if found else None
