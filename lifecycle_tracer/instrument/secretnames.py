"""The secrets an app declares: read from its routes, so they are hidden before routing happens.

The request's line and headers are recorded as it arrives, before the router
has run. Two kinds of secret are known only from the app itself: the name of
an ``APIKeyHeader``/``APIKeyQuery``/``APIKeyCookie`` (``x-key``), or of a
parameter whose Python name is secret but whose alias is not, and a path
parameter with a secret name (``/reset/{token}``). For the second, the route's
own compiled pattern finds the segment to hide; hiding too much here is
harmless, since nothing is claimed about routing (the router's real decision
is recorded separately, and its path parameters are hidden by name).
"""

from __future__ import annotations

import re
from typing import Any

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
    stack, seen, lists = list(routes), 0, {id(routes)}
    while stack and seen < MAX_ROUTES:
        route = stack.pop()
        seen += 1
        dependant = getattr(route, "dependant", None)
        if dependant is not None:
            _dependant(dependant, names, 0)
        convertors = getattr(route, "param_convertors", None)
        regex = getattr(route, "path_regex", None)
        if isinstance(convertors, dict) and isinstance(regex, re.Pattern):
            secret = tuple(n for n in convertors if is_secret_name(n))
            if secret:
                # Unanchored at the start (a mount's routes see the rest of the path) and with an
                # optional slash at the end (the request the router redirects to the slashless path).
                body = regex.pattern.lstrip("^").removesuffix("$").removesuffix("/")
                paths.append((re.compile(body + "/?$"), secret))
        sub = getattr(route, "app", None)
        for owner in (route, sub, getattr(sub, "router", None)):  # included routers, mounts, mounted apps
            children = getattr(owner, "routes", None) if owner is not None else None
            if isinstance(children, list) and id(children) not in lists:
                lists.add(id(children))
                stack.extend(children)


def _dependant(dependant: Any, names: set[str], depth: int) -> None:
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
    for sub in getattr(dependant, "dependencies", ()) or ():
        _dependant(sub, names, depth + 1)
