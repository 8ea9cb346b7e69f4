"""Exception handlers: which handler really ran, and the response it returned.

ExceptionMiddleware keeps the app's handlers in two dicts of its own (by
exception class, and by HTTP status code) and puts them in the scope, where
the route-level wrapper finds them too. Each handler in those dicts is
replaced by a wrapper (async or sync as it was) that reports, once the
handler has returned, its name and the response it chose. Handlers the app
registered for ``Exception`` or 500 live in ServerErrorMiddleware instead
(see ``servererrors.py``).
"""

from __future__ import annotations

from typing import Any

from starlette._utils import is_async_callable

from ..redaction import header_pairs
from ..safe import exc_message, exc_type, preview_text, qualname
from .trace import RequestTrace, current, report_fault

WRAPPED_MARK = "__lifecycle_tracer_wrapped__"


def _builtin_handlers() -> set[Any]:
    out: set[Any] = set()
    try:
        import fastapi.exception_handlers as feh

        for name in ("http_exception_handler", "request_validation_exception_handler",
                     "websocket_request_validation_exception_handler"):
            fn = getattr(feh, name, None)
            if fn is not None:
                out.add(fn)
    except Exception as exc:  # pragma: no cover - depends on the installed FastAPI
        report_fault("exception handlers", exc)
    return out


def _is_builtin(handler: Any, builtins: set[Any]) -> bool:
    if handler in builtins:
        return True
    owner = getattr(handler, "__self__", None)
    module = getattr(type(owner), "__module__", "") or "" if owner is not None else ""
    return module.startswith("starlette.")  # ExceptionMiddleware's own http_exception / websocket_exception


def watch_handlers(exception_middleware: Any) -> None:
    """Wrap every handler ExceptionMiddleware holds (called once per built stack)."""
    builtins = _builtin_handlers()
    for attr in ("_exception_handlers", "_status_handlers"):
        handlers = getattr(exception_middleware, attr, None)
        if not isinstance(handlers, dict):
            continue
        for key, handler in list(handlers.items()):
            if not getattr(handler, WRAPPED_MARK, False):
                handlers[key] = _wrap(handler, _is_builtin(handler, builtins), attr == "_status_handlers")


def _wrap(handler: Any, builtin: bool, by_status: bool) -> Any:
    def report(exc: Exception, response: Any) -> None:
        trace = current.get()
        if trace is None or trace.ended:
            return
        try:
            _json_error_event(trace, exc)
            detail = handler_detail(trace, handler, exc, response)
            detail["builtin_handler"] = builtin
            detail["by_status"] = by_status
            trace.emit("exception", "point", type(exc).__name__, detail)
        except Exception as fault:
            report_fault("exception handler", fault)

    return reporting(handler, report)


def reporting(handler: Any, report: Any) -> Any:
    """``handler``, async or sync as it was, calling ``report(exc, response)`` once it has returned."""
    if is_async_callable(handler):

        async def traced_async(conn: Any, exc: Exception) -> Any:
            response = await handler(conn, exc)
            report(exc, response)
            return response

        wrapped: Any = traced_async
    else:

        def traced_sync(conn: Any, exc: Exception) -> Any:
            response = handler(conn, exc)
            report(exc, response)
            return response

        wrapped = traced_sync
    setattr(wrapped, WRAPPED_MARK, True)
    wrapped.__wrapped__ = handler
    return wrapped


def handler_detail(trace: RequestTrace, handler: Any, exc: Exception, response: Any) -> dict[str, Any]:
    """The facts of one handled exception: what was raised, who answered, with what."""
    detail: dict[str, Any] = {
        "type": exc_type(exc),
        "exc_name": type(exc).__name__,
        "handler": qualname(handler),
        "handler_module": getattr(handler, "__module__", None),
        "handled": True,
        "websocket": trace.scope.get("type") == "websocket",
        "response_started": trace.response_started,
        "returned": None if response is None else type(response).__name__,
        "status_code": _status(response),
    }
    status = exc.__dict__.get("status_code")
    if type(status) is int:
        detail["exc_status"] = status
    code = exc.__dict__.get("code")
    if type(code) is int:
        detail["close_code"] = code
    headers = exc.__dict__.get("headers")
    if isinstance(headers, dict):
        detail["exc_headers"] = header_pairs([(str(k).encode("latin-1"), str(v).encode("latin-1"))
                                              for k, v in list(headers.items())[:20]], trace.redact)
    if type(exc).__name__.endswith("ValidationError") and hasattr(exc, "errors"):
        detail["errors"] = _errors(exc, trace.redact)
    else:
        detail["message"] = exc_message(exc, trace.redact)
    return detail


def _status(response: Any) -> int | None:
    if response is None:
        return None
    status = getattr(response, "status_code", None)
    return status if type(status) is int else None


def _errors(exc: Any, redact: bool) -> list[dict[str, Any]]:
    try:
        out = []
        for err in list(exc.errors())[:10]:
            if isinstance(err, dict):
                out.append({"loc": [p if type(p) is int else str(p) for p in err.get("loc", ())],
                            "msg": str(err.get("msg", "")), "type": str(err.get("type", ""))})
        return out
    except Exception:
        return []


def _json_error_event(trace: RequestTrace, exc: Exception) -> None:
    """A malformed JSON body fails before any parameter is validated: report the check FastAPI made."""
    if trace.validated or type(exc).__name__ != "RequestValidationError":
        return
    errors = getattr(exc, "errors", lambda: [])()
    bad = [e for e in errors if isinstance(e, dict) and e.get("type") == "json_invalid"]
    if not bad:
        return
    err = bad[0]
    ctx = err.get("ctx") or {}
    loc = list(err.get("loc", ()))
    trace.validated = True
    trace.emit(
        "validation",
        "point",
        "body",
        {
            "location": "body",
            "field": "body",
            "alias": "body",
            "raw": preview_text(getattr(exc, "body", None), trace.redact),
            "sent": True,
            "ok": False,
            "json_invalid": True,
            "position": loc[-1] if loc else None,
            "json_error": str(ctx.get("error", "")),
            "errors": [{"loc": [p if type(p) is int else str(p) for p in loc], "msg": str(err.get("msg")),
                        "type": "json_invalid"}],
        },
    )
