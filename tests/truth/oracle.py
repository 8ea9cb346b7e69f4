"""The oracle: what FastAPI and Starlette really did, recorded without the tracer.

Two recorders, both independent of ``lifecycle_tracer``:

* ``WireTap``: a plain ASGI callable wrapped around the app (outside every
  layer the tracer adds). It records each message the app sent and each
  message the server's ``receive()`` returned, whether ``send()`` raised, and
  whether an exception escaped the app: the wire truth.
* ``CallRecorder``: ``sys.setprofile`` and ``threading.setprofile``, installed
  only around a run, removed after it. It records every Python call of the
  app's own code (by ``co_filename``) and of a few named FastAPI and Starlette
  functions (by file and qualified name, so a tracer that replaced a module
  attribute cannot hide the original): which function ran, on which thread,
  in what order, with which arguments (``f_locals`` at the first ``call``
  event), and what it returned (the last ``return`` event of its frame).
  Generator and coroutine frames fire ``call`` again on every resume; those
  are kept as resumes of the first call.

Every recorded thing gets an ordinal from one shared counter, so the order of
calls and wire messages can be compared across threads.

Drivers speak raw ASGI: an HTTP exchange behaves like uvicorn (ASGI spec 2.3:
``receive()`` returns ``http.disconnect`` once the response is complete or the
client went away, and ``send()`` after a disconnect returns silently), a
WebSocket exchange follows a small script. ``run_session`` runs the app's
lifespan and a list of requests in one fresh event loop (so the threadpool's
worker threads are new and profiled), and ``serve_uvicorn`` does the same
through a real uvicorn on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

import anyio
import fastapi
import httpx
import starlette

CLOCK = itertools.count(1)
_NOTSET: Any = object()

FASTAPI_DIR = str(Path(fastapi.__file__).resolve().parent) + os.sep
STARLETTE_DIR = str(Path(starlette.__file__).resolve().parent) + os.sep
EXCHANGE_TIMEOUT = 10.0


# --------------------------------------------------------------------------
# The wire.


@dataclass
class WireMessage:
    ordinal: int
    direction: str  # "send" (app -> server) or "receive" (server -> app)
    type: str
    message: dict[str, Any]
    thread: int
    send_raised: str | None = None  # exception type name when send() raised


@dataclass
class Exchange:
    """One HTTP request or WebSocket connection, as the server saw it."""

    spec: Any
    scope: dict[str, Any]
    wire: list[WireMessage] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    raised: BaseException | None = None
    start_ordinal: int = 0
    end_ordinal: int = 0
    loop_thread: int = 0
    client_gone_ordinal: int | None = None  # the client disconnected (driver's decision)
    timed_out: bool = False
    cancelled: bool = False

    # ---- wire facts
    def sent(self, typ: str | None = None) -> list[WireMessage]:
        return [m for m in self.wire if m.direction == "send" and (typ is None or m.type == typ)]

    def received(self, typ: str | None = None) -> list[WireMessage]:
        return [m for m in self.wire if m.direction == "receive" and (typ is None or m.type == typ)]

    @property
    def response_start(self) -> WireMessage | None:
        starts = self.sent("http.response.start")
        return starts[0] if starts else None

    @property
    def status(self) -> int | None:
        start = self.response_start
        return int(start.message["status"]) if start is not None else None

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        start = self.response_start
        if start is None:
            return []
        return [(_b(k), _b(v)) for k, v in start.message.get("headers") or []]

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower().encode():
                return v.decode("latin-1")
        return None

    @property
    def body_messages(self) -> list[WireMessage]:
        return self.sent("http.response.body")

    @property
    def body(self) -> bytes:
        return b"".join(bytes(m.message.get("body", b"")) for m in self.body_messages)

    @property
    def final_body(self) -> WireMessage | None:
        for m in self.sent():
            if m.type == "http.response.body" and not m.message.get("more_body", False):
                return m
            if m.type == "http.response.pathsend":
                return m
        return None

    @property
    def complete(self) -> bool:
        """The final body message went out and send() returned normally, and the app had not
        been told the client was gone (http.disconnect received) before it: what the app can know."""
        final = self.final_body
        if final is None or final.send_raised is not None:
            return False
        told = [m for m in self.received("http.disconnect") if m.ordinal < final.ordinal]
        return not told

    def comparable(self) -> tuple[Any, ...]:
        """What a client can observe, for traced-versus-untraced comparisons (Date aside)."""
        out: list[Any] = []
        for m in self.sent():
            msg = dict(m.message)
            if "headers" in msg:
                msg["headers"] = tuple((_b(k), _b(v)) for k, v in msg["headers"] if _b(k).lower() != b"date")
            if "body" in msg:
                msg["body"] = bytes(msg["body"])
            out.append((m.type, tuple(sorted((k, _freeze(v)) for k, v in msg.items()))))
        exc = None if self.raised is None else type(self.raised).__qualname__
        return (tuple(out), exc, self.timed_out)


def _b(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode("latin-1")
    return bytes(value)


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return value


def _copy_message(message: Any) -> dict[str, Any]:
    msg = dict(message)
    if "headers" in msg and msg["headers"] is not None:
        msg["headers"] = [(k, v) for k, v in msg["headers"]]
    return msg


class WireTap:
    """The outermost ASGI callable: records the wire, passes everything through unchanged."""

    def __init__(self, app: Any, calls: CallRecorder | None = None) -> None:
        self.app = app
        self.calls = calls
        self.exchanges: list[Exchange] = []
        self.pending_spec: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        ex = Exchange(spec=self.pending_spec, scope=scope, loop_thread=threading.get_ident())
        self.pending_spec = None
        self.exchanges.append(ex)

        async def tapped_receive() -> Any:
            message = await receive()
            ex.wire.append(WireMessage(next(CLOCK), "receive", message.get("type", ""), dict(message), threading.get_ident()))
            return message

        async def tapped_send(message: Any) -> None:
            headers = message.get("headers")
            if headers is not None and not isinstance(headers, list | tuple):
                message = {**message, "headers": list(headers)}  # an iterator can be read once
            record = WireMessage(next(CLOCK), "send", message.get("type", ""), _copy_message(message), threading.get_ident())
            ex.wire.append(record)
            try:
                await send(message)
            except BaseException as exc:
                record.send_raised = type(exc).__qualname__
                raise

        ex.start_ordinal = next(CLOCK)
        if self.calls is not None:
            self.calls.begin(ex)
        try:
            await self.app(scope, tapped_receive, tapped_send)
        except BaseException as exc:
            ex.raised = exc
            raise
        finally:
            ex.end_ordinal = next(CLOCK)
            if self.calls is not None:
                self.calls.end(ex)


# --------------------------------------------------------------------------
# Calls.

_GEN_FLAGS = 0x20 | 0x80 | 0x100 | 0x200  # generator, coroutine, iterable coroutine, async generator


@dataclass
class Call:
    ordinal: int
    thread: int
    kind: str | None  # a framework function's role (see _FRAMEWORK), "handler", "dep", or None
    app: bool  # the code is the app's own
    code: CodeType
    args: dict[str, Any] | None
    caller: tuple[str, str] | None  # (file, qualname) of the calling frame
    resumes: list[tuple[int, int]] = field(default_factory=list)  # (ordinal, thread) of later resumes
    returned: Any = _NOTSET
    return_ordinal: int | None = None

    @property
    def qualname(self) -> str:
        return self.code.co_qualname

    @property
    def is_generator_like(self) -> bool:
        return bool(self.code.co_flags & _GEN_FLAGS)

    def self_obj(self) -> Any:
        if not self.args or not self.code.co_argcount:
            return None
        return self.args.get(self.code.co_varnames[0])


# (file relative to the fastapi or starlette package, qualname) -> role
_FRAMEWORK: dict[tuple[str, str], str] = {
    ("fastapi/dependencies/utils.py", "request_params_to_args"): "params",
    ("fastapi/dependencies/utils.py", "request_body_to_args"): "body",
    ("fastapi/dependencies/utils.py", "_validate_value_with_model_field"): "validate",
    ("fastapi/dependencies/utils.py", "_get_multidict_value"): "lookup",
    ("fastapi/dependencies/utils.py", "solve_dependencies"): "solve",
    ("fastapi/dependencies/utils.py", "_solve_generator"): "solve_gen",
    ("fastapi/routing.py", "get_request_handler.<locals>.app"): "route_handler",
    ("fastapi/routing.py", "get_websocket_app.<locals>.app"): "ws_handler",
    ("fastapi/routing.py", "serialize_response"): "serialize",
    ("fastapi/routing.py", "run_endpoint_function"): "run_endpoint",
    ("fastapi/telemetry/_api.py", "_route_selected"): "route_selected",
    ("starlette/routing.py", "Router.not_found"): "not_found",
    ("starlette/routing.py", "Router.app"): "router_app",
    ("fastapi/routing.py", "APIRouter.app"): "router_app",
    ("starlette/exceptions.py", "HTTPException.__init__"): "http_exception",
    ("starlette/exceptions.py", "WebSocketException.__init__"): "ws_exception",
    ("starlette/middleware/errors.py", "ServerErrorMiddleware.error_response"): "server_error_response",
    ("starlette/middleware/errors.py", "ServerErrorMiddleware.debug_response"): "server_error_response",
    ("starlette/background.py", "BackgroundTask.__call__"): "background_task",
}
_ROUTING_FILES = ("starlette/routing.py", "fastapi/routing.py")
_RESPONSE_FILES = ("starlette/responses.py", "fastapi/responses.py", "fastapi/sse.py")


def _framework_rel(filename: str) -> str | None:
    if filename.startswith(FASTAPI_DIR):
        return "fastapi/" + filename[len(FASTAPI_DIR) :].replace(os.sep, "/")
    if filename.startswith(STARLETTE_DIR):
        return "starlette/" + filename[len(STARLETTE_DIR) :].replace(os.sep, "/")
    return None


class CallRecorder:
    """Profiles the app's own code and a few FastAPI/Starlette functions during exchanges."""

    def __init__(self, roots: tuple[str, ...], handler_codes: dict[CodeType, Any] | None = None,
                 dep_codes: set[CodeType] | None = None) -> None:
        self.roots = tuple(str(Path(r).resolve()) for r in roots)
        self.handler_codes = handler_codes or {}
        self.dep_codes = dep_codes or set()
        self._kinds: dict[CodeType, tuple[str | None, bool] | None] = {}
        self._open: dict[int, tuple[FrameType, Call]] = {}
        self._bucket: list[Call] | None = None
        self._lock = threading.Lock()

    # ---- installation
    def install(self) -> None:
        threading.setprofile(self._profile)
        sys.setprofile(self._profile)

    def uninstall(self) -> None:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]

    @contextlib.contextmanager
    def installed(self) -> Any:
        self.install()
        try:
            yield self
        finally:
            self.uninstall()

    def begin(self, ex: Exchange) -> None:
        self._open.clear()
        self._bucket = ex.calls

    def end(self, ex: Exchange) -> None:
        self._bucket = None
        self._open.clear()

    # ---- classification
    def _classify(self, code: CodeType) -> tuple[str | None, bool] | None:
        filename = code.co_filename
        app = any(filename == r or filename.startswith(r + os.sep) for r in self.roots)
        kind: str | None = None
        if code in self.handler_codes:
            kind = "handler"
        elif code in self.dep_codes:
            kind = "dep"
        else:
            rel = _framework_rel(filename)
            if rel is not None:
                qual = code.co_qualname
                kind = _FRAMEWORK.get((rel, qual))
                if kind is None:
                    if rel in _ROUTING_FILES and qual.endswith(".matches"):
                        kind = "matches"
                    elif rel in _ROUTING_FILES and qual.endswith(".handle"):
                        kind = "handle"
                    elif rel in _RESPONSE_FILES and qual.endswith(".__init__"):
                        kind = "response_init"
                    elif rel in _RESPONSE_FILES and qual.endswith(".__call__"):
                        kind = "response_call"
                    elif qual.endswith(".__call__"):
                        kind = "asgi_call"
        if kind is None and app and code.co_name == "__call__":
            kind = "asgi_call"
        result = (kind, app) if (kind is not None or app) else None
        self._kinds[code] = result
        return result

    # ---- the profile function
    def _profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "call" and event != "return":
            return
        bucket = self._bucket
        if bucket is None:
            return
        code = frame.f_code
        try:
            kind = self._kinds[code]
        except KeyError:
            kind = self._classify(code)
        if kind is None:
            return
        key = id(frame)
        if event == "call":
            hit = self._open.get(key)
            if hit is not None and hit[0] is frame:
                hit[1].resumes.append((next(CLOCK), threading.get_ident()))
                return
            back = frame.f_back
            caller = (back.f_code.co_filename, back.f_code.co_qualname) if back is not None else None
            call = Call(next(CLOCK), threading.get_ident(), kind[0], kind[1], code, dict(frame.f_locals), caller)
            self._open[key] = (frame, call)
            bucket.append(call)
        else:
            hit = self._open.get(key)
            if hit is None or hit[0] is not frame:
                return
            call = hit[1]
            call.returned = arg
            call.return_ordinal = next(CLOCK)
            if not code.co_flags & _GEN_FLAGS:
                del self._open[key]


