"""Dependency injection, as FastAPI did it: each dependency's setup, cache hits and teardown.

``solve_dependencies`` recurses once per dependency: it solves the
dependency's own inputs, then uses the per-request cache, runs a yield
dependency through ``_solve_generator``, runs a plain ``def`` through
``run_in_threadpool``, or awaits an ``async def`` inline. Each of those is
observed, not predicted:

- the root call gets a per-request cache that notes FastAPI's own reads (a
  hit) and writes (a value just computed);
- ``_solve_generator`` and ``run_in_threadpool`` are wrapped where FastAPI
  calls them, so a yield dependency's setup and a plain one's thread are seen;
- an ``async def`` dependency has nothing around its call: its start is the
  moment its inputs were solved, its end the cache write right after it (or,
  with ``use_cache=False`` on a cached key, the next thing FastAPI does).
"""

from __future__ import annotations

import functools
from typing import Any

from ..safe import exc_type, qualname, type_name
from .endpoint import unwrapped_endpoint
from .source import kind_of, safe_source
from .teardown import StackProxy
from .threads import where
from .trace import RequestTrace, clock, current, report_fault


class OpenDependency:
    """A dependency whose inputs are solved and whose call FastAPI is making."""

    __slots__ = ("call", "detail", "how", "name", "started", "t")

    def __init__(self, name: str, call: Any, detail: dict[str, Any], t: int) -> None:
        self.name = name
        self.call = call
        self.detail = detail
        self.t = t
        self.started = False
        self.how: str | None = None  # "cache" or "generator": FastAPI's other ways, reported elsewhere


_CALLS: dict[int, tuple[Any, str, dict[str, Any]]] = {}


def _describe(trace: RequestTrace, dependant: Any) -> tuple[str, dict[str, Any]]:
    call = dependant.call
    hit = _CALLS.get(id(call))
    if hit is None or hit[0] is not call:
        is_generator, is_async = kind_of(call)
        file, line = safe_source(call)
        hit = (call, qualname(call), {"file": file, "line": line, "is_generator": is_generator, "is_async": is_async})
        if len(_CALLS) > 20000:
            _CALLS.clear()
        _CALLS[id(call)] = hit
    path = trace.dep_path
    detail = {**hit[2], "param": dependant.name, "needed_by": path[-1] if path else None,
              "depth": len(path) - 1 if path else 0}
    scope = dependant.scope
    if scope:
        detail["scope"] = scope
    return hit[1], detail


class ObservedCache(dict):  # type: ignore[type-arg]
    """FastAPI's per-request dependency cache, noting FastAPI's own reads and writes."""

    __slots__ = ("trace",)

    def __init__(self, trace: RequestTrace) -> None:
        super().__init__()
        self.trace = trace

    def __getitem__(self, key: Any) -> Any:
        value = dict.__getitem__(self, key)
        try:
            _cache_hit(self.trace)
        except Exception as exc:
            report_fault("dependency cache", exc)
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        dict.__setitem__(self, key, value)
        try:
            close(self.trace, value=value)
        except Exception as exc:
            report_fault("dependency cache", exc)


def _start(trace: RequestTrace, dep: OpenDependency, **facts: Any) -> None:
    """Emit the dependency's start, stamped with the moment FastAPI began it."""
    dep.started = True
    trace.emit_at(dep.t, "dependency", "start", dep.name, {**dep.detail, "phase": "setup", **facts})


def close(trace: RequestTrace, value: Any = None, raised: BaseException | None = None) -> None:
    """The open dependency's call is over (its value was stored, or FastAPI moved on)."""
    dep: OpenDependency | None = trace.open_dep
    if dep is None:
        return
    trace.open_dep = None
    if dep.how in ("cache", "generator"):
        return
    if not dep.started:
        _start(trace, dep, threadpool=False)
    detail: dict[str, Any] = {"phase": "setup", "param": dep.detail.get("param"), "is_async": dep.detail["is_async"],
                              "depth": dep.detail["depth"], "needed_by": dep.detail["needed_by"]}
    if raised is not None:
        detail["raised"] = exc_type(raised)
        detail["raised_name"] = type(raised).__name__
    else:
        detail["returned"] = type_name(value)
    trace.emit("dependency", "end", dep.name, detail)


