"""``LiveSink``: stream an app's events to ``lifecycle-tracer view`` in another process.

The app never waits for the viewer. ``emit`` appends to a bounded queue and
returns; a daemon thread connects to the viewer and writes the events to it,
one JSON line each. When no viewer listens, or the queue is full because the
viewer reads slower than the app produces, events are dropped and counted,
never queued without bound. Dropping is by whole request: once one event of
a request is dropped, the rest of that request is dropped too, and a request
that began before the viewer connected is not sent at all, so a viewer never
shows half a request as if it were whole. The count of dropped events is told
to the viewer when it connects.

The viewer's address is ``address``, else ``$LIFECYCLE_TRACER_VIEWER``
(``HOST:PORT``), else ``127.0.0.1:47801``, where ``view`` listens by default:
both sides find each other with no arguments. A viewer reachable beyond
loopback asks for its token (``token``, else ``$LIFECYCLE_TRACER_TOKEN``).
Events are redacted before they reach any sink, so what crosses the socket
holds no secret the tracer hides.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import socket
import threading
import time
from collections import deque
from typing import Any

import orjson

from ..events import TraceEvent

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 47801
PROTOCOL = 2  # 2: an event is a JSON array of its fields (1 sent an object)
RETRY_SECONDS = 0.5  # how often a sink with no viewer tries to connect again
# Woken by the first event of a burst, the writer waits this long for more before it writes: a
# request's events go out in one write, not one each. 2 ms is below what a person can see.
COALESCE_EVENTS, COALESCE_SECONDS = 64, 0.002
EXIT_FLUSH_SECONDS = 1.0  # after the lifespan's shutdown, at most this long is spent sending what is queued


def viewer_address(address: str | None = None, *, example: str = f"{DEFAULT_HOST}:{DEFAULT_PORT}") -> tuple[str, int]:
    """``HOST:PORT`` (or ``$LIFECYCLE_TRACER_VIEWER``, or the default) as a pair; ``ValueError`` if malformed,
    its sentence ending on ``example`` of a right one."""
    text = address or os.environ.get("LIFECYCLE_TRACER_VIEWER") or f"{DEFAULT_HOST}:{DEFAULT_PORT}"
    # Named as the user wrote it, so the sentence points at what to fix: the argument or the variable
    # (the default, the only other source, is never wrong).
    shown = repr(text) if address else f"LIFECYCLE_TRACER_VIEWER={text!r}"
    host, sep, port = text.rpartition(":")
    # isdigit alone lets through "²", which int() refuses with a message of its own.
    if not sep or not (port.isascii() and port.isdigit()):
        raise ValueError(f"{shown} is not HOST:PORT (for example {example})")
    if not 0 < int(port) < 65536:
        raise ValueError(f"{shown} has port {int(port)}, which is out of range 1-65535 (for example {example})")
    return host.strip("[]") or DEFAULT_HOST, int(port)


class LiveSink:
    """A sink that streams events to a viewer; see the module's docstring.

    ``dropped`` counts the events not sent (no viewer, a full queue, a lost
    connection); ``sent`` the events written to a viewer.
    """

    max_queue = 50_000

    def __init__(self, address: str | None = None, *, token: str | None = None, name: str | None = None,
                 max_queue: int | None = None, steps: bool = False) -> None:
        self.host, self.port = viewer_address(address)
        self.token = token if token is not None else os.environ.get("LIFECYCLE_TRACER_TOKEN")
        self.name = name or os.path.basename(os.getcwd())
        if max_queue is not None:
            self.max_queue = max_queue
        self.sent = 0
        self.connected = False
        self._first_connection = threading.Event()
        self._told = 0  # of ``dropped``, how much the viewer has been told
        self._whole = WholeRequests(self.max_queue)
        self._queue = self._whole.queue
        self._wake = self._whole.wake
        self._closed = False
        self._sending = False
        # Step mode over this connection (``live_step.StepControl``): only when the app opts in
        # (``steps``), and set before the first connection, whose hello offers it.
        self.control: Any = None
        if steps:
            from .live_step import StepControl

            self.control = StepControl(self)
        self._thread = threading.Thread(target=self._run, name="lifecycle-tracer LiveSink", daemon=True)
        self._thread.start()

    # --- the request's side: never blocks -------------------------------------

    def emit(self, event: TraceEvent) -> None:
        self._whole.offer(event, self.connected)
        if event.stage == "request" and event.kind == "end" and event.detail.get("phase") == "shutdown":
            # The process's last trace: uvicorn exits by raising the signal that stopped it again, so
            # neither the daemon writer nor atexit outlives it. Waited for here, at most a second.
            self.flush(EXIT_FLUSH_SECONDS)

    def wait_connected(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` seconds) until a viewer has been reached once; False if none was."""
        return self._first_connection.wait(timeout)

    def showing(self, request_id: str) -> bool:
        """Whether the request's events are being sent (none of them dropped so far)."""
        return request_id in self._whole.open

    @property
    def dropped(self) -> int:
        return self._whole.dropped

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (for at most ``timeout`` seconds), then stop."""
        self._closed = True
        self._wake.set()
        self._thread.join(timeout)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until the queue is empty (sent, or dropped with the connection); False if ``timeout`` ran out."""
        deadline = time.monotonic() + timeout
        while (self._queue or self._sending) and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.005)
        return not (self._queue or self._sending)

    # --- the writer thread ---------------------------------------------------

    def _run(self) -> None:
        conn: socket.socket | None = None
        while True:
            if conn is None:
                conn = self._connect()
                if conn is None:
                    if self._closed:
                        return
                    self._wake.wait(RETRY_SECONDS)
                    self._wake.clear()
                    continue
            self._wake.wait(1.0)
            if len(self._queue) < COALESCE_EVENTS and not self._closed:
                time.sleep(COALESCE_SECONDS)  # let a few more come: one write, one GIL handover, per batch
            self._wake.clear()
            batch: list[Any] = []
            self._sending = True  # what flush waits for: a batch out of the queue is not sent yet
            try:
                if self.dropped > self._told:
                    told = self.dropped
                    conn.sendall(encode_line({"dropped": told}))
                    self._told = told
                batch = self._whole.take(256)
                if batch:
                    conn.sendall(encode_batch(batch))
                    self.sent += len(batch)
                    if self._queue:
                        self._wake.set()
            except OSError:
                self._whole.dropped += len(batch)  # taken from the queue, not known to have arrived
                conn = self._lost(conn)
                continue
            finally:
                self._sending = False
            if self._closed and not self._queue:
                with contextlib.suppress(OSError):
                    conn.close()
                return

    def _connect(self) -> socket.socket | None:
        try:
            conn = socket.create_connection((self.host, self.port), timeout=1.0)
            conn.settimeout(5.0)  # a viewer that stops reading blocks this thread only, then counts as lost
            hello = {"lifecycle_tracer": PROTOCOL, "pid": os.getpid(), "name": self.name}
            if self.token:
                hello["token"] = self.token
            if self.control is not None:
                hello["steps"] = True
            conn.sendall(encode_line(hello))
        except OSError:
            return None
        self.connected = True
        self._first_connection.set()
        if self.control is not None:
            self.control.attach(conn)
        return conn

    def _lost(self, conn: socket.socket) -> None:
        self.connected = False
        with contextlib.suppress(OSError):
            conn.close()
        self._whole.clear()
        if self.control is not None:
            self.control.detach()  # no viewer, no one to release a held request: none is held
        return None

    def notice(self, data: dict[str, Any]) -> None:
        """A message for the viewer after the events queued so far (step mode's "held here")."""
        self._queue.append(_Notice(data))
        self._wake.set()


