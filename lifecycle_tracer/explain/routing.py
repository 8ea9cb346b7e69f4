"""The router's decision."""

from __future__ import annotations

from typing import Any

from ._table import says
from ._words import plural, short

_DOCS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


@says("routing", "point")
def routing_point(name: str, d: dict[str, Any]) -> str:
    path = d.get("path", "")
    method = d.get("method", "")
    candidates = d.get("candidates") or []
    tried = d.get("tried", len(candidates))
    routes = plural(int(tried), "route")
    if d.get("tried_routers"):
        routes += f" and {plural(int(d['tried_routers']), 'included router')}"
    own = [str(c.get("path")) for c in candidates if c.get("path") in _DOCS]
    # Which of the routes the app's author did not write: a newcomer counts one route of their own.
    docs = (f" Of the {int(tried)}, {len(own)} {'is a docs page' if len(own) == 1 else 'are docs pages'} FastAPI adds"
            f"{', like /docs' if '/docs' in own else ''}.") if own else ""
    if d.get("matched"):
        params = d.get("path_params") or {}
        with_params = (" with " + ", ".join(f"{k}={short(v)}" for k, v in params.items())) if params else ""
        if d.get("route_kind") in ("Mount", "Host"):
            return (f"The router tried {routes} in order; {d.get('route')} matched {path}{with_params}. "
                    f"It is a mounted app, so the router hands the request to it.{docs}")
        return (f"The router tried {routes} in order; {d.get('route')} matched {path}{with_params}, "
                f"so the router hands the request to {d.get('endpoint')}.{docs}")
    status = d.get("status")
    where = f"the mounted app at {d['container']}" if d.get("container") else "the router"
    if d.get("container"):
        under = f"The path {path} falls under {d['container']}, but none of its routes matches it"
    elif d.get("mount"):
        under = f"None of the {routes} of the app mounted at {d['mount']} matches {path}"
        where = f"the app mounted at {d['mount']}"
    else:
        under = f"None of the {routes} matches {path}"
    if d.get("ws_closed") is not None:
        return f"{under}, so {where} closed the WebSocket before accepting it."
    if status == 405 or (d.get("partial") and status is None and d.get("raised")):
        allowed = d.get("allowed")
        allow = f" (Allow: {', '.join(allowed)})" if allowed else ""
        if d.get("raised"):
            return (f"The path {path} matches the route {d.get('partial')}, but not for {method}, so that route "
                    f"raised HTTPException(405){allow}.")
        return f"The path {path} matches {d.get('partial')}, but not for {method}, so {where} answered 405 Method Not Allowed{allow}."
    if d.get("answered") and d.get("location") and status in (301, 302, 307, 308):
        return (f"No route matches {path} exactly, but one matches it with its trailing slash "
                f"{'removed' if path.endswith('/') else 'added'}, so {where} answered {status}, redirecting to "
                f"{d['location']}.")
    if d.get("raised"):
        code = f"({status})" if status is not None else ""
        return f"{under}, so {where} raised {d['raised']}{code}."
    if d.get("answered"):
        return f"{under}, so {where} answered {status} itself."
    return f"{under}."
