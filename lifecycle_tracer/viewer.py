"""The listening side of ``LiveSink``: apps connect, their events come out, tagged by process.

Each connection says who it is first (its pid, a name, the token when one is
asked for), then sends one event per line. Request ids are per process
(``r1`` in every worker), so each is prefixed with its process's tag
(``p4242.r1``): requests of several workers, or of an app restarted by
``--reload``, never mix.

A line is untrusted input, read as a recording is (``recording.parse_line``:
a length limit, a depth limit, every field checked); a connection that sends
a damaged line is closed and said so. Secrets were hidden by the tracer in
the app's process before the events were sent; what is shown of them goes
through ``visible()``, as everything does.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import secrets
import socket
import threading
from collections.abc import Callable
from typing import Any

from .events import TraceEvent
from .recording import MAX_LINE_BYTES, RecordingError, parse_line
from .sinks.live import DEFAULT_HOST, DEFAULT_PORT, PROTOCOL, encode_line, same_token
from .visible import visible

HELLO_BYTES = 4096  # a hello is a few fields; nothing longer is read as one
HELLO_SECONDS = 5.0
MAX_CONNECTIONS = 256
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)  # 0 (a blocking send) where the platform has no such flag


class ViewerError(Exception):
    """The viewer cannot listen; the message says why and what to do."""


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class Viewer:
    """Listens on ``host:port``; calls ``on_event(event)`` and ``on_note(text)`` from its threads.

    ``token``: required of every app when given; one is made when the
    viewer listens beyond loopback and none is given (``self.token``).
    ``tag=False`` keeps the apps' own request ids (``r1``), for a viewer of
    one app process only (``trace``'s child).

    An app that offers step mode (``sinks/live_step.py``) is told to hold or
    release requests with ``command``; ``on_paused(event)`` is called when it
    says a request waits after ``event``, and ``on_steppable()`` when such an
    app connects.
    """

    def __init__(self, on_event: Callable[[TraceEvent], None], on_note: Callable[[str], None], *,
                 host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token: str | None = None,
                 tag: bool = True) -> None:
        self.on_event, self.on_note = on_event, on_note
        self.on_paused: Callable[[TraceEvent], None] | None = None
        self.on_steppable: Callable[[], None] | None = None
        self.tag = tag
        self._steppable: dict[socket.socket, str] = {}  # connection → the prefix of its request ids
        self.host, self.port = host, port
        self.token = token or (None if is_loopback(host) else secrets.token_urlsafe(24))
        self.apps = 0  # connections seen
        self.followed_ended = threading.Event()  # set when a followed session (follow()) has ended
        self._sock: socket.socket | None = None
        self._stopping = False
        self._connections: set[socket.socket] = set()

    def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
                raise ViewerError(f"Port {self.port} on {self.host} is in use: is another viewer running? "
                                  "Stop it, or pass --port N here and the same address to the app's LiveSink "
                                  "(LIFECYCLE_TRACER_VIEWER=HOST:N).") from None
            raise ViewerError(f"Cannot listen on {self.host}:{self.port}: {exc.strerror}.") from None
        sock.listen(64)
        self.port = sock.getsockname()[1]
        self._sock = sock
        threading.Thread(target=self._accept, name="lifecycle-tracer viewer", daemon=True).start()

    def stop(self) -> None:
        self._stopping = True
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        for conn in list(self._connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def _accept(self) -> None:
        assert self._sock is not None
        while not self._stopping:
            try:
                conn, peer = self._sock.accept()
            except OSError:
                return
            self._connections.add(conn)
            threading.Thread(target=self._serve, args=(conn, peer), daemon=True).start()

    def _serve(self, conn: socket.socket, peer: Any) -> None:
        label = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        open_requests: set[str] = set()
        who = label
        try:
            if len(self._connections) > MAX_CONNECTIONS:
                self._refuse_once(f"More than {MAX_CONNECTIONS} connections at once; the newest are refused.")
                return
            conn.settimeout(HELLO_SECONDS)  # a connection that never says who it is is let go
            stream = conn.makefile("rb")
            hello = self._hello(stream.readline(HELLO_BYTES + 1), label)
            if hello is None:
                return
            conn.settimeout(None)
            tag, who, steps = hello
            self.apps += 1
            self.on_note(f"{who} connected.")
            prefix = f"{tag}." if self.tag else ""
            if steps:
                self._steppable[conn] = prefix
                if self.on_steppable is not None:
                    self.on_steppable()
            self._read_events(stream, who, prefix, open_requests, steps)
        except OSError:  # the hello never came whole
            pass
        finally:
            self._let_go(conn)
            if who != label or open_requests:
                cut = f"; {len(open_requests)} request(s) it had begun were cut off" if open_requests else ""
                if not self._stopping:
                    self.on_note(f"{who} disconnected{cut}.")

    def _refuse_once(self, text: str) -> None:
        if not getattr(self, "_said_full", False):
            self._said_full = True
            self.on_note(text)

    def command(self, data: dict[str, Any], request_id: str | None = None) -> None:
        """Send a step-mode command to every app that offers step mode, or to the one ``request_id`` is from.

        A request id is sent as the app knows it, without this viewer's prefix.
        """
        for conn, prefix in list(self._steppable.items()):
            if request_id is not None:
                if not request_id.startswith(prefix):
                    continue
                data = {**data, "release": request_id[len(prefix):]}
            self._send_command(conn, encode_line(data))

    def _send_command(self, conn: socket.socket, line: bytes) -> None:
        """Send without waiting (from the TUI's thread: a key, quitting). A peer whose buffer is full has
        stopped reading, or is a local process posing as an app: it is let go, never waited on."""
        try:
            while line:
                line = line[conn.send(line, _DONTWAIT):]
        except BlockingIOError:
            if self._steppable.pop(conn, None) is not None:
                self.on_note("An app stopped reading step-mode commands; its connection is closed.")
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)  # wakes its reader, which lets it go
        except OSError:
            pass

    def _let_go(self, conn: socket.socket) -> None:
        self._steppable.pop(conn, None)
        self._connections.discard(conn)
        with contextlib.suppress(OSError):
            conn.close()

    def _read_events(self, stream: Any, who: str, prefix: str, open_requests: set[str], steps: bool = False) -> None:
        """Events, one per line, to ``on_event`` until the stream ends (or breaks) or sends a damaged line."""
        with contextlib.suppress(OSError):
            self._read_lines(stream, who, prefix, open_requests, steps)

    def _read_lines(self, stream: Any, who: str, prefix: str, open_requests: set[str], steps: bool) -> None:
        n = 1
        last: dict[str, TraceEvent] = {}  # each open request's latest event: where a held request waits
        while raw := stream.readline(MAX_LINE_BYTES + 1):
            n += 1
            if len(raw) > MAX_LINE_BYTES:
                self.on_note(f"{who} sent a line longer than {MAX_LINE_BYTES // 2**20} MiB; the connection is closed.")
                return
            if raw.startswith(b'{"dropped":'):
                self._dropped(raw, who)
                continue
            if raw.startswith(b'{"paused":'):
                self._paused(raw, prefix, last)
                continue
            try:
                event = parse_line(f"{who}'s stream", n, raw, request_prefix=prefix)
            except RecordingError as exc:
                self.on_note(f"{exc} The connection is closed.")
                return
            if event.stage == "request":
                (open_requests.add if event.kind == "start" else open_requests.discard)(event.request_id)
                if event.kind == "end":
                    last.pop(event.request_id, None)
            if steps and (event.kind != "end" or event.stage != "request"):  # only an app in step mode pauses
                last[event.request_id] = event
            self.on_event(event)

    def _paused(self, raw: bytes, prefix: str, last: dict[str, TraceEvent]) -> None:
        try:
            data = json.loads(raw) if len(raw) <= HELLO_BYTES else {}
        except (ValueError, RecursionError):
            return
        rid = data.get("paused") if isinstance(data, dict) else None
        event = last.get(f"{prefix}{rid}") if isinstance(rid, str) else None
        if event is not None and event.seq == data.get("seq") and self.on_paused is not None:
            self.on_paused(event)

    def follow(self, address: str, token: str) -> None:
        """Follow a shared session (``--share``) instead of listening: connect out, read what it sends.

        Runs on a thread of its own; request ids stay the session's own (r3 is the instructor's r3).
        """
        from .broadcast import follower_hello
        from .sinks.live import viewer_address

        host, port = viewer_address(address)
        try:
            conn = socket.create_connection((host, port), timeout=10)
        except OSError as exc:
            raise ViewerError(f"Cannot reach the shared session at {host}:{port}: {exc.strerror or exc}; "
                              "check the address the instructor's screen shows.") from None
        conn.sendall(follower_hello(token))
        stream = conn.makefile("rb")
        reply = stream.readline(HELLO_BYTES + 1)
        try:
            hello = json.loads(reply) if reply and len(reply) <= HELLO_BYTES else {}
        except (ValueError, RecursionError):
            hello = {}
        if not isinstance(hello, dict) or hello.get("lifecycle_tracer") != PROTOCOL:
            conn.close()
            why = hello.get("refused") if isinstance(hello, dict) else None
            why = visible(why) if why else None  # the peer's words: never a control sequence on our terminal
            raise ViewerError(f"The session at {host}:{port} refused to be followed ({why or 'no answer'}); "
                              "check the token the instructor's screen shows.")
        conn.settimeout(None)
        self._connections.add(conn)
        who = f"the session at {host}:{port}"
        self.on_note(f"Following {who}, read-only: its requests appear as they happen.")

        def read() -> None:
            try:
                self._read_events(stream, who, "", set())
            finally:
                self._let_go(conn)
                if not self._stopping:
                    self.on_note(f"{who} ended (or the network dropped it).")
                self.followed_ended.set()

        threading.Thread(target=read, name="lifecycle-tracer follow", daemon=True).start()

    def _hello(self, raw: bytes, label: str) -> tuple[str, str, bool] | None:
        try:
            hello = json.loads(raw) if len(raw) <= HELLO_BYTES else None
        except (ValueError, RecursionError):
            hello = None
        spoken = hello.get("lifecycle_tracer") if isinstance(hello, dict) else None
        if type(spoken) is int and spoken != PROTOCOL:  # a LiveSink from another version of the package
            self.on_note(f"{label} is a LiveSink of another lifecycle-tracer version (it speaks protocol "
                         f"{spoken}, this viewer {PROTOCOL}); refused. Install the same version for both.")
            return None
        if spoken != PROTOCOL:
            self.on_note(f"{label} is not a lifecycle-tracer LiveSink (protocol {PROTOCOL}); refused.")
            return None
        if self.token is not None and not same_token(hello.get("token"), self.token):
            self.on_note(f"{label} sent no token or a wrong one; refused (set LIFECYCLE_TRACER_TOKEN in the app).")
            return None
        pid = hello.get("pid")
        pid = pid if isinstance(pid, int) and not isinstance(pid, bool) and 0 <= pid < 2**32 else 0
        name = str(hello.get("name") or "an app")[:60]
        return f"p{pid}", f"{name} (pid {pid})", hello.get("steps") is True

    def _dropped(self, raw: bytes, who: str) -> None:
        try:
            count = json.loads(raw).get("dropped") if len(raw) <= HELLO_BYTES else None
        except (ValueError, AttributeError, RecursionError):
            return
        if isinstance(count, int) and not isinstance(count, bool) and count > 0:
            self.on_note(f"{who} dropped {count} event(s) so far, rather than wait: no viewer was listening, "
                         "or it was not keeping up. Requests are dropped whole.")
