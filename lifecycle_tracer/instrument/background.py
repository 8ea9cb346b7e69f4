"""Background tasks, as they really ran: when, after what the client had been sent, on which thread."""

from __future__ import annotations

import functools
from typing import Any

from ..safe import exc_type, qualname
from .source import safe_source
from .threads import where
from .trace import current, report_fault


def wrap_background(bg: Any) -> None:
    cls = bg.BackgroundTask
    orig_call = cls.__call__

    @functools.wraps(orig_call)
    async def __call__(self: Any) -> None:
        trace = current.get()
        if trace is None or type(self) is not cls and hasattr(self, "tasks"):
            return await orig_call(self)
        try:
            func = self.__dict__.get("func")
            name = qualname(func)
            is_async = bool(self.__dict__.get("is_async", False))
            file, line = safe_source(func)
            detail: dict[str, Any] = {"is_async": is_async, "file": file, "line": line,
                                      "response_started": trace.response_started, "response_done": trace.resp_done}
            if not callable(func):  # add_task(f(x)) instead of add_task(f, x): what Starlette got is no function
                detail["not_callable"] = type(func).__name__
            seen: dict[str, Any] = {}

            def started() -> None:
                seen.update(where(trace))
                trace.emit("background", "start", name, {**detail, **seen})

            if is_async:
                started()
            else:
                trace.worker_hook = (func, started)
        except Exception as exc:
            report_fault("background", exc)
            return await orig_call(self)
        if trace.tracer.stepper is not None and is_async:
            await trace.checkpoint()
        try:
            await orig_call(self)
        except BaseException as exc:
            trace.worker_hook = None
            trace.emit("background", "end", name, {**detail, **seen, "raised": exc_type(exc),
                                                   "raised_name": type(exc).__name__})
            raise
        trace.worker_hook = None
        trace.emit("background", "end", name, {**detail, **seen})

    cls.__call__ = __call__