def _cache_hit(trace: RequestTrace) -> None:
    dep: OpenDependency | None = trace.open_dep
    if dep is None:
        return
    dep.how = "cache"
    trace.open_dep = None
    trace.emit("dependency", "point", dep.name, {**dep.detail, "cached": True})


def install(du: Any, fr: Any) -> None:
    orig_solve = du.solve_dependencies
    orig_generator = du._solve_generator
    orig_threadpool = du.run_in_threadpool

    @functools.wraps(orig_solve)
    async def solve_dependencies(*args: Any, **kwargs: Any) -> Any:
        # One coroutine, not two: FastAPI calls this once per dependency.
        trace = current.get()
        if trace is None:
            return await orig_solve(*args, **kwargs)
        dependant = kwargs.get("dependant")
        if trace.open_dep is not None:
            close(trace)  # FastAPI moved on: whatever dependency was open has returned
        path = trace.dep_path
        is_root = not path
        stepper = trace.tracer.stepper
        try:
            if is_root:
                if stepper is not None and trace.routing is not None:
                    trace.flush_pending()  # the router chose this route: a boundary worth holding at
                    await trace.checkpoint()
                if kwargs.get("dependency_cache") is None:
                    kwargs["dependency_cache"] = ObservedCache(trace)
            name, detail = _describe(trace, dependant)
            path.append(name)
        except Exception as exc:
            report_fault("dependency", exc)
            return await orig_solve(*args, **kwargs)
        try:
            result = await orig_solve(*args, **kwargs)
        except BaseException as exc:
            close(trace, raised=exc)
            raise
        finally:
            if path:
                path.pop()
        if trace.open_dep is not None:
            close(trace)
        try:
            if is_root:
                if not result.errors:
                    unwrapped_endpoint(trace, dependant)
            elif result.errors:
                detail["skipped"] = True
                trace.emit("dependency", "point", name, detail)
            else:
                trace.open_dep = OpenDependency(name, dependant.call, detail, clock())
        except Exception as exc:
            report_fault("dependency", exc)
        if stepper is not None:
            await trace.checkpoint()
        return result

    @functools.wraps(orig_generator)
    async def _solve_generator(*args: Any, **kwargs: Any) -> Any:
        trace = current.get()
        dep = trace.open_dep if trace is not None else None
        if trace is None or dep is None or "stack" not in kwargs:
            return await orig_generator(*args, **kwargs)
        try:
            dep.how = "generator"
            trace.open_dep = None
            detail = {**dep.detail, "phase": "setup"}
            kwargs["stack"] = StackProxy(kwargs["stack"], trace, dep.name, detail)
            _start(trace, dep)
        except Exception as exc:
            report_fault("dependency setup", exc)
            return await orig_generator(*args, **kwargs)
        if trace.tracer.stepper is not None:
            await trace.checkpoint()
        end = {"phase": "setup", "param": detail.get("param"), "is_generator": True, "is_async": detail["is_async"],
               "depth": detail["depth"], "scope": detail.get("scope")}
        try:
            value = await orig_generator(*args, **kwargs)
        except BaseException as exc:
            trace.emit("dependency", "end", dep.name, {**end, "raised": exc_type(exc), "raised_name": type(exc).__name__})
            raise
        trace.emit("dependency", "end", dep.name, {**end, "returned": type_name(value)})
        return value

    @functools.wraps(orig_threadpool)
    async def run_in_threadpool(func: Any, *args: Any, **kwargs: Any) -> Any:
        trace = current.get()
        dep = trace.open_dep if trace is not None else None
        if trace is None or dep is None or func is not dep.call:
            return await orig_threadpool(func, *args, **kwargs)

        def in_worker(*a: Any, **k: Any) -> Any:
            try:
                _start(trace, dep, **where(trace))
            except Exception as exc:
                report_fault("dependency setup", exc)
            return func(*a, **k)

        try:
            value = await orig_threadpool(in_worker, *args, **kwargs)
        except BaseException as exc:
            close(trace, raised=exc)
            raise
        close(trace, value=value)
        return value

    du.solve_dependencies = solve_dependencies
    du._solve_generator = _solve_generator
    du.run_in_threadpool = run_in_threadpool
    fr.solve_dependencies = solve_dependencies
