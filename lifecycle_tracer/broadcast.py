"""``--share``: a session's events, sent to attendees who follow it with ``view --follow``.

An instructor's ``run`` or ``trace`` adds a ``BroadcastSink``: it listens,
and each follower that connects with the session's token gets every request
that begins after it joined, whole, read-only (nothing travels back). A
follower that reads slowly has its own bounded queue, dropped by whole
requests, so neither the session nor the other followers ever wait for it.
The token is always asked for: attendees are usually on other machines.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import threading

from .events import TraceEvent
from .sinks.live import PROTOCOL, WholeRequests, encode_batch, encode_line, same_token

MAX_FOLLOWERS = 200
FOLLOWER_QUEUE = 20_000
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)  # 0 where the platform has no such flag


class BroadcastError(Exception):
    """The session cannot share; the message says why and what to do."""


class _Follower:
    def __init__(self, conn: socket.socket, peer: str) -> None:
        self.conn, self.peer = conn, peer
        self.whole = WholeRequests(FOLLOWER_QUEUE)
        self.gone = False


class BroadcastSink:
    """A sink that streams to followers; ``address`` is where they connect, ``token`` what they must send."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, token: str | None = None, name: str = "") -> None:
        self.host, self.name = host, name
        self.token = token or secrets.token_urlsafe(18)
        self._followers: list[_Follower] = []
        self._lock = threading.Lock()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise BroadcastError(f"Cannot share on {host}:{port}: {exc.strerror}; pass another address with --share-on HOST:PORT.") from None
        sock.listen(32)
        self.port = sock.getsockname()[1]
        self._sock = sock
        self._closed = False
        threading.Thread(target=self._accept, name="lifecycle-tracer broadcast", daemon=True).start()

    @property
    def followers(self) -> int:
        return sum(1 for f in self._followers if not f.gone)

    def emit(self, event: TraceEvent) -> None:
        for follower in self._followers:  # a tuple-like snapshot: the list is replaced, never changed in place
            follower.whole.offer(event, True)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.close()
        for follower in self._followers:
            follower.gone = True
            follower.whole.wake.set()
            with contextlib.suppress(OSError):
                follower.conn.shutdown(socket.SHUT_RDWR)

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, peer = self._sock.accept()
            except OSError:
                return
            label = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
            threading.Thread(target=self._serve, args=(conn, label), daemon=True).start()

    def _serve(self, conn: socket.socket, label: str) -> None:
        follower = None
        try:
            conn.settimeout(5.0)
            hello = conn.makefile("rb").readline(4097)
            try:
                data = json.loads(hello) if len(hello) <= 4096 else None
            except (ValueError, RecursionError):
                data = None
            if not isinstance(data, dict) or data.get("lifecycle_tracer") != PROTOCOL or not data.get("follow"):
                return
            if not same_token(data.get("token"), self.token) or self.followers >= MAX_FOLLOWERS:
                conn.sendall(encode_line({"refused": "a wrong token" if self.followers < MAX_FOLLOWERS
                                          else f"{MAX_FOLLOWERS} followers already"}))
                return
            conn.sendall(encode_line({"lifecycle_tracer": PROTOCOL, "pid": os.getpid(), "name": self.name}))
            follower = _Follower(conn, label)
            with self._lock:
                self._followers = [*self._followers, follower]
            self._write(follower)
        except OSError:
            pass
        finally:
            if follower is not None:
                follower.gone = True
                with self._lock:
                    self._followers = [f for f in self._followers if f is not follower]
            with contextlib.suppress(OSError):
                conn.close()

    def _write(self, follower: _Follower) -> None:
        whole, conn = follower.whole, follower.conn
        conn.settimeout(10.0)  # a follower that stops reading for this long is let go
        while not follower.gone:
            whole.wake.wait(1.0)
            whole.wake.clear()
            batch = whole.take(256)
            if batch:
                conn.sendall(encode_batch(batch))
                if whole.queue:
                    whole.wake.set()
            elif _hung_up(conn):  # idle: a follower sends nothing after its hello, so readable means gone
                return


def _hung_up(conn: socket.socket) -> bool:
    """Whether the follower has closed its end (or sent what no follower sends); never waits."""
    if not _DONTWAIT:  # no way to ask without waiting here: the next write finds out
        return False
    try:
        conn.recv(1, socket.MSG_PEEK | _DONTWAIT)  # b"" at its end; anything else is no follower's
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        pass
    return True


def follower_hello(token: str) -> bytes:
    return encode_line({"lifecycle_tracer": PROTOCOL, "follow": True, "token": token})



class Tee:
    """Hands each event to the TUI's sink and to the broadcast (whose ``emit`` never raises or waits)."""

    def __init__(self, first: object, share: BroadcastSink) -> None:
        self.first, self.share = first, share

    def emit(self, event: TraceEvent) -> None:
        self.first.emit(event)  # type: ignore[attr-defined]
        self.share.emit(event)


def follow_command(share: BroadcastSink) -> str:
    """What attendees type, with an address they can reach (a wildcard bind is shown as this machine's name)."""
    host = socket.gethostname() if share.host in ("0.0.0.0", "::", "") else share.host
    shown = f"[{host}]" if ":" in host else host
    return f"lifecycle-tracer view --follow {shown}:{share.port} --token {share.token}"


def start_share(address: str, name: str) -> BroadcastSink:
    """A ``BroadcastSink`` on ``HOST:PORT``; ``BroadcastError`` (one sentence) if it cannot listen there."""
    from .sinks.live import viewer_address

    try:
        host, port = viewer_address(address, example="127.0.0.1:47802")  # --share-on's own default
    except ValueError as exc:
        raise BroadcastError(f"--share-on: {exc}.") from None
    return BroadcastSink(host=host, port=port, name=name)
