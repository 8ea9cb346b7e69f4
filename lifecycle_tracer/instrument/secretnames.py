"""The secrets an app declares: read from its routes, so they are hidden before routing happens.

The request's line and headers are recorded as it arrives, before the router
has run. Two kinds of secret are known only from the app itself: the name of
an ``APIKeyHeader``/``APIKeyQuery``/``APIKeyCookie`` (``x-key``), or of a
parameter whose Python name is secret but whose alias is not, and a path
parameter with a secret name (``/reset/{token}``, a prefix's ``/t/{api_token}``,
or ``Path(alias="t")`` for a secret Python name). For the second, the route's
own compiled pattern (under an included router, its prefix's and its own)
finds the segment to hide; hiding too much here is
harmless, since nothing is claimed about routing (the router's real decision
is recorded separately, and its path parameters are hidden by name).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import compile_path

from ..redaction import REDACTED, is_secret_name
from .trace import report_fault

MAX_ROUTES = 5000


class AppSecrets:
    __slots__ = ("_key", "names", "paths")

    def __init__(self) -> None:
        self.names: frozenset[str] = frozenset()
        self.paths: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = ()
        self._key: tuple[int, int] | None = None

    def refresh(self, app: Any) -> None:
        """Scan again when the app's route list has changed since the last scan."""
        routes = getattr(getattr(app, "router", None), "routes", None)
        key = (id(routes), len(routes) if isinstance(routes, list) else -1)
        if key == self._key:
            return
        self._key = key
        try:
            names: set[str] = set()
            paths: list[tuple[re.Pattern[str], tuple[str, ...]]] = []
            _scan(routes or [], names, paths)
            self.names, self.paths = frozenset(names), tuple(paths)
        except Exception as exc:
            report_fault("secret names", exc)

    def redact_path(self, path: str, learn: Any) -> str:
        for pattern, groups in self.paths:
            m = pattern.search(path)
            if m is None:
                continue
            for group in groups:
                value = m.group(group)
                if value:
                    learn(value)
                    path = path.replace(value, REDACTED)
        return path


def _scan(routes: list[Any], names: set[str], paths: list[Any]) -> None:
    stack: list[tuple[Any, str]] = [(route, "") for route in routes]
    seen, lists = 0, {id(routes)}
    while stack and seen < MAX_ROUTES:
        route, prefix = stack.pop()
        seen += 1
        dependant = getattr(route, "dependant", None)
        aliases: set[str] = set()
        if dependant is not None:
            _dependant(dependant, names, 0, aliases)
        convertors = getattr(route, "param_convertors", None)
        regex = getattr(route, "path_regex", None)
        template = getattr(route, "path", None)
        if prefix and isinstance(template, str):  # the whole path FastAPI routes by: prefix and route
            regex, _, convertors = compile_path(prefix + template)
        if isinstance(convertors, dict) and isinstance(regex, re.Pattern):
            secret = tuple(n for n in convertors if is_secret_name(n) or n in aliases)
            if secret:
                # Unanchored at the start (a mount's routes see the rest of the path) and with an
                # optional slash at the end (the request the router redirects to the slashless path).
                body = regex.pattern.lstrip("^").removesuffix("$").removesuffix("/")
                paths.append((re.compile(body + "/?$"), secret))
        sub = getattr(route, "app", None)
        # FastAPI >= 0.163 keeps an included router whole (``_IncludedRouter``); its prefix, a plain
        # field, is added to its routes' paths when it routes, as it is here.
        included = getattr(route, "original_router", None)
        context = getattr(route, "include_context", None)
        inner = prefix + (getattr(context, "prefix", "") or "") if included is not None else prefix
        for owner in (route, sub, getattr(sub, "router", None), included):  # included routers, mounts, apps
            children = getattr(owner, "routes", None) if owner is not None else None
            if isinstance(children, list) and id(children) not in lists:
                lists.add(id(children))
                stack.extend((child, inner if owner is included else "") for child in children)


def _dependant(dependant: Any, names: set[str], depth: int, path_aliases: set[str]) -> None:
    """Secret names the dependant declares; ``path_aliases``: the URL names of its secret path parameters."""
    if depth > 50:
        return
    call = getattr(dependant, "call", None)
    model = getattr(call, "model", None)
    scheme_name = getattr(model, "name", None)
    if type(scheme_name) is str and type(call).__name__.startswith("APIKey"):
        names.add(scheme_name.lower())
    for attr in ("header_params", "query_params", "cookie_params"):
        for field in getattr(dependant, attr, ()) or ():
            alias = getattr(field, "alias", None)
            if isinstance(alias, str) and is_secret_name(getattr(field, "name", "")):
                names.update({alias.lower(), alias.lower().replace("_", "-")})
    for field in getattr(dependant, "path_params", ()) or ():
        alias = getattr(field, "alias", None)
        if isinstance(alias, str) and is_secret_name(getattr(field, "name", "")):
            path_aliases.add(alias)
    for sub in getattr(dependant, "dependencies", ()) or ():
        _dependant(sub, names, depth + 1, path_aliases)
