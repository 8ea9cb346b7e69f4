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

from .exceptions import handler_detail, reporting
from .trace import current, report_fault


def watch_error_handler(server_errors: Any) -> None:
    handler = getattr(server_errors, "handler", None)
    if handler is None or getattr(handler, "__lifecycle_tracer_wrapped__", False):
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

    server_errors.handler = reporting(handler, report)
