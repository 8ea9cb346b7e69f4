"""What crosses the wire: a request's start and end, the response's messages,
WebSocket messages and the app's lifespan, seen from the outermost probe.

Facts only: the status and headers really sent, the bytes really handed to
the server, whether the final body message went out, what the client sent.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..redaction import header_pairs, redact_query
from ..safe import exc_message, exc_type, preview, preview_text
from .received import body_facts, frames, keep_head
from .trace import RequestTrace, clock, report_fault

if TYPE_CHECKING:
    from .tracer import Tracer

Scope = dict[str, Any]
MAX_STREAM_POINTS = 50


def start_request(trace: RequestTrace, scope: Scope) -> None:
    try:
        name, detail = _request_facts(trace, scope)
    finally:
        # The request's clock starts here, after the tracer's own work (on an app's first request,
        # learning its secret names took milliseconds the untraced app never spends), and even if that
        # work failed: the duration is the request's, from its first event to its last.
        trace.t0 = clock()
    trace.emit("request", "start", name, detail)


def _request_facts(trace: RequestTrace, scope: Scope) -> tuple[str, dict[str, Any]]:
    qs = scope.get("query_string", b"")
    query = qs.decode("latin-1") if isinstance(qs, bytes) else str(qs)
    typ = scope["type"]
    method = scope.get("method")  # a WebSocket's scope has none
    path = scope.get("path", "")
    client = scope.get("client")
    server = scope.get("server")
    known = trace.tracer.app_secrets
    if trace.tracer.redact:
        known.refresh(trace.tracer.app)  # before the request's secrets take the app's names
    redact = trace.redact
    if redact:
        if known.paths:
            path = known.redact_path(path, redact.learn)
        if query:
            query = redact_query(query, redact.learn, redact.extra)
    detail = {
        "type": typ,
        "method": method,
        "path": path,
        "query_string": query,
        "headers": header_pairs(scope.get("headers"), redact),
        "client": [str(client[0]), client[1]] if client else None,
        # Where the server listened: the client writes the Host header, and `copy` must not send there blindly.
        "server": [str(server[0]), server[1]] if server else None,
        "http_version": scope.get("http_version"),
        "scheme": scope.get("scheme"),
        # The one wall-clock reading of the request (t_ns is monotonic): exports place it in time by it.
        "wall_ns": time.time_ns(),
    }
    return f"{method or typ.upper()} {path}", detail


def end_request(trace: RequestTrace, error: BaseException | None) -> None:
    duration = clock() - trace.t0
    detail: dict[str, Any] = {"type": trace.scope["type"], "status_code": trace.status_code, "duration_ns": duration}
    if trace.scope["type"] == "websocket":
        detail["close_code"] = trace.ws_close_code
        detail["closed_by"] = trace.ws_closed_by
        detail["accepted"] = trace.response_started
        if trace.status_code is None:
            # The handshake's answer: 101 once accepted; the app's close before accepting
            # makes the server refuse it with 403 (ASGI's rule, the server's doing).
            detail["status_code"] = 101 if trace.response_started else (403 if trace.ws_closed_by == "app" else None)
    else:
        detail["response_started"] = trace.response_started
        detail["complete"] = trace.resp_done
        if trace.response_started and not trace.resp_done:
            detail["bytes"] = trace.resp_bytes
            if not trace.resp_ended:  # the last body message never went out: the response ends unfinished
                trace.emit("response", "end", str(trace.status_code),
                           {"bytes": trace.resp_bytes, "chunks": trace.resp_chunks, "status_code": trace.status_code,
                            "complete": False, "never_finished": True, "disconnected": trace.disconnected})
    if error is not None:
        detail["raised"] = exc_type(error)
        detail["raised_name"] = type(error).__name__
    trace.finish(detail)


def report_unhandled(trace: RequestTrace, exc: BaseException, handler: Any, handler_name: str | None) -> None:
    """An exception reached ServerErrorMiddleware; called as it passes the probe just inside it."""
    if id(exc) in trace.exc_reported or not isinstance(exc, Exception):
        return
    if handler is not None and not trace.response_started and trace.scope["type"] == "http":
        return  # the app's handler for Exception/500 takes it: servererrors.py reports what it answered
    trace.exc_reported.add(id(exc))
    detail: dict[str, Any] = {
        "type": exc_type(exc),
        "exc_name": type(exc).__name__,
        "message": exc_message(exc, trace.redact),
        "handler": handler_name,
        "handler_module": getattr(handler, "__module__", None) if handler is not None else None,
        "handled": False,
        "caught_by": "ServerErrorMiddleware",
        "websocket": trace.scope["type"] == "websocket",
        "response_started": trace.response_started,
        "response_done": trace.resp_done,
        "status_code": None,
        "http_exception": getattr(exc, "status_code", None) is not None,
        **frames(exc),  # the traceback uvicorn logs, as file, line and function
    }
    trace.emit("exception", "point", type(exc).__name__, detail)


def http_channels(trace: RequestTrace, receive: Any, send: Any) -> tuple[Any, Any]:
    redact = trace.redact
    head = bytearray()  # the start of the body the client gets (received.py)

    async def traced_receive() -> dict[str, Any]:
        message = await receive()
        try:
            if message.get("type") == "http.disconnect" and not trace.resp_done:
                trace.disconnected = True
                trace.emit("response", "point", "disconnect",
                           {"disconnect": True, "response_started": trace.response_started, "bytes": trace.resp_bytes})
        except Exception as exc:
            report_fault("receive", exc)
        return message

    async def traced_send(message: dict[str, Any]) -> None:
        typ = message["type"]
        last = False
        try:
            if typ == "http.response.body":
                body = message.get("body", b"")
                size = len(body)
                trace.resp_bytes += size
                trace.resp_chunks += 1
                keep_head(head, body)
                last = not message.get("more_body", False)
                if not last and trace.resp_chunks <= MAX_STREAM_POINTS:
                    trace.emit("response", "point", "chunk",
                               {"chunk": trace.resp_chunks, "bytes": size, "preview": preview_text(body, redact)})
            elif typ == "http.response.start":
                headers = message.get("headers")
                if headers is not None and not isinstance(headers, list | tuple):
                    # An iterator can be read once: read it into a list and pass a copy
                    # of the message on, or the server would get no headers at all.
                    message = {**message, "headers": list(headers)}
                status = message["status"]
                trace.status_code = status
                trace.response_started = True
                pairs = header_pairs(message.get("headers"), redact)
                if redact and trace.tracer.app_secrets.paths:
                    _hide_location_path(trace, pairs, redact)
                trace.emit("response", "start", str(status), {"status_code": status, "headers": pairs})
                if trace.tracer.stepper is not None:
                    await trace.checkpoint()
            elif typ == "http.response.pathsend":
                last = True
        except Exception as exc:
            report_fault("response", exc)
        if not last:
            return await send(message)
        try:
            await send(message)
        except BaseException as exc:
            try:
                body_end(trace, message, exc, head)
            except Exception as fault:
                report_fault("response end", fault)
            raise
        try:
            body_end(trace, message, None, head)
        except Exception as exc:
            report_fault("response end", exc)

    return traced_receive, traced_send


def body_end(trace: RequestTrace, message: dict[str, Any], error: BaseException | None,
             head: bytearray | None = None) -> None:
    # Complete: the final message was handed on without error while the client was
    # still there (after http.disconnect a server drops what it is sent).
    complete = error is None and not trace.disconnected
    detail: dict[str, Any] = {"bytes": trace.resp_bytes, "chunks": trace.resp_chunks,
                              "status_code": trace.status_code, "complete": complete}
    trace.resp_ended = True
    if trace.disconnected:
        detail["disconnected"] = True
    if message["type"] == "http.response.pathsend":
        detail["path"] = str(message.get("path"))
    if error is not None:
        detail["raised"] = exc_type(error)
    elif complete:
        trace.resp_done = True
    if head is not None and trace.resp_bytes:
        try:
            detail.update(body_facts(bytes(head), trace.resp_bytes, trace.redact))
        except Exception as exc:  # the body's preview is lost, not the response's end
            report_fault("response body", exc)
    trace.emit("response", "end", str(trace.status_code), detail)


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


_WS_TYPES = frozenset({"websocket.connect", "websocket.accept", "websocket.receive", "websocket.send",
                       "websocket.close", "websocket.disconnect", "websocket.http.response.start"})


def _hide_location_path(trace: RequestTrace, pairs: list[list[str]], secrets: Any) -> None:
    """A redirect to a route with a secret path parameter (``/verify/{token}``) hides that segment."""
    for pair in pairs:
        if pair[0].lower() == "location":
            path, q, rest = pair[1].partition("?")
            pair[1] = trace.tracer.app_secrets.redact_path(path, secrets.learn) + q + rest


def ws_event(trace: RequestTrace, message: dict[str, Any], incoming: bool) -> None:
    typ = message.get("type", "")
    if typ not in _WS_TYPES:
        return
    detail: dict[str, Any] = {"direction": "in" if incoming else "out", "accepted": trace.response_started}
    code = message.get("code", message.get("status"))
    if code is not None:
        detail["code"] = code
    if typ in ("websocket.close", "websocket.disconnect"):
        trace.ws_close_code = code if code is not None else 1000
        detail["code"] = trace.ws_close_code
        if trace.ws_closed_by is None:
            trace.ws_closed_by = "client" if incoming else "app"
    if typ == "websocket.http.response.start":
        trace.status_code = message.get("status")
    elif typ == "websocket.accept":
        trace.response_started = True  # for a WebSocket: the handshake was accepted
    for key in ("text", "bytes", "reason", "subprotocol"):
        if message.get(key) is not None:
            detail[key] = preview_text(message[key], trace.redact)
    trace.emit("websocket", "point", typ.removeprefix("websocket."), detail)


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
                trace.t0 = clock()
                open_traces[phase] = trace
                trace.emit("request", "start", f"lifespan {phase}", {"type": "lifespan", "phase": phase})
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
                          "duration_ns": clock() - trace.t0, "status_code": None}
                if not ok:
                    detail["message"] = preview(message.get("message", ""))
                trace.finish(detail)
        except Exception as exc:
            report_fault("lifespan", exc)
        await send(message)

    return traced_receive, traced_send