class WholeRequests:
    """A bounded queue of events that holds a request whole or not at all.

    ``offer`` is called on the request's thread and never blocks: a request
    whose start came while not ``accepting`` (no one to send to) or with the
    queue full is dropped, and so is the rest of a request once one of its
    events was. ``dropped`` counts the events left out.
    """

    def __init__(self, max_queue: int) -> None:
        self.max_queue = max_queue
        self.queue: deque[TraceEvent] = deque()
        self.wake = threading.Event()  # set when the queue has something to send
        self.dropped = 0
        self.open: set[str] = set()  # requests whose start went into the queue

    def offer(self, event: TraceEvent, accepting: bool) -> None:
        rid = event.request_id
        bound = event.stage == "request"  # a request's (or a lifespan phase's) first and last event
        if bound and event.kind == "start":
            if not accepting or len(self.queue) >= self.max_queue:
                self.dropped += 1
                return
            self.open.add(rid)
        elif rid not in self.open or len(self.queue) >= self.max_queue:
            self.open.discard(rid)  # a request is sent whole or not at all
            self.dropped += 1
            return
        if bound and event.kind == "end":
            self.open.discard(rid)
        self.queue.append(event)
        if not self.wake.is_set():
            self.wake.set()

    def take(self, most: int) -> list[TraceEvent]:
        batch = []
        while self.queue and len(batch) < most:
            batch.append(self.queue.popleft())
        return batch

    def clear(self) -> None:
        """The receiver is gone: what waits is dropped, and so is the rest of every request begun."""
        self.dropped += len(self.queue)
        self.queue.clear()
        self.open.clear()


class _Notice:
    """A line of the stream that is not an event, queued in order with the events."""

    __slots__ = ("data",)
    request_id = ""
    stage = ""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        return self.data


def encode_line(data: dict[str, Any]) -> bytes:
    """One message of the stream: compact JSON and a newline."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8") + b"\n"


# An event crosses the socket as the array of its fields (``TraceEvent`` is a tuple), its sentence left
# off: the viewer writes it from the same facts, only for what it shows. Writing sentences here was over
# half of streaming's cost, and building an object of named fields over half of encoding's. orjson
# (already a dependency, for lesson 5) takes a third of json's time; datetimes and dataclasses go to
# ``default`` as json sends them, so both write the same text.
_ORJSON = (orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
           | orjson.OPT_PASSTHROUGH_DATACLASS)


def encode_event(event: Any) -> bytes:
    """One line of the stream for an event (its sentence only if it was given one) or a notice."""
    if type(event) is not TraceEvent:
        return encode_line(event.to_dict())
    data = event[:7] if event[7] is None else event[:8]
    try:
        return orjson.dumps(data, default=str, option=_ORJSON)
    except TypeError:  # what orjson does not take (an int past 64 bits, a lone surrogate): json's way, in ASCII
        return json.dumps(data, separators=(",", ":"), default=str).encode("ascii") + b"\n"


def encode_batch(batch: list[Any]) -> bytes:
    return b"".join([encode_event(ev) for ev in batch])


def same_token(given: object, token: str) -> bool:
    """Constant-time, and for any text (compare_digest refuses non-ASCII str)."""
    return isinstance(given, str) and hmac.compare_digest(given.encode("utf-8", "surrogatepass"),
                                                          token.encode("utf-8"))
