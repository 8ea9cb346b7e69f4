"""Dependency injection: each dependency's setup, cache hits and teardown.

FastAPI's ``solve_dependencies`` recurses once per dependency: it first
solves the dependency's own parameters and sub-dependencies, then calls it.
The wrapper sees the recursion; the call itself is inline in FastAPI, so a
plain dependency's end is taken when control next reaches a hook (see
``PendingDependency``). Yield dependencies go through ``_solve_generator``,
whose exit-stack entry is wrapped to see the teardown after ``yield``.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from ..safe import exc_type, qualname, type_name
from .source import safe_source
from .teardown import StackProxy
from .trace import PendingDependency, RequestTrace, current, report_fault

_KIND: dict[int, tuple[Any, bool, bool]] = {}


def _kind(call: Any) -> tuple[bool, bool]:
    """(is_generator, is_async) for a dependency, remembered per callable."""
    hit = _KIND.get(id(call))
    if hit is not None and hit[0] is call:
        return hit[1], hit[2]
    kind = (_is_generator(call), _is_async(call))
    if len(_KIND) > 20000:
        _KIND.clear()
    _KIND[id(call)] = (call, *kind)
    return kind


def _is_generator(call: Any) -> bool:
    if inspect.isgeneratorfunction(call) or inspect.isasyncgenfunction(call):
        return True
    dunder = getattr(call, "__call__", None)  # noqa: B004
    return inspect.isgeneratorfunction(dunder) or inspect.isasyncgenfunction(dunder)


def _is_async(call: Any) -> bool:
    if inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call):
        return True
    dunder = getattr(call, "__call__", None)  # noqa: B004
    return inspect.iscoroutinefunction(dunder) or inspect.isasyncgenfunction(dunder)


try:  # FastAPI >= 0.163 computes the key with a function; older ones with a property
    from fastapi.dependencies.models import _get_cache_key
except ImportError:  # pragma: no cover - depends on the installed FastAPI
    _get_cache_key = None


def _cache_key(dependant: Any, kwargs: dict[str, Any]) -> Any:
    if _get_cache_key is not None:
        return _get_cache_key(dependant=dependant, uses_scopes_cache=kwargs.get("_uses_scopes_cache"))
    return dependant.cache_key


def _will_use_cache(dependant: Any, kwargs: dict[str, Any]) -> bool:
    cache = kwargs.get("dependency_cache")
    if not cache or not getattr(dependant, "use_cache", True):
        return False
    key = _cache_key(dependant, kwargs)
    overrides = getattr(kwargs.get("dependency_overrides_provider"), "dependency_overrides", None)
    if overrides:  # FastAPI caches an overridden dependency under the original's key
        for original, override in overrides.items():
            if override is dependant.call:
                key = (original, *tuple(key)[1:])
                break
    return key in cache


def _describe(trace: RequestTrace, dependant: Any) -> tuple[str, dict[str, Any]]:
    call = dependant.call
    name = qualname(call)
    is_generator, is_async = _kind(call)
    file, line = safe_source(call)
    detail: dict[str, Any] = {
        "file": file,
        "line": line,
        "param": getattr(dependant, "name", None),
        "is_generator": is_generator,
        "is_async": is_async,
        "needed_by": trace.dep_path[-1] if trace.dep_path else None,
        "depth": len(trace.dep_path),
    }
    scope = getattr(dependant, "scope", None)
    if scope:
        detail["scope"] = scope
    return name, detail


def install(du: Any, fr: Any) -> None:
    orig_solve = du.solve_dependencies
    orig_generator = du._solve_generator

    @functools.wraps(orig_solve)
    async def solve_dependencies(*args: Any, **kwargs: Any) -> Any:
        trace = current.get()
        if trace is None:
            return await orig_solve(*args, **kwargs)
        return await _traced_solve(trace, orig_solve, args, kwargs)

    @functools.wraps(orig_generator)
    async def _solve_generator(*args: Any, **kwargs: Any) -> Any:
        trace = current.get()
        if trace is None or trace.suppress_at is not None or "stack" not in kwargs:
            return await orig_generator(*args, **kwargs)
        try:
            name, detail = _describe(trace, kwargs["dependant"])
            detail["phase"] = "setup"
            kwargs["stack"] = StackProxy(kwargs["stack"], trace, name, detail)
            trace.emit(
                "dependency",
                "start",
                name,
                detail,
                f"FastAPI runs the yield dependency {name} up to its yield (setup).",
            )
        except Exception as exc:
            report_fault("dependency setup", exc)
            return await orig_generator(*args, **kwargs)
        if trace.tracer.stepper is not None:
            await trace.checkpoint()
        try:
            value = await orig_generator(*args, **kwargs)
        except BaseException as exc:
            trace.emit(
                "dependency",
                "end",
                name,
                {**detail, "raised": exc_type(exc)},
                f"{name} raised {type(exc).__name__} before reaching its yield.",
            )
            raise
        trace.emit(
            "dependency",
            "end",
            name,
            {**detail, "returned": type_name(value)},
            f"{name} reached its yield and handed a {type_name(value)} to the request; "
            "the code after yield waits until the request is finished with it.",
        )
        return value

    du.solve_dependencies = solve_dependencies
    du._solve_generator = _solve_generator
    fr.solve_dependencies = solve_dependencies


async def _traced_solve(trace: RequestTrace, orig: Any, args: Any, kwargs: dict[str, Any]) -> Any:
    dependant = kwargs.get("dependant")
    depth = trace.dep_depth
    is_root = depth == 0
    cached = False
    name = ""
    try:
        if is_root:
            trace.dep_path = [qualname(dependant.call)]
        elif trace.suppress_at is None:
            if _will_use_cache(dependant, kwargs):
                cached = True
                name, detail = _describe(trace, dependant)
                detail["cached"] = True
                trace.emit(
                    "dependency",
                    "point",
                    name,
                    detail,
                    f"{name} already ran for this request, so FastAPI reuses its value from the per-request cache instead of calling it again.",
                )
                trace.suppress_at = depth
            else:
                trace.dep_path.append(qualname(dependant.call))
    except Exception as exc:
        report_fault("dependency", exc)
    trace.dep_depth = depth + 1
    try:
        result = await orig(*args, **kwargs)
    except BaseException as exc:
        trace.flush_dependency(exc)
        raise
    finally:
        trace.dep_depth = depth
        if trace.suppress_at == depth:
            trace.suppress_at = None
        elif not is_root and not cached and trace.suppress_at is None and trace.dep_path:
            trace.dep_path.pop()
    if cached or trace.suppress_at is not None:
        return result
    try:
        if is_root:
            trace.flush_dependency(None)
            if not getattr(result, "errors", None):
                _unwrapped_endpoint(trace, dependant)
        else:
            _before_call(trace, dependant, result, kwargs)
    except Exception as exc:
        report_fault("dependency", exc)
    if trace.tracer.stepper is not None:
        await trace.checkpoint()
    return result


def _unwrapped_endpoint(trace: RequestTrace, dependant: Any) -> None:
    """Endpoints FastAPI calls without ``run_endpoint_function``: WebSockets and generators.

    Their body runs for the whole conversation or stream, so there is no single
    end to report; one point says they start, and the messages or chunks follow.
    """
    call = dependant.call
    is_ws = trace.scope.get("type") == "websocket"
    is_gen, _ = _kind(call)
    if not (is_ws or is_gen):
        return
    name = qualname(call)
    file, line = safe_source(call)
    detail = {"is_async": True if is_ws else _kind(call)[1], "websocket": is_ws, "streaming": is_gen,
              "threadpool": False, "file": file, "line": line}
    if is_ws:
        explain = f"FastAPI calls your WebSocket endpoint {name}; it runs for the whole conversation, so the accept, messages and close show what it does."
    else:
        explain = f"Your endpoint {name} is a generator: FastAPI streams each item it yields as a chunk of the response while it runs."
    trace.emit("endpoint", "point", name, detail, explain)


def _before_call(trace: RequestTrace, dependant: Any, result: Any, kwargs: dict[str, Any]) -> None:
    """The dependency's own inputs are solved; FastAPI is about to call it."""
    name, detail = _describe(trace, dependant)
    if getattr(result, "errors", None):
        detail["skipped"] = True
        trace.emit(
            "dependency",
            "point",
            name,
            detail,
            f"{name} is not called because its own parameters failed validation.",
        )
        return
    if detail["is_generator"]:
        return  # _solve_generator reports the setup
    detail["phase"] = "setup"
    detail["threadpool"] = not detail["is_async"]
    where = (
        "awaits it directly because it is an async def"
        if detail["is_async"]
        else "runs it in a worker thread because it is a plain def, so it cannot block other requests"
    )
    trace.emit(
        "dependency",
        "start",
        name,
        detail,
        f"FastAPI calls the dependency {name} and {where}; its result fills '{detail['param']}'."
        if detail["param"]
        else f"FastAPI calls the dependency {name} and {where}.",
    )
    trace.pending_dep = PendingDependency(name, detail, dependant.call, kwargs.get("dependency_cache"))
