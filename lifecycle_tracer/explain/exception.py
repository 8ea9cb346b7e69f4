"""Exceptions: which handler answered, or that none did."""

from __future__ import annotations

from typing import Any

from ._table import says


def _handler(d: dict[str, Any]) -> str:
    handler = d.get("handler")
    module = str(d.get("handler_module") or "")
    if d.get("builtin_handler") or module.startswith(("fastapi.", "starlette.")):
        owner = "FastAPI's" if module.startswith("fastapi.") else "Starlette's"
        return f"{owner} default handler {handler}"
    return f"your handler {handler}"


def _answer(d: dict[str, Any]) -> str:
    status = d.get("status_code")
    if status is not None:
        return f"returned a {status} response"
    if d.get("returned") is None:
        return "returned no response"
    return f"returned a {d.get('returned')}"


@says("exception", "point")
def exception_point(name: str, d: dict[str, Any]) -> str:
    exc = d.get("exc_name") or name
    if d.get("handled"):
        if d.get("caught_by") == "ServerErrorMiddleware":
            text = f"{exc} reached ServerErrorMiddleware, which handed it to {_handler(d)}; the handler {_answer(d)}."
            if d.get("response_started"):
                text += " The response had already started, so ServerErrorMiddleware cannot send it."
            return text
        if exc in ("RequestValidationError", "WebSocketRequestValidationError"):
            return f"The request failed validation, so FastAPI raised {exc}; {_handler(d)} handled it and {_answer(d)}."
        if d.get("exc_status") is not None:
            # "reached", not "was raised": the event comes when the handler runs, after the layers it passed out of.
            return f"{exc}({d['exc_status']}) reached {_handler(d)}, which {_answer(d)}."
        if d.get("close_code") is not None:
            return f"{exc}({d['close_code']}) was raised; {_handler(d)} handled it."
        return f"{exc} reached {_handler(d)}, which {_answer(d)}."
    if d.get("websocket"):
        return (f"{exc} was not handled inside the app. ServerErrorMiddleware only handles HTTP requests, so it "
                "passes on to the server.")
    if d.get("response_done"):
        return (f"{exc} was raised after the response was complete (in a background task or a teardown) and reached "
                "ServerErrorMiddleware, which re-raises it for the server's log: the client already has its answer.")
    if d.get("response_started"):
        return (f"{exc} was raised after the response had started; it reached ServerErrorMiddleware, which cannot "
                "send an error response any more and re-raises it for the server's log.")
    if d.get("handler"):
        return (f"{exc} was not handled inside the app, so it reached ServerErrorMiddleware, the outermost layer, "
                f"which hands it to your handler {d['handler']} for Exception or 500.")
    text = (f"No exception handler took {exc}: it reached ServerErrorMiddleware, the outermost layer, which catches "
            "every exception on an HTTP request, answers with its own error response and re-raises it for the "
            "server's log.")
    if d.get("http_exception"):
        text += " (An HTTPException raised outside ExceptionMiddleware, in a middleware for instance, never meets the handlers.)"
    return text
