"""Exception handlers: which handler took an exception, and the status it chose.

The handler Starlette looks up is wrapped (keeping it sync or async), so the
event is reported when the handler has answered, with the real status code.
Unhandled exceptions are reported by the probe inside ServerErrorMiddleware.
"""

from __future__ import annotations

import functools
from typing import Any

from starlette._utils import is_async_callable

from ..safe import exc_message, exc_type, preview, qualname
from .trace import RequestTrace, current, report_fault


def wrap_exception_lookup(eh: Any) -> None:
    orig = eh._lookup_exception_handler

    @functools.wraps(orig)
    def _lookup_exception_handler(exc_handlers: Any, exc: Exception) -> Any:
        handler = orig(exc_handlers, exc)
        if handler is None:
            return None
        trace = current.get()
        if trace is None or id(exc) in trace.exc_reported:
            return handler
        try:
            return _traced_handler(trace, handler, exc)
        except Exception as fault:
            report_fault("exception handler", fault)
            return handler

    eh._lookup_exception_handler = _lookup_exception_handler


def _traced_handler(trace: RequestTrace, handler: Any, exc: Exception) -> Any:
    trace.exc_reported.add(id(exc))
    _json_error_event(trace, exc)
    hname = qualname(handler)

    def report(response: Any) -> None:
        status = getattr(response, "status_code", None)
        detail = {
            "type": exc_type(exc),
            "message": _errors_text(exc) if type(exc).__name__.endswith("ValidationError") else exc_message(exc),
            "handler": hname,
            "status_code": status,
            "handled": True,
        }
        ename = type(exc).__name__
        if ename == "WebSocketException":
            code = getattr(exc, "code", None)
            detail["close_code"] = code
            explain = (
                f"WebSocketException({code}) was raised; Starlette's handler closed the WebSocket with code {code}"
                + (" before accepting it, so the server refuses the handshake with HTTP 403." if not trace.response_started else ".")
            )
        elif ename == "RequestValidationError":
            explain = f"Validation failed, so FastAPI raised {ename}; the handler {hname} turns it into a {status} with the errors."
        elif hasattr(exc, "status_code"):
            explain = f"{ename}({getattr(exc, 'status_code', '')}) was raised; the exception handler {hname} turned it into a {status} response."
        else:
            explain = f"{ename} was raised; your exception handler {hname} caught it and answered {status}."
        trace.emit("exception", "point", ename, detail, explain)

    if is_async_callable(handler):

        async def traced_async(conn: Any, e: Exception) -> Any:
            response = await handler(conn, e)
            _guarded(report, response)
            return response

        return traced_async

    def traced_sync(conn: Any, e: Exception) -> Any:
        response = handler(conn, e)
        _guarded(report, response)
        return response

    return traced_sync


def _guarded(fn: Any, arg: Any) -> None:
    try:
        fn(arg)
    except Exception as exc:
        report_fault("exception report", exc)


def _errors_text(exc: Any) -> str:
    try:
        errs = exc.errors()
        return "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in errs[:5])
    except Exception:
        return exc_message(exc)


def _json_error_event(trace: RequestTrace, exc: Exception) -> None:
    """A malformed JSON body fails before any parameter is validated: say so."""
    if type(exc).__name__ != "RequestValidationError" or trace.validation_seen:
        return
    errors = getattr(exc, "errors", lambda: [])()
    bad = [e for e in errors if isinstance(e, dict) and e.get("type") == "json_invalid"]
    if not bad:
        return
    err = bad[0]
    ctx = err.get("ctx") or {}
    trace.emit(
        "validation",
        "point",
        "body",
        {
            "location": "body",
            "field": "body",
            "raw": preview(getattr(exc, "body", None), redact=trace.redact),
            "ok": False,
            "errors": [{"loc": list(err.get("loc", ())), "msg": str(err.get("msg")), "type": "json_invalid"}],
        },
        f"The body is not valid JSON ({ctx.get('error', 'decode error')} at position "
        f"{list(err.get('loc', ('', '?')))[-1]}), so FastAPI answers 422 without looking at any field.",
    )
