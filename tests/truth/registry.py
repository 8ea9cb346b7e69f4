"""What an app declares: its endpoints, dependency callables, exception handlers and
middleware layers, found by walking the app (never by asking the tracer).

The oracle needs the code objects up front, so the profiler can recognise a
dependency or a handler whose code is not in the app's own files (FastAPI's
security classes, Starlette's default handlers).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import CodeType
from typing import Any


def qualname_of(obj: Any) -> str:
    """The __qualname__ of a callable; an instance by its class; a partial by its function."""
    if isinstance(obj, functools.partial):
        return qualname_of(obj.func)
    name = getattr(obj, "__qualname__", None)
    if isinstance(name, str):
        return name
    return type(obj).__qualname__


def module_of(obj: Any) -> str | None:
    if isinstance(obj, functools.partial):
        return module_of(obj.func)
    mod = getattr(obj, "__module__", None)
    return mod if isinstance(mod, str) else type(obj).__module__


@dataclass
class CallableMatch:
    """How to recognise a call of ``obj`` in the profile: a code object and a check on ``self``."""

    obj: Any
    code: CodeType
    check: Callable[[Any], bool]  # the first argument of the frame -> is it this callable's call


def match_for(obj: Any) -> CallableMatch | None:
    if isinstance(obj, functools.partial):
        inner = match_for(obj.func)
        return CallableMatch(obj, inner.code, inner.check) if inner else None
    if inspect.ismethod(obj):
        func = obj.__func__
        code = getattr(func, "__code__", None)
        if code is None:
            return None
        owner = obj.__self__
        return CallableMatch(obj, code, lambda first: first is owner)
    if inspect.isfunction(obj):
        return CallableMatch(obj, obj.__code__, lambda first: True)
    if inspect.isclass(obj):
        init = getattr(obj, "__init__", None)
        code = getattr(init, "__code__", None)
        if code is None:
            return None
        return CallableMatch(obj, code, lambda first: type(first) is obj)
    call = getattr(type(obj), "__call__", None)  # noqa: B004
    code = getattr(call, "__code__", None)
    if code is None:
        return None
    return CallableMatch(obj, code, lambda first: first is obj)


def is_async_declared(obj: Any) -> bool:
    if isinstance(obj, functools.partial):
        return is_async_declared(obj.func)
    if inspect.iscoroutinefunction(obj) or inspect.isasyncgenfunction(obj):
        return True
    if not inspect.isfunction(obj) and not inspect.ismethod(obj) and not inspect.isclass(obj):
        call = getattr(type(obj), "__call__", None)  # noqa: B004
        return inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)
    return False


def is_generator_declared(obj: Any) -> bool:
    if isinstance(obj, functools.partial):
        return is_generator_declared(obj.func)
    if inspect.isgeneratorfunction(obj) or inspect.isasyncgenfunction(obj):
        return True
    if not inspect.isfunction(obj) and not inspect.ismethod(obj) and not inspect.isclass(obj):
        call = getattr(type(obj), "__call__", None)  # noqa: B004
        return inspect.isgeneratorfunction(call) or inspect.isasyncgenfunction(call)
    return False


def iter_routes(routes: Any, depth: int = 0) -> Iterator[Any]:
    """Every route object reachable from a route list: included routers, effective contexts, mounts."""
    if depth > 8:
        return
    for route in list(routes or ()):
        yield route
        original = getattr(route, "original_router", None)
        if original is not None:
            yield from iter_routes(getattr(original, "routes", ()), depth + 1)
            contexts = getattr(route, "effective_route_contexts", None)
            if contexts is not None:
                with contextlib.suppress(Exception):
                    yield from list(contexts())
        sub = getattr(route, "app", None)
        if type(route).__name__ == "Mount" and sub is not None:
            yield from iter_routes(getattr(sub, "routes", ()) or getattr(getattr(sub, "router", None), "routes", ()), depth + 1)
    return


def sub_apps(app: Any, depth: int = 0) -> Iterator[Any]:
    """Starlette/FastAPI apps mounted inside ``app`` (not ``app`` itself)."""
    if depth > 5:
        return
    for route in iter_routes(getattr(app, "routes", ())):
        sub = getattr(route, "app", None)
        if type(route).__name__ == "Mount" and hasattr(sub, "exception_handlers"):
            yield sub
            yield from sub_apps(sub, depth + 1)


def iter_dependants(dependant: Any, depth: int = 0) -> Iterator[Any]:
    if dependant is None or depth > 30:
        return
    yield dependant
    for sub in getattr(dependant, "dependencies", ()) or ():
        yield from iter_dependants(sub, depth + 1)


@dataclass
class Registry:
    endpoints: dict[CodeType, list[CallableMatch]] = field(default_factory=dict)
    deps: dict[CodeType, list[CallableMatch]] = field(default_factory=dict)
    handlers: dict[CodeType, Any] = field(default_factory=dict)  # code -> the handler callable

    def endpoint_for(self, code: CodeType, first: Any) -> Any | None:
        for m in self.endpoints.get(code, ()):
            if m.check(first):
                return m.obj
        return None

    def dep_for(self, code: CodeType, first: Any) -> Any | None:
        for m in self.deps.get(code, ()):
            if m.check(first):
                return m.obj
        return None


def build_registry(app: Any) -> Registry:
    reg = Registry()
    apps = [app, *sub_apps(app)]
    seen_dep: set[int] = set()

    def add_dep(call: Any) -> None:
        if call is None or id(call) in seen_dep:
            return
        seen_dep.add(id(call))
        m = match_for(call)
        if m is not None:
            reg.deps.setdefault(m.code, []).append(m)

    for a in apps:
        for route in iter_routes(getattr(a, "routes", ())):
            endpoint = getattr(route, "endpoint", None)
            if endpoint is not None and callable(endpoint):
                m = match_for(endpoint)
                if m is not None and not any(x.obj is endpoint for x in reg.endpoints.get(m.code, [])):
                    reg.endpoints.setdefault(m.code, []).append(m)
            for dependant in iter_dependants(getattr(route, "dependant", None)):
                if dependant is not getattr(route, "dependant", None):
                    add_dep(dependant.call)
        for override in (getattr(a, "dependency_overrides", None) or {}).values():
            add_dep(override)
        for handler in (getattr(a, "exception_handlers", None) or {}).values():
            m = match_for(handler)
            if m is not None:
                reg.handlers.setdefault(m.code, handler)
    # Starlette's ExceptionMiddleware answers HTTPException and WebSocketException by
    # default with its own methods when the app has no handler for them.
    from starlette.middleware.exceptions import ExceptionMiddleware

    for name in ("http_exception", "websocket_exception"):
        func = getattr(ExceptionMiddleware, name, None)
        code = getattr(func, "__code__", None)
        if code is not None:
            reg.handlers.setdefault(code, func)
    return reg


def middleware_layers(app: Any) -> list[Any]:
    """The app's built middleware stack, outermost first, without the tracer's probes."""
    node = getattr(app, "middleware_stack", None)
    layers: list[Any] = []
    router = getattr(app, "router", None)
    for _ in range(100):
        if node is None or node is router:
            break
        if not type(node).__module__.startswith("lifecycle_tracer"):
            layers.append(node)
        node = getattr(node, "app", None)
    return layers
