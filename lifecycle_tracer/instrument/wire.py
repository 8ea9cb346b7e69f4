"""What crosses the wire: a request's start and end, the response's messages,
WebSocket messages and the app's lifespan, seen from the outermost probe."""

from __future__ import annotations

from time import monotonic_ns
from typing import TYPE_CHECKING, Any

from ..safe import exc_message, exc_type, header_pairs, preview, type_name
from .trace import RequestTrace, report_fault

if TYPE_CHECKING:
    from .tracer import Tracer

Scope = dict[str, Any]
MAX_STREAM_POINTS = 50


def start_request(trace: RequestTrace, scope: Scope) -> None:
    trace.t0 = monotonic_ns()
    qs = scope.get("query_string", b"")
    method = scope.get("method", "WEBSOCKET" if scope["type"] == "websocket" else "GET")
    path = scope.get("path", "")
    query = qs.decode("latin-1") if isinstance(qs, bytes) else str(qs)
    detail = {
        "type": scope["type"],
        "method": method,
        "path": path,
        "query_string": query,
        "headers": header_pairs(scope.get("headers"), trace.redact),
        "client": [str(client[0]), client[1]] if (client := scope.get("client")) else None,
        "http_version": scope.get("http_version"),
    }
    target = path + (f"?{query}" if query else "")
    if scope["type"] == "websocket":
        explain = f"A WebSocket connection to {target} arrived; it enters the app from the outermost layer."
    else:
        explain = f"The server received {method} {target} and hands it to the app's outermost layer."
    trace.emit("request", "start", f"{method} {path}", detail, explain)


def end_request(trace: RequestTrace, error: BaseException | None) -> None:
    duration = monotonic_ns() - trace.t0
    status = trace.status_code
    if status is None and error is not None and trace.scope["type"] == "http":
        status = 500  # the server answers 500 when the app raised before responding
    detail: dict[str, Any] = {"status_code": status, "duration_ns": duration}
    ms = duration / 1e6
    if trace.scope["type"] == "websocket":
        detail["close_code"] = trace.ws_close_code
        if trace.status_code is None and not trace.response_started:
            detail["status_code"] = 403
            explain = f"The app closed the WebSocket before accepting it, so the server refused the handshake (HTTP 403) after {ms:.2f} ms."
        else:
            if detail["status_code"] is None:
                detail["status_code"] = 101  # the handshake was accepted: 101 Switching Protocols
            explain = f"The WebSocket connection is over after {ms:.2f} ms."
    elif error is not None:
        detail["raised"] = type_name(error)
        explain = f"The request ended with {type(error).__name__} escaping the app after {ms:.2f} ms; the server logs it."
    else:
        explain = f"The request is complete: status {status} after {ms:.2f} ms, including anything that ran after the response was sent."
    trace.finish(detail, explain)


def report_unhandled(trace: RequestTrace, exc: BaseException, handler: str | None) -> None:
    if id(exc) in trace.exc_reported or not isinstance(exc, Exception):
        return
    trace.exc_reported.add(id(exc))
    started = trace.response_started
    status = None if started else 500
    detail = {
        "type": exc_type(exc),
        "message": exc_message(exc),
        "handler": handler,
        "status_code": status,
        "handled": False,
    }
    exc_name = type(exc).__name__
    if started and trace.resp_done:
        explain = (
            f"{exc_name} was raised after the response was complete (in a background task or a cleanup); "
            "the client already has its answer, so the server only logs the error."
        )
    elif started:
        explain = (
            f"{exc_name} was raised after the response had started, so nothing more can be "
            "sent; the connection is closed and the server logs the error."
        )
    elif exc_name == "HTTPException" or getattr(exc, "status_code", None) is not None:
        explain = (
            f"No exception handler ever saw this {exc_name}: handlers only catch errors raised inside "
            "ExceptionMiddleware, not in middleware outside it, so ServerErrorMiddleware treats it as a crash and answers 500."
        )
    else:
        explain = f"No exception handler matches {exc_name}, so ServerErrorMiddleware answers 500 Internal Server Error."
    trace.emit("exception", "point", exc_name, detail, explain)


def http_send(trace: RequestTrace, send: Any) -> Any:
    redact = trace.redact

    async def traced_send(message: dict[str, Any]) -> None:
        typ = message["type"]
        if typ == "http.response.body":
            body = message.get("body", b"")
            trace.resp_bytes += len(body)
            trace.resp_chunks += 1
            more = message.get("more_body", False)
            if more and trace.resp_chunks <= MAX_STREAM_POINTS:
                trace.emit(
                    "response",
                    "point",
                    "chunk",
                    {"chunk": trace.resp_chunks, "bytes": len(body), "preview": preview(body[:120], redact=trace.redact)},
                    f"Chunk {trace.resp_chunks} of the body ({len(body)} bytes) went out marked 'more to come', "
                    "so the response is not finished yet.",
                )
            await send(message)
            if not more:
                body_end(trace)
            return
        if typ == "http.response.start":
            headers = message.get("headers")
            if headers is not None and not isinstance(headers, list | tuple):
                # An iterator can be read once: read it into a list and pass a copy
                # of the message on, or the server would get no headers at all.
                message = {**message, "headers": list(headers)}
            status = message["status"]
            trace.status_code = status
            trace.response_started = True
            trace.emit(
                "response",
                "start",
                str(status),
                {"status_code": status, "headers": header_pairs(message.get("headers"), redact)},
                f"The status line {status} and the headers are sent to the client; the body follows.",
            )
            if trace.tracer.stepper is not None:
                await trace.checkpoint()
        elif typ == "http.response.pathsend":
            await send(message)
            body_end(trace, path=str(message.get("path")))
            return
        await send(message)

    return traced_send


