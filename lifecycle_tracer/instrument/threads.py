"""Which thread code really ran on.

FastAPI and Starlette send plain ``def`` code to the threadpool with
``run_in_threadpool`` (dependencies, endpoints, background tasks, some
exception handlers) and sync iterators with ``iterate_in_threadpool``
(streamed bodies, generator endpoints). Both are wrapped in the modules that
call them. A hook that is about to see user code run sets
``trace.worker_hook``; the next call hands the code to the threadpool inside
a thin function that reports, from the worker itself, that it started there.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

from .trace import RequestTrace, current, report_fault

# (the function expected, or None for "the next call"; called in the worker)
WorkerHook = tuple[Any, Callable[[], None]]


def where(trace: RequestTrace) -> dict[str, Any]:
    """The calling thread, as facts."""
    return {"threadpool": trace.on_worker(), "thread": threading.current_thread().name}


def watch_run_in_threadpool(module: Any) -> None:
    orig = module.run_in_threadpool
    if getattr(orig, "__lifecycle_tracer__", False):
        return

    @functools.wraps(orig)
    async def run_in_threadpool(func: Any, *args: Any, **kwargs: Any) -> Any:
        trace = current.get()
        hook = trace.worker_hook if trace is not None else None
        if hook is None or (hook[0] is not None and hook[0] is not func):
            return await orig(func, *args, **kwargs)
        trace.worker_hook = None  # type: ignore[union-attr]
        on_start = hook[1]

        def in_worker(*a: Any, **k: Any) -> Any:
            try:
                on_start()
            except Exception as exc:
                report_fault("threadpool", exc)
            return func(*a, **k)

        return await orig(in_worker, *args, **kwargs)

    run_in_threadpool.__lifecycle_tracer__ = True  # type: ignore[attr-defined]
    module.run_in_threadpool = run_in_threadpool


class _Watched:
    """Iterates the original iterator, reporting the first ``next()`` from the thread it runs on."""

    __slots__ = ("_first", "_it")

    def __init__(self, it: Iterator[Any], first: Callable[[], None]) -> None:
        self._it = it
        self._first: Callable[[], None] | None = first

    def __iter__(self) -> _Watched:
        return self

    def __next__(self) -> Any:
        first = self._first
        if first is not None:
            self._first = None
            try:
                first()
            except Exception as exc:
                report_fault("threadpool", exc)
        return next(self._it)


def watch_iterate_in_threadpool(module: Any, on_first: Callable[[RequestTrace, Any], Callable[[], None] | None]) -> None:
    orig = module.iterate_in_threadpool
    if getattr(orig, "__lifecycle_tracer__", False):
        return

    @functools.wraps(orig)
    def iterate_in_threadpool(iterator: Any) -> Any:
        trace = current.get()
        if trace is not None:
            try:
                first = on_first(trace, iterator)
                if first is not None:
                    iterator = _Watched(iter(iterator), first)
            except Exception as exc:
                report_fault("threadpool", exc)
        return orig(iterator)

    iterate_in_threadpool.__lifecycle_tracer__ = True  # type: ignore[attr-defined]
    module.iterate_in_threadpool = iterate_in_threadpool