# --------------------------------------------------------------------------
# Requests.


@dataclass(frozen=True)
class HttpReq:
    """One HTTP request. The body is built once with httpx, so every run sends the same bytes."""

    id: str
    method: str = "GET"
    path: str = "/"
    params: Any = None
    headers: tuple[tuple[str, str], ...] = ()
    json: Any = _NOTSET
    content: bytes | None = None
    data: dict[str, Any] | None = None
    files: Any = None  # [(field, (filename, bytes, content type))]: a multipart body with ``data``
    chunked: bool = False  # send the body in 512-byte messages
    disconnect_after: int | None = None  # the client goes away after this many response body messages
    root_path: str = ""
    uvicorn: bool = False  # also send it through a real uvicorn
    note: str = ""  # what the request is for

    kind = "http"


@dataclass(frozen=True)
class WsReq:
    """One WebSocket connection and the client's script.

    Steps: ("text", str), ("bytes", bytes), ("receive",) to wait for the app's
    next message, ("close", code) for the client to disconnect.
    """

    id: str
    path: str = "/"
    params: Any = None
    headers: tuple[tuple[str, str], ...] = ()
    script: tuple[tuple[Any, ...], ...] = ()
    subprotocols: tuple[str, ...] = ()
    uvicorn: bool = False
    note: str = ""

    kind = "websocket"


