"""The app's handler for ``Exception`` or 500, which ServerErrorMiddleware calls.

FastAPI hands a handler registered for ``Exception`` (or status 500) to
ServerErrorMiddleware, outside every other layer, instead of to
ExceptionMiddleware; Starlette never looks it up, so the lookup hook in
``exceptions.py`` cannot see it. The middleware keeps it in ``.handler``:
that attribute is wrapped (staying async or sync as it was) so the event
says which handler answered and with what status.
"""

from __future__ import annotations

from typing import Any

from starlette._utils import is_async_callable

from .exceptions import handler_detail
from .trace import current, report_fault

_MARK = "__lifecycle_tracer_wrapped__"


def watch_error_handler(server_errors: Any) -> None:
    handler = getattr(server_errors, "handler", None)
    if handler is None or getattr(handler, _MARK, False):
        return

    def report(exc: Exception, response: Any) -> None:
        trace = current.get()
        if trace is None:
            return
        try:
            detail = handler_detail(trace, handler, exc, response)
            detail["caught_by"] = "ServerErrorMiddleware"
            trace.emit("exception", "point", type(exc).__name__, detail)
        except Exception as fault:
            report_fault("error handler", fault)

    if is_async_callable(handler):

        async def traced_async(request: Any, exc: Exception) -> Any:
            response = await handler(request, exc)
            report(exc, response)
            return response

        wrapped: Any = traced_async
    else:

        def traced_sync(request: Any, exc: Exception) -> Any:
            response = handler(request, exc)
            report(exc, response)
            return response

        wrapped = traced_sync
    setattr(wrapped, _MARK, True)
    wrapped.__wrapped__ = handler
    server_errors.handler = wrapped
