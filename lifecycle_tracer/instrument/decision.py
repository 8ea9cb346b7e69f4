"""The router's decision from the calls it made: which route won, and the candidates as shown.

A pure function of the recorded ``matches()`` calls (see ``routing.py``), so
it is computed once per distinct set of answers and cached.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Match

from ..safe import qualname

MATCH_WORD = {Match.FULL: "full", Match.PARTIAL: "partial", Match.NONE: "none"}
CONTAINERS = frozenset({"Mount", "Host", "_IncludedRouter"})


_ROUTE_FACTS: dict[int, tuple[Any, tuple[str, list[str] | None, str, str]]] = {}


def _facts(route: Any) -> tuple[str, list[str] | None, str, str]:
    """(path template, methods, kind, prefix it adds to its routes) of a route, read once per route object."""
    hit = _ROUTE_FACTS.get(id(route))
    if hit is not None and hit[0] is route:
        return hit[1]
    kind = type(route).__name__
    template = None
    for attr in ("path_format", "path"):
        value = getattr(route, attr, None)
        if isinstance(value, str):
            template = value
            break
    added = ""
    if template is None and kind == "_IncludedRouter":
        # include_router(prefix=...) adds a prefix its routes do not carry; the
        # router's own APIRouter(prefix=...) is already part of each route's path.
        added = getattr(getattr(route, "include_context", None), "prefix", "") or ""
        template = added + (getattr(getattr(route, "original_router", None), "prefix", "") or "")
    if template is None:
        template = getattr(route, "host", None) or kind
    methods = getattr(route, "methods", None)
    facts = (template, sorted(methods) if methods else None, kind, added)
    if len(_ROUTE_FACTS) > 20000:
        _ROUTE_FACTS.clear()
    _ROUTE_FACTS[id(route)] = (route, facts)
    return facts


# The decision depends only on which routes were asked and what they answered,
# not on the concrete path: /items/1 and /items/2 share one entry. The routes
# are kept alive by the entry, so their ids stay unique while it exists.
DECISIONS: dict[tuple[Any, ...], tuple[dict[str, Any], Any, list[dict[str, Any]]]] = {}


def decide(calls: list[tuple[Any, Any, str, bool]], base_root: str,
            top: int) -> tuple[dict[str, Any], Any, list[dict[str, Any]]]:
    candidates: list[dict[str, Any]] = []
    last_full = -1
    level = 0
    included = ""  # an included router keeps its routes' own paths (FastAPI >= 0.163): add its prefix
    partial_adds: str | None = None  # the prefix of the first included router that matched partially
    for i, (route, match, root, redirect_check) in enumerate(calls):
        template, methods, kind, adds = _facts(route)
        if i == top and last_full < 0 and partial_adds:
            # No route matched fully, so the router went on to its first partial match: an
            # included router, which asks its own routes again (those calls follow).
            included += partial_adds
        if kind == "_IncludedRouter" and match is Match.PARTIAL and partial_adds is None and i < top:
            partial_adds = adds
        prefix = (root[len(base_root):] if root.startswith(base_root) else root) + included
        entry: dict[str, Any] = {"path": prefix + template, "match": MATCH_WORD.get(match, "none"), "kind": kind,
                                 "level": level}
        if methods:
            entry["methods"] = methods
        if redirect_check:
            entry["redirect_check"] = True
        candidates.append(entry)
        if match is Match.FULL and not redirect_check:
            last_full = i
            level += 1
            if kind == "_IncludedRouter":
                included += adds
    static: dict[str, Any] = {
        "candidates": candidates,
        "tried": sum(1 for c in candidates if not c.get("redirect_check") and c["kind"] != "_IncludedRouter"),
        "tried_routers": sum(1 for c in candidates if not c.get("redirect_check") and c["kind"] == "_IncludedRouter"),
    }
    deeper = last_full >= 0 and any(not c.get("redirect_check") for c in candidates[last_full + 1:])
    matched = last_full >= 0 and not deeper
    static["matched"] = matched
    static["route"] = None
    static["endpoint"] = None
    chosen_route = None
    if last_full >= 0:
        chosen_route = calls[last_full][0]
        chosen = candidates[last_full]
        if chosen["kind"] in CONTAINERS:
            static["container"] = chosen["path"]
        mounts = [c["path"] for c in candidates[: last_full + 1] if c["match"] == "full" and c["kind"] in ("Mount", "Host")]
        if mounts:
            static["mount"] = mounts[-1]
        if matched:
            static["route"] = chosen["path"]
            static["route_kind"] = chosen["kind"]
            endpoint = getattr(chosen_route, "endpoint", None) or getattr(chosen_route, "app", None)
            static["endpoint"] = qualname(endpoint) if endpoint is not None else None
    return static, tuple(c[0] for c in calls), candidates