@dataclass(frozen=True)
class Built:
    method: str
    path: str
    raw_path: bytes
    query_string: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


_BOUNDARY = "truth-boundary-5f2c9a"


def _multipart(data: dict[str, Any] | None, files: Any) -> bytes:
    """A multipart/form-data body with a fixed boundary (so every run sends the same bytes)."""
    out = bytearray()
    items: list[tuple[str, Any]] = []
    for name, value in (data or {}).items():
        for v in value if isinstance(value, list) else [value]:
            items.append((name, str(v)))
    for name, (filename, content, ctype) in files or []:
        items.append((name, (filename, content, ctype)))
    for name, value in items:
        out += f"--{_BOUNDARY}\r\n".encode()
        if isinstance(value, tuple):
            filename, content, ctype = value
            out += f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'.encode()
            out += f"Content-Type: {ctype}\r\n\r\n".encode() + content + b"\r\n"
        else:
            out += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value.encode() + b"\r\n"
    out += f"--{_BOUNDARY}--\r\n".encode()
    return bytes(out)


def build_http(req: HttpReq) -> Built:
    headers = list(req.headers)
    kwargs: dict[str, Any] = {"params": req.params, "headers": headers}
    if req.files is not None:
        headers.append(("content-type", f"multipart/form-data; boundary={_BOUNDARY}"))
        kwargs["content"] = _multipart(req.data, req.files)
    else:
        if req.json is not _NOTSET:
            kwargs["json"] = req.json
        if req.content is not None:
            kwargs["content"] = req.content
        if req.data is not None:
            kwargs["data"] = req.data
    request = httpx.Request(req.method, "http://testserver" + req.path, **kwargs)
    body = request.read()
    url = request.url
    raw_headers = [(k.lower(), v) for k, v in request.headers.raw]
    if req.chunked:
        raw_headers = [(k, v) for k, v in raw_headers if k != b"content-length"] + [(b"transfer-encoding", b"chunked")]
    return Built(req.method, url.path, url.raw_path.split(b"?")[0], url.query, tuple(raw_headers), body)


