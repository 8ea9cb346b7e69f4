"""A lesson's session: serve its app on loopback, fire a step's requests and
wait for their traces. Plain mode and the TUI both run lessons through it."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

import httpx

from ..instrument.tracer import instrument
from ..redaction.text import REDACTED
from ..server import LifespanFailed, ServerThread
from ..sinks import JsonLinesSink, Recorder
from .format import Outcome, Request, Step, StepResult, WebSocketRequest, WebSocketResponse
from .loader import LessonError, LoadedLesson, load
from .swap import SwappableApp


def fire(client: httpx.Client, request: Request | WebSocketRequest, app: Any = None) -> Any:
    """Send one request; ``app`` is the app served now, for a request made through TestClient."""
    if isinstance(request, WebSocketRequest):
        return fire_websocket(str(client.base_url), request)
    if request.via == "testclient":
        import warnings

        with warnings.catch_warnings():  # importing it warns about the installed httpx/anyio; not the lesson's
            warnings.simplefilter("ignore")
            from fastapi.testclient import TestClient

        if app is None:
            raise ValueError("a TestClient request needs the app")
        # No `with`: a test that does not enter the client does not run the lifespan either.
        client = TestClient(app, raise_server_exceptions=False)
    elif request.via != "http":
        raise ValueError(f"Request.via must be 'http' or 'testclient', not {request.via!r}")
    kwargs: dict[str, Any] = {"params": request.query or None, "headers": request.headers or None}
    if request.json is not None:
        kwargs["json"] = request.json
    elif request.content is not None:
        kwargs["content"] = request.content
    if request.via == "testclient":
        return client.request(request.method, request.path, **kwargs)
    with client.stream(request.method, request.path, **kwargs) as response:
        port = _local_port(response)  # while the connection is open: it closes with the body read
        response.read()
    response.local_port = port  # type: ignore[attr-defined]
    return response


def _local_port(response: httpx.Response) -> int | None:
    """The client's own port: the app records it as the request's client, which ties the two together."""
    stream = response.extensions.get("network_stream")
    try:
        addr = stream.get_extra_info("client_addr") if stream is not None else None
    except OSError:
        return None
    return addr[1] if isinstance(addr, tuple) and len(addr) >= 2 else None


def fire_websocket(base_url: str, request: WebSocketRequest) -> WebSocketResponse:
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect

    url = base_url.replace("http://", "ws://", 1).rstrip("/") + request.path
    try:
        with connect(url, additional_headers=request.headers or None, open_timeout=30) as ws:
            result = WebSocketResponse(101)
            with contextlib.suppress(OSError):  # the app already closed it: the trace is found by its path
                result.local_port = ws.socket.getsockname()[1]
            try:
                for text in request.send:
                    ws.send(text)
                    reply = ws.recv(timeout=30)
                    result.received.append(reply if isinstance(reply, str) else reply.decode("utf-8", "replace"))
                ws.close()
            except ConnectionClosed:
                pass
            result.close_code = ws.close_code
            return result
    except InvalidStatus as exc:
        return WebSocketResponse(exc.response.status_code)


class LessonSession:
    """Serves one lesson's app on loopback and runs its steps' requests."""

    def __init__(self, loaded: LoadedLesson, *, port: int | None = None, record: Path | None = None,
                 show_secrets: bool = False) -> None:
        self.loaded = loaded
        self.rec = Recorder(max_events=200_000)  # a long TUI session must not grow without bound
        self.tracer = instrument(loaded.app, sink=self.rec, redact=not show_secrets)
        self.jsonl = JsonLinesSink(record) if record else None
        if self.jsonl:
            self.tracer.add_sink(self.jsonl)
        # uvicorn serves a dispatcher, so reload() can hand it a new app without a new server or port.
        self.app = SwappableApp(loaded.app)
        self.server = ServerThread(self.app, port=port)
        self.client: httpx.Client | None = None
        self._reloading = threading.Lock()  # a save and an r at once: one reload after the other
        self.source = read_source(loaded.file.path)  # what the served version was loaded from, for --watch

    def __enter__(self) -> LessonSession:
        self.server.start()
        # No keep-alive: after an unhandled error uvicorn closes the connection,
        # and a pooled client would fail the next step on the dead socket.
        self.client = httpx.Client(base_url=self.server.url, timeout=60,
                                   limits=httpx.Limits(max_keepalive_connections=0))
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.client:
                self.client.close()
            self.server.stop()
        finally:  # the recording is written on the sink's own thread: wait for it, then close the file
            if self.jsonl:
                self.tracer.remove_sink(self.jsonl)
                self.jsonl.close()

    def reload(self) -> LoadedLesson:
        """Load the lesson file again and serve its new app; return it.

        Raises ``LessonError`` (the file does not load) or ``LifespanFailed``
        (its new lifespan did not start); either way the old app keeps serving.
        """
        with self._reloading:
            return self._reload()

    def _reload(self) -> LoadedLesson:
        path = self.loaded.file.path
        self.source = read_source(path)  # read first: a save during the load is then a change still to come
        _forget_bytecode(path)
        fresh = load(self.loaded.file)
        tracer = instrument(fresh.app, redact=self.tracer.redact)
        for sink in self.tracer.sinks:
            tracer.add_sink(sink)
        tracer.stepper = self.tracer.stepper
        # Request ids go on from the old app's: the recorder and the TUI's history key requests by id.
        tracer._ids = self.tracer._ids
        failed = self.app.swap_from_thread(fresh.app)
        if failed is not None:
            for sink in tracer.sinks:
                tracer.remove_sink(sink)
            last = failed.strip().splitlines()[-1] if failed.strip() else failed
            raise LifespanFailed(f"{path}: the new version's lifespan startup failed ({last})")
        self.loaded, self.tracer = fresh, tracer
        return fresh

    def run_step(self, step: Step) -> StepResult:
        """Fire the step's request(s), several at once if there are several.

        Returns the responses and each request's events, in the order the
        step lists its requests.
        """
        import concurrent.futures
        import time

        assert self.client is not None
        wanted = step_requests(step)
        n = len(wanted)
        before = self.rec.completed_count()
        client = self.client
        t0 = time.perf_counter()
        app = self.loaded.app
        if n == 1:
            responses = [fire(client, wanted[0], app)]
        else:
            with concurrent.futures.ThreadPoolExecutor(n) as pool:
                responses = list(pool.map(lambda req: fire(client, req, app), wanted))
        elapsed = time.perf_counter() - t0
        # The client has its answer before background tasks and cleanup finish;
        # wait for each request's own end event.
        if not self.rec.wait_for(lambda evs: self.rec.completed_count() >= before + n, timeout=60):
            raise TimeoutError("the traced request did not finish within 60 s")
        groups = self.rec.by_request()
        pool_ids = [rid for rid in self.rec.completed_since(before) if rid in groups]
        traces = []
        for req, resp in zip(wanted, responses, strict=True):
            # By the client's port when it is known: requests alike in method, path and query, fired
            # at once, finish in any order. Else by method, path and query (TestClient has no port).
            port = getattr(resp, "local_port", None)
            rid = next((i for i in pool_ids if port is not None and _client_port(groups[i][0].detail) == port), None)
            rid = rid or next(
                (i for i in pool_ids if _same_request(groups[i][0].detail, req)),
                pool_ids[0] if pool_ids else None,
            )
            if rid is None:
                raise RuntimeError(f"no trace arrived for {req.describe()}")
            pool_ids.remove(rid)
            traces.append(groups[rid])
        return StepResult(responses, traces, elapsed, session=groups)


def read_source(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:  # mid-save, or moved away: the next change tells
        return None


def _forget_bytecode(path: Path) -> None:
    """Python checks a cached .pyc by the source's size and mtime in whole seconds: a quick save
    that keeps the size would run the old code."""
    import contextlib
    import importlib.util

    with contextlib.suppress(OSError, NotImplementedError, ValueError):
        Path(importlib.util.cache_from_source(str(path))).unlink(missing_ok=True)


def reload_error(exc: LessonError | LifespanFailed) -> str:
    """The one sentence shown when a save cannot be served."""
    return f"{str(exc).rstrip().rstrip('.')} — the previous version keeps serving."


def _client_port(start: dict[str, Any]) -> int | None:
    client = start.get("client")
    return client[1] if isinstance(client, list | tuple) and len(client) == 2 else None


def _same_request(start: dict[str, Any], req: Request | WebSocketRequest) -> bool:
    from urllib.parse import parse_qsl, urlencode

    method = start.get("method") or ("WEBSOCKET" if start.get("type") == "websocket" else None)
    path, _, in_path = req.path.partition("?")  # a WebSocket's query can only be written in its path
    if method != req.method.upper() or start.get("path") != path:
        return False
    query = getattr(req, "query", None) or {}
    wanted = parse_qsl(in_path, keep_blank_values=True) + parse_qsl(urlencode(query, doseq=True), keep_blank_values=True)
    seen = parse_qsl(str(start.get("query_string", "")), keep_blank_values=True)
    # A secret's value is recorded hidden (`token=[redacted]`): its name still tells the requests apart.
    return len(seen) == len(wanted) and all(
        k1 == k2 and (v1 == v2 or REDACTED in v1) for (k1, v1), (k2, v2) in zip(sorted(seen), sorted(wanted), strict=True))


def step_requests(step: Step) -> list[Request | WebSocketRequest]:
    if step.request is None:
        return []
    if isinstance(step.request, Request | WebSocketRequest):
        return [step.request] * max(step.request.concurrent, 1)
    return list(step.request)


def evaluate(step: Step, result: StepResult) -> list[Outcome]:
    return [check.evaluate(result) for check in step.checks]
