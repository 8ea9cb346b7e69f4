"""A request's arrival and end, the response on the wire, WebSocket messages, the lifespan."""

from __future__ import annotations

from typing import Any

from ..timeline import held_words, request_ns
from ._table import says
from ._words import ms, plural

_LIFESPAN = {
    "startup": "The server starts the app's lifespan: the code before `yield` in lifespan (or the startup handlers) runs once, before any request.",
    "shutdown": "The server is stopping the app: the code after `yield` in lifespan (or the shutdown handlers) runs once, after the last request.",
}


@says("request", "start")
def request_start(name: str, d: dict[str, Any]) -> str:
    if d.get("type") == "lifespan":
        return _LIFESPAN.get(d.get("phase", ""), "The app's lifespan event began.")
    query = d.get("query_string") or ""
    target = f"{d.get('path', '')}{'?' + query if query else ''}"
    if d.get("type") == "websocket":
        return f"A WebSocket connection to {target} arrived; it enters the app at the outermost layer."
    client = d.get("client") or [None]
    if client[0] == "testclient":  # the client Starlette's TestClient puts in the scope: no server is involved
        return (f"TestClient called the app with {d.get('method', '')} {target} directly, in this process and "
                "without a server; the request enters at the app's outermost layer.")
    return f"The server received {d.get('method', '')} {target} and handed it to the app's outermost layer."


@says("request", "end")
def request_end(name: str, d: dict[str, Any]) -> str:
    typ = d.get("type")
    if typ == "lifespan":
        phase = d.get("phase", "")
        return f"The app's {phase} finished." if d.get("ok") else f"The app's {phase} failed: {d.get('message') or 'an error'}."
    # duration_ns is wall time; the time step mode held the request is its own fact, not the request's.
    text = _request_end(d, ms(request_ns(d)))
    held = d.get("held_ns")
    if type(held) is int and held > 0:
        text += f" It was also {held_words(held)}, not counted in that time."
    return text


def _request_end(d: dict[str, Any], took: str) -> str:
    typ = d.get("type")
    raised = d.get("raised_name")
    if typ == "websocket":
        if d.get("accepted"):
            code = d.get("close_code")
            tail = f" (close code {code})" if code is not None else ""
            if raised:
                return f"The WebSocket connection ended after {took} with {raised} escaping the app{tail}; the server closes it and logs the error."
            return f"The WebSocket connection is over after {took}{tail}."
        status = d.get("status_code")
        if status == 403 and d.get("closed_by", "app") == "app" and d.get("close_code") is not None:
            return (f"The app closed the connection before accepting it, so the handshake was refused: the server answers "
                    f"that with HTTP 403 ({took}).")
        if raised:
            return f"{raised} escaped the app before the WebSocket was accepted; the server refuses the handshake and logs the error ({took})."
        if status is not None:
            return f"The app refused the WebSocket with an HTTP {status} response ({took})."
        return f"The WebSocket ended after {took} without being accepted."
    status = d.get("status_code")
    if raised and not d.get("response_started"):
        return (f"{raised} escaped the app before any response was sent, after {took}. The app sent no status: "
                "the server answers such a request itself (uvicorn sends a 500) and logs the traceback.")
    if d.get("response_started") and not d.get("complete"):
        sent = plural(int(d.get("bytes") or 0), "byte")
        why = f" {raised} escaped the app." if raised else ""
        return (f"The request ended after {took} with its response unfinished: status {status} and {sent} of the "
                f"body went out, but never the last part.{why}")
    if raised:
        return f"The request is over after {took}: status {status} was sent, then {raised} escaped the app; the server logs it."
    if status is None:
        return f"The app returned after {took} without sending any response."
    return f"The request is complete: status {status} after {took}, including anything that ran after the response was sent."


@says("response", "start")
def response_start(name: str, d: dict[str, Any]) -> str:
    return f"The status {d.get('status_code')} and the headers were handed to the web server, before any of the body."


@says("response", "point")
def response_point(name: str, d: dict[str, Any]) -> str:
    if d.get("disconnect"):
        return "The server reported that the client disconnected (http.disconnect) before the response was finished."
    if "iterator" in d:
        where = "in a worker thread of the threadpool" if d.get("threadpool") else "on the event loop"
        return f"The response's body iterator ({d.get('iterator')}) is being pulled {where}, one item at a time."
    return (f"Part {d.get('chunk')} of the body ({plural(int(d.get('bytes') or 0), 'byte')}) went out marked "
            "'more to come'.")


@says("response", "end")
def response_end(name: str, d: dict[str, Any]) -> str:
    what = f"{plural(int(d.get('bytes') or 0), 'byte')} in {plural(int(d.get('chunks') or 0), 'part')}"
    if d.get("path"):
        what = f"the file {d['path']}"
    if d.get("complete") is False:
        if d.get("never_finished"):
            left = " after the client disconnected" if d.get("disconnected") else ""
            return f"The response ended unfinished{left}: {what} went out, but never the last part of the body."
        if d.get("disconnected"):
            return f"The last part of the body was handed to the server after the client had disconnected ({what}); the client did not get it."
        return f"Handing the last part of the body to the server failed ({d.get('raised', 'an error')}); the response is not finished."
    return f"The last part of the body was handed to the server ({what}); the response is finished."


_WS = {
    "connect": "The app read the client's request to open the WebSocket (accept() reads it first).",
    "accept": "The app accepted the WebSocket; from now on both sides can send messages.",
    "receive": "A message arrived from the client.",
    "send": "The app sent a message to the client.",
    "disconnect": "The server reported the connection closed (websocket.disconnect, code {code}).",
    "http.response.start": "The app refused the WebSocket with an HTTP {code} response.",
}


@says("websocket", "point")
def websocket_point(name: str, d: dict[str, Any]) -> str:
    code = d.get("code")
    if name == "close":
        if d.get("accepted"):
            return f"The app closed the WebSocket (code {code})."
        return (f"The app closed the connection before accepting it (code {code}); that refuses the handshake, "
                "and the client sees HTTP 403, not this code.")
    return _WS.get(name, f"WebSocket message: {name}.").format(code=code)