def build_ws(req: WsReq) -> Built:
    request = httpx.Request("GET", "http://testserver" + req.path, params=req.params, headers=list(req.headers))
    url = request.url
    headers = [(k.lower(), v) for k, v in request.headers.raw if k.lower() not in (b"accept-encoding", b"accept")]
    headers += [(b"connection", b"upgrade"), (b"upgrade", b"websocket"), (b"sec-websocket-version", b"13"),
                (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ==")]
    return Built("GET", url.path, url.raw_path.split(b"?")[0], url.query, tuple(headers), b"")


def http_scope(b: Built, req: HttpReq, state: dict[str, Any] | None) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": b.method,
        "scheme": "http",
        "path": b.path,
        "raw_path": b.raw_path,
        "query_string": b.query_string,
        "root_path": req.root_path,
        "headers": [(k, v) for k, v in b.headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    if state is not None:
        scope["state"] = dict(state)
    return scope


async def http_exchange(tap: WireTap, req: HttpReq, state: dict[str, Any] | None, built: Built) -> Exchange:
    scope = http_scope(built, req, state)
    body = built.body
    if req.chunked and body:
        parts = [body[i : i + 512] for i in range(0, len(body), 512)]
    else:
        parts = [body]
    incoming: deque[dict[str, Any]] = deque(
        {"type": "http.request", "body": p, "more_body": i < len(parts) - 1} for i, p in enumerate(parts)
    )
    done = anyio.Event()
    gone = False
    body_count = 0
    holder: dict[str, Exchange] = {}

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.popleft()
        await done.wait()  # a server waits until the response is over or the client goes away
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal gone, body_count
        if gone:
            return  # uvicorn: sending after the client left is a silent no-op
        typ = message.get("type")
        if typ == "http.response.body":
            body_count += 1
            if not message.get("more_body", False):
                done.set()
            elif req.disconnect_after is not None and body_count >= req.disconnect_after:
                gone = True
                ex = holder.get("ex") or (tap.exchanges[-1] if tap.exchanges else None)
                if ex is not None:
                    ex.client_gone_ordinal = next(CLOCK)
                done.set()
        elif typ == "http.response.pathsend":
            done.set()

    tap.pending_spec = req
    n_before = len(tap.exchanges)
    try:
        with anyio.fail_after(EXCHANGE_TIMEOUT):
            await tap(scope, receive, send)
    except TimeoutError:
        tap.exchanges[n_before].timed_out = True
    except Exception:
        pass  # recorded by the tap
    return tap.exchanges[n_before]


async def ws_exchange(tap: WireTap, req: WsReq, state: dict[str, Any] | None, built: Built) -> Exchange:
    scope: dict[str, Any] = {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "scheme": "ws",
        "path": built.path,
        "raw_path": built.raw_path,
        "query_string": built.query_string,
        "root_path": "",
        "headers": [(k, v) for k, v in built.headers],
        "client": ("127.0.0.1", 50001),
        "server": ("testserver", 80),
        "subprotocols": list(req.subprotocols),
    }
    if state is not None:
        scope["state"] = dict(state)
    to_app_send, to_app_recv = anyio.create_memory_object_stream[dict[str, Any]](100)
    from_app_send, from_app_recv = anyio.create_memory_object_stream[dict[str, Any]](100)
    closed = False

    async def receive() -> dict[str, Any]:
        if closed:
            return {"type": "websocket.disconnect", "code": 1000}
        try:
            return await to_app_recv.receive()
        except anyio.EndOfStream:
            return {"type": "websocket.disconnect", "code": 1006}

    async def send(message: dict[str, Any]) -> None:
        nonlocal closed
        if message.get("type") == "websocket.close":
            closed = True
        await from_app_send.send(message)

    tap.pending_spec = req
    n_before = len(tap.exchanges)
    app_done = anyio.Event()

    async def run_app() -> None:
        try:
            await tap(scope, receive, send)
        except Exception:
            pass
        finally:
            app_done.set()
            from_app_send.close()

    async def next_from_app(timeout: float = 2.0) -> dict[str, Any] | None:
        with anyio.move_on_after(timeout):
            try:
                return await from_app_recv.receive()
            except (anyio.EndOfStream, anyio.ClosedResourceError):
                return None
        return None

    async with anyio.create_task_group() as tg:
        tg.start_soon(run_app)
        await to_app_send.send({"type": "websocket.connect"})
        first = await next_from_app()
        if first is not None and first.get("type") == "websocket.accept":
            for step in req.script:
                if closed:
                    break
                if step[0] == "text":
                    await to_app_send.send({"type": "websocket.receive", "text": step[1]})
                elif step[0] == "bytes":
                    await to_app_send.send({"type": "websocket.receive", "bytes": step[1]})
                elif step[0] == "receive":
                    got = await next_from_app()
                    if got is None or got.get("type") == "websocket.close":
                        break
                elif step[0] == "close":
                    await to_app_send.send({"type": "websocket.disconnect", "code": step[1]})
                    break
            else:
                if not closed:
                    await to_app_send.send({"type": "websocket.disconnect", "code": 1000})
        with anyio.move_on_after(3.0):
            await app_done.wait()
        if not app_done.is_set():
            tap.exchanges[n_before].cancelled = True
            tg.cancel_scope.cancel()
        to_app_send.close()
        # drain what the app still sent, so its send() never blocks
        with contextlib.suppress(Exception):
            while True:
                from_app_recv.receive_nowait()
    for stream in (to_app_send, to_app_recv, from_app_send, from_app_recv):
        stream.close()
    return tap.exchanges[n_before]


@dataclass
class Session:
    exchanges: list[Exchange]
    warnings: list[tuple[str, str]]
    lifespan: list[str]


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[tuple[dict[str, Any], list[str]]]:
    state: dict[str, Any] = {}
    events: list[str] = []
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": state}
    to_app, app_inbox = anyio.create_memory_object_stream[dict[str, Any]](4)
    app_outbox, from_app = anyio.create_memory_object_stream[dict[str, Any]](4)

    async def run() -> None:
        async with app_outbox:
            try:
                await app(scope, app_inbox.receive, app_outbox.send)
            except Exception as exc:
                events.append(f"raised {type(exc).__name__}")

    async def next_event() -> None:
        with anyio.move_on_after(EXCHANGE_TIMEOUT):
            try:
                events.append((await from_app.receive())["type"])
            except anyio.EndOfStream:
                events.append("app returned")

    async with to_app, app_inbox, from_app, anyio.create_task_group() as tg:
        tg.start_soon(run)
        await to_app.send({"type": "lifespan.startup"})
        await next_event()
        try:
            yield state, events
        finally:
            if events and events[0] == "lifespan.startup.complete":
                await to_app.send({"type": "lifespan.shutdown"})
                await next_event()
            tg.cancel_scope.cancel()


def run_session(app: Any, requests: list[HttpReq | WsReq], calls: CallRecorder | None = None,
                built: dict[str, Built] | None = None) -> Session:
    """Run the lifespan and every request, in order, in one fresh event loop."""
    tap = WireTap(app, calls)
    built = built if built is not None else build_all(requests)
    lifespan_events: list[str] = []

    async def main() -> None:
        async with lifespan(tap) as (state, events):
            lifespan_events[:] = events
            started = bool(events) and events[0] == "lifespan.startup.complete"
            for req in requests:
                if not started:
                    break
                if isinstance(req, WsReq):
                    await ws_exchange(tap, req, state, built[req.id])
                else:
                    await http_exchange(tap, req, state, built[req.id])
        lifespan_events[:] = events

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if calls is not None:
            calls.install()
        try:
            anyio.run(main)
        finally:
            if calls is not None:
                calls.uninstall()
    return Session(tap.exchanges, [(w.category.__name__, str(w.message)) for w in caught], lifespan_events)


def build_all(requests: list[HttpReq | WsReq]) -> dict[str, Built]:
    return {r.id: build_ws(r) if isinstance(r, WsReq) else build_http(r) for r in requests}


# --------------------------------------------------------------------------
# A real uvicorn on 127.0.0.1.


class LiveServer:
    """uvicorn serving ``WireTap(app)`` on 127.0.0.1 and a free port, in a thread started
    after ``threading.setprofile``, so the server's loop and its worker threads are profiled."""

    def __init__(self, app: Any, calls: CallRecorder | None) -> None:
        import uvicorn

        self.calls = calls
        self.tap = WireTap(app, calls)
        config = uvicorn.Config(self.tap, host="127.0.0.1", port=0, lifespan="on", log_level="critical",
                                log_config=None, access_log=False, http="h11")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="truth-uvicorn", daemon=True)
        self.port = 0

    def __enter__(self) -> LiveServer:
        if self.calls is not None:
            # Kept until __exit__: the server's worker threads start later and must be profiled too.
            threading.setprofile(self.calls._profile)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.005)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        if self.calls is not None:
            threading.setprofile(None)  # type: ignore[arg-type]

    def request(self, req: HttpReq, built: Built) -> Exchange | None:
        self.tap.pending_spec = req
        n = len(self.tap.exchanges)
        url = f"http://127.0.0.1:{self.port}{built.path}" + (f"?{built.query_string.decode()}" if built.query_string else "")
        headers = [(k, v) for k, v in built.headers if k not in (b"host", b"content-length", b"transfer-encoding")]
        with httpx.Client(trust_env=False, timeout=10) as client, contextlib.suppress(httpx.HTTPError):
            client.request(built.method, url, headers=headers, content=built.body or None)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if len(self.tap.exchanges) > n and self.tap.exchanges[n].end_ordinal:
                return self.tap.exchanges[n]
            time.sleep(0.002)
        return None

    def websocket(self, req: WsReq, built: Built) -> Exchange | None:
        from websockets.exceptions import ConnectionClosed, InvalidStatus
        from websockets.sync.client import connect

        self.tap.pending_spec = req
        n = len(self.tap.exchanges)
        url = f"ws://127.0.0.1:{self.port}{built.path}" + (f"?{built.query_string.decode()}" if built.query_string else "")
        extra = [(k.decode(), v.decode()) for k, v in built.headers
                 if k not in (b"host", b"connection", b"upgrade", b"sec-websocket-version", b"sec-websocket-key")]
        try:
            with connect(url, additional_headers=extra or None, proxy=None, open_timeout=5, close_timeout=5,
                         subprotocols=list(req.subprotocols) or None) as conn:  # type: ignore[arg-type]
                for step in req.script:
                    if step[0] in ("text", "bytes"):
                        conn.send(step[1])
                    elif step[0] == "receive":
                        conn.recv(timeout=3)
                    elif step[0] == "close":
                        conn.close(step[1])
                        break
        except (InvalidStatus, ConnectionClosed, TimeoutError, OSError):
            pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if len(self.tap.exchanges) > n and self.tap.exchanges[n].end_ordinal:
                return self.tap.exchanges[n]
            time.sleep(0.002)
        return None


def on_worker_thread(thread: int, loop_thread: int) -> bool:
    return thread != loop_thread