def body_end(trace: RequestTrace, path: str | None = None) -> None:
    trace.resp_done = True
    n, chunks = trace.resp_bytes, trace.resp_chunks
    detail: dict[str, Any] = {"bytes": n, "chunks": chunks, "status_code": trace.status_code}
    if path is not None:
        detail["path"] = path
    what = f"{n} bytes in {chunks} chunk{'s' if chunks != 1 else ''}"
    trace.emit(
        "response",
        "end",
        str(trace.status_code),
        detail,
        f"The last of the body went out ({what}); the client has its full answer now.",
    )


def ws_channels(trace: RequestTrace, receive: Any, send: Any) -> tuple[Any, Any]:
    async def traced_receive() -> dict[str, Any]:
        message = await receive()
        try:
            ws_event(trace, message, incoming=True)
        except Exception as exc:
            report_fault("websocket receive", exc)
        return message

    async def traced_send(message: dict[str, Any]) -> None:
        try:
            ws_event(trace, message, incoming=False)
        except Exception as exc:
            report_fault("websocket send", exc)
        await send(message)

    return traced_receive, traced_send


_WS_TEXT = {
    "websocket.connect": "The app reads the client's request to open the WebSocket (accept() does this first) and now answers it.",
    "websocket.accept": "The app accepted the WebSocket; from now on both sides can send messages.",
    "websocket.receive": "A message arrived from the client.",
    "websocket.send": "The app sent a message to the client.",
    "websocket.close": "The app closed the WebSocket (code {code}).",
    "websocket.disconnect": "The client disconnected (code {code}).",
    "websocket.http.response.start": "The app refused the WebSocket with an HTTP {code} response.",
}


def ws_event(trace: RequestTrace, message: dict[str, Any], incoming: bool) -> None:
    typ = message.get("type", "")
    text = _WS_TEXT.get(typ)
    if text is None:
        return
    name = typ.removeprefix("websocket.")
    detail: dict[str, Any] = {"direction": "in" if incoming else "out"}
    code = message.get("code", message.get("status"))
    if code is not None:
        detail["code"] = code
    if typ in ("websocket.close", "websocket.disconnect"):
        trace.ws_close_code = code if code is not None else 1000
        code = trace.ws_close_code
    if typ == "websocket.http.response.start":
        trace.status_code = message.get("status")
    elif typ == "websocket.accept":
        trace.response_started = True  # for a WebSocket: the handshake was accepted
    for key in ("text", "bytes", "reason", "subprotocol"):
        if message.get(key) is not None:
            detail[key] = preview(message[key], redact=trace.redact)
    if typ == "websocket.close" and not trace.response_started:
        text = ("The app closed the connection before accepting it (code {code}), which refuses the handshake; "
                "the client gets HTTP 403 and never sees this code.")
    trace.emit("websocket", "point", name, detail, text.format(code=code))


_LIFESPAN_TEXT = {
    "startup": "The server starts the app's lifespan: the code before `yield` in lifespan (or the startup handlers) runs once, before any request.",
    "shutdown": "The server is stopping: the code after `yield` in lifespan (or the shutdown handlers) runs once, after the last request.",
}


def lifespan_channels(tracer: Tracer, receive: Any, send: Any) -> tuple[Any, Any]:
    """Trace the app's startup and shutdown as two short traces of their own."""
    open_traces: dict[str, RequestTrace] = {}

    async def traced_receive() -> dict[str, Any]:
        message = await receive()
        try:
            typ = message.get("type", "")
            if typ in ("lifespan.startup", "lifespan.shutdown"):
                phase = typ.split(".")[1]
                trace = tracer._open({"type": "lifespan"}, prefix=phase)
                trace.t0 = monotonic_ns()
                open_traces[phase] = trace
                trace.emit("request", "start", f"lifespan {phase}", {"type": "lifespan", "phase": phase},
                           _LIFESPAN_TEXT[phase])
        except Exception as exc:
            report_fault("lifespan", exc)
        return message

    async def traced_send(message: dict[str, Any]) -> None:
        try:
            typ = message.get("type", "")
            phase, _, outcome = typ.removeprefix("lifespan.").partition(".")
            trace = open_traces.pop(phase, None) if outcome in ("complete", "failed") else None
            if trace is not None:
                ok = outcome == "complete"
                detail = {"type": "lifespan", "phase": phase, "ok": ok,
                          "duration_ns": monotonic_ns() - trace.t0, "status_code": None}
                if not ok:
                    detail["message"] = preview(message.get("message", ""))
                trace.finish(detail, f"The app's {phase} finished." if ok else f"The app's {phase} failed, so the server will not serve requests.")
        except Exception as exc:
            report_fault("lifespan", exc)
        await send(message)

    return traced_receive, traced_send
