"""Middleware layers: what each layer is, and how it finished."""

from __future__ import annotations

from typing import Any

from ._table import says

_ROLE = {
    "ExceptionMiddleware": (
        "Starlette's layer for expected errors. An exception it has a handler for (FastAPI's or yours) "
        "becomes that handler's response here; any other passes on outward"
    ),
    "AsyncExitStackMiddleware": "FastAPI's layer that closes the request's resources, like uploaded files, when the request ends",
    "ExceptionTelemetryMiddleware": "FastAPI's layer that reports errors to OpenTelemetry, if telemetry is set up",
    "AppBodyLimitMiddleware": "FastAPI's layer that enforces max_body_size, a limit on request bodies, if one is set",
    "RequestBodyLimitMiddleware": "Starlette's body-size limiter: it counts the request body's bytes as the app reads them, and answers 413 once they pass the limit",
    "_BodyLimitExceptionMiddleware": "FastAPI's helper layer that turns a body-limit error raised inside a task group back into the plain error",
}


def _label(name: str, d: dict[str, Any]) -> str:
    return d.get("function") or name


@says("middleware", "start")
def middleware_start(name: str, d: dict[str, Any]) -> str:
    function = d.get("function")
    if function:
        return (f"{function} starts: your @app.middleware(\"http\") function, run by Starlette's BaseHTTPMiddleware; "
                "its code before call_next runs now.")
    if d.get("added_by_app"):
        return (f"{name} starts: a middleware your app added. It wraps every layer inside it, so it sees the "
                "request before them and the response after them.")
    if name == "ServerErrorMiddleware":
        return f"{name} starts: Starlette's outermost layer, the last resort. {_server_errors(d)}"
    role = _ROLE.get(name)
    if role is not None:
        return f"{name} starts: {role}."
    module = str(d.get("module") or "")
    if d.get("builtin"):
        return f"{name} starts: a layer {module.split('.')[0].capitalize()} added ({module})."
    return f"{name} starts: a layer of the app's middleware stack."


def _server_errors(d: dict[str, Any]) -> str:
    if d.get("websocket"):
        return "It handles the errors of HTTP requests only, so this WebSocket passes straight through it."
    handler = d.get("exception_handler")
    if handler:  # the app registered one for Exception or 500: Starlette gave it to this layer
        return (f"An exception that nothing inside it handled goes to your handler {handler} here "
                "(registered for Exception or 500).")
    if "exception_handler" in d:
        return "An exception that nothing inside it handled becomes a 500 (Internal Server Error) here."
    return "An exception that nothing inside it handled becomes a 500 here (or your handler's answer, if the app has one for Exception)."


@says("middleware", "end")
def middleware_end(name: str, d: dict[str, Any]) -> str:
    label = _label(name, d)
    raised = d.get("raised_name")
    if raised:
        if not d.get("called_next"):
            return f"{raised} passed out through {label}, which had not called the layers inside it."
        if d.get("depth") == 0:
            return f"{raised} passed out through {label}, out of the app to the server."
        return f"{raised} passed out through {label}, on to the layers outside it."
    if not d.get("called_next"):
        return f"{label} finished without calling the layers inside it, so nothing inside it ran for this request."
    if d.get("function"):
        return f"{label} is done: its code after call_next has run."
    return f"{label} ends, after every layer inside it has ended."
