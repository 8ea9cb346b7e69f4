"""A yield dependency's teardown: the code after ``yield``, seen when it runs.

``_solve_generator`` enters the dependency's context manager on the request's
exit stack; a stand-in stack wraps that context manager so its exit, which
runs the code after ``yield``, is reported, wherever FastAPI closes the stack.
"""

from __future__ import annotations

from typing import Any

from ..safe import exc_type
from .trace import RequestTrace, report_fault


class StackProxy:
    """Stands in for the request's AsyncExitStack to wrap one dependency's exit."""

    __slots__ = ("_detail", "_name", "_stack", "_trace")

    def __init__(self, stack: Any, trace: RequestTrace, name: str, detail: dict[str, Any]) -> None:
        self._stack = stack
        self._trace = trace
        self._name = name
        self._detail = detail

    async def enter_async_context(self, cm: Any) -> Any:
        return await self._stack.enter_async_context(_Teardown(cm, self._trace, self._name, self._detail))

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._stack, attr)


class _Teardown:
    __slots__ = ("_cm", "_detail", "_name", "_trace")

    def __init__(self, cm: Any, trace: RequestTrace, name: str, detail: dict[str, Any]) -> None:
        self._cm = cm
        self._trace = trace
        self._name = name
        self._detail = detail

    async def __aenter__(self) -> Any:
        return await self._cm.__aenter__()

    async def __aexit__(self, et: Any, ev: Any, tb: Any) -> Any:
        trace, name = self._trace, self._name
        detail = {**self._detail, "phase": "teardown", "response_started": trace.response_started,
                  "response_done": trace.resp_done}
        try:
            if et is not None:
                detail["exception_in"] = exc_type(ev)
            trace.emit("dependency", "start", name, detail)
        except Exception as exc:
            report_fault("dependency teardown", exc)
        if trace.tracer.stepper is not None:
            await trace.checkpoint()
        end = {"phase": "teardown", "param": detail.get("param"), "is_generator": True, "depth": detail.get("depth")}
        try:
            suppress = await self._cm.__aexit__(et, ev, tb)
        except BaseException as exc:
            trace.emit("dependency", "end", name, {**end, "raised": exc_type(exc), "raised_name": type(exc).__name__})
            raise
        trace.emit("dependency", "end", name, end)
        return suppress
