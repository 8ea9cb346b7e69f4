"""Run an app under a real uvicorn on loopback, in a background thread."""

from __future__ import annotations

import errno
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

import uvicorn

from .serverlog import guard_uvicorn_logs


class BindError(OSError):
    """The host and port cannot be served; the message says why and what to do."""


class PortInUseError(BindError):
    """The requested port is taken."""


class ServerStartError(RuntimeError):
    """uvicorn stopped before it served anything; the message says why."""


class LifespanFailed(ServerStartError):
    """The app's lifespan startup raised."""


def url_host(host: str) -> str:
    """``host`` as it goes in a URL: an IPv6 address needs brackets."""
    return f"[{host}]" if ":" in host else host


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def bind_error(host: str, port: int, exc: OSError) -> BindError:
    where = f"{url_host(host)}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return PortInUseError(
            f"Port {port} on {host} is already in use; pick another with --port, or --port 0 for a free one."
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return BindError(f"The address {host} is not available on this machine; bind 127.0.0.1 (the default), "
                         "0.0.0.0 for every interface, or an address one of its network interfaces has.")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return BindError(f"Permission denied to serve on {where}: ports below 1024 need administrator rights; "
                         "pick a port from 1024 up with --port.")
    if exc.errno == errno.EAFNOSUPPORT:
        return BindError(f"Cannot serve on {host}: this machine does not support its address family (IPv6?); "
                         "use 127.0.0.1 instead.")
    return BindError(f"Cannot serve on {where}: {exc.strerror or exc}.")


def check_port(host: str, port: int) -> None:
    """Raise a ``BindError`` saying why uvicorn could not serve ``host:port``, before it tries."""
    if not 0 <= port <= 65535:
        raise BindError(f"Port {port} is not a port number; pick one from 1 to 65535, or 0 for a free one.")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise BindError(f"The host '{host}' cannot be resolved; give an address such as 127.0.0.1 or ::1, "
                        "or a name this machine can look up.") from exc
    # asyncio binds every address the name resolves to, so each must be free.
    for family, kind, proto, _, address in infos:
        try:
            sock = socket.socket(family, kind, proto)
        except OSError as exc:
            raise bind_error(host, port, exc) from exc
        with sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:  # as asyncio does: else [::] would also claim 0.0.0.0
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                raise bind_error(host, port, exc) from exc


class _HeldLog(logging.Filter):
    """Holds back what uvicorn logs on a thread while its server starts.

    uvicorn logs a failed startup as a traceback and then exits; held back,
    it becomes one sentence instead. Keyed by thread, so servers starting at
    the same time in one process each get their own records.
    """

    def __init__(self) -> None:
        super().__init__()
        self.held: dict[int, list[logging.LogRecord]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        held = self.held.get(record.thread or 0)
        if held is None:
            return True
        held.append(record)
        return False


_HELD = _HeldLog()


def _failure(records: list[logging.LogRecord], host: str, port: int) -> ServerStartError | BindError:
    for record in records:
        if isinstance(record.msg, OSError):  # uvicorn logs the failed bind itself
            return bind_error(host, port, record.msg)
    for record in records:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            return LifespanFailed(f"The app's lifespan startup failed: {type(exc).__name__}: {exc}; "
                                  "fix the code before `yield` in its lifespan.")
        text = str(record.msg)
        if "Traceback" in text:  # Starlette sends the formatted traceback; its last lines name the exception
            lines = text.rstrip().splitlines()
            last_frame = max((i for i, line in enumerate(lines) if line.startswith(" ")), default=-1)
            error = " ".join(line.strip() for line in lines[last_frame + 1:]) or lines[-1]
            return LifespanFailed(f"The app's lifespan startup failed: {error}; "
                                  "fix the code before `yield` in its lifespan.")
    messages = "; ".join(str(r.getMessage()) for r in records if r.levelno >= logging.ERROR)
    return ServerStartError(f"uvicorn could not start the app: {messages or 'it exited during startup'}.")


class Server(uvicorn.Server):
    """uvicorn's server, which reports a failed startup in ``failure`` instead of logging a traceback
    and exiting, and calls ``on_started`` once it is listening."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[Server], None] | None = None) -> None:
        super().__init__(config)
        guard_uvicorn_logs()  # uvicorn.Config() has just set its handlers up
        self.on_started = on_started
        self.failure: ServerStartError | BindError | None = None

    @property
    def port(self) -> int:
        """The port actually bound, which differs from the config's when that is 0."""
        return int(self.servers[0].sockets[0].getsockname()[1])

    async def startup(self, sockets: Any = None) -> None:
        logger = logging.getLogger("uvicorn.error")
        logger.addFilter(_HELD)  # again each time: a logging dictConfig may have replaced the logger's filters
        me = threading.get_ident()
        _HELD.held[me] = []
        try:
            await super().startup(sockets=sockets)
        except SystemExit:  # uvicorn's way to stop on a failed startup; it already cleaned up
            self.failure = _failure(_HELD.held[me], self.config.host, self.config.port)
            self.should_exit = True
        finally:
            records = _HELD.held.pop(me)
        if self.failure is None:
            for record in records:  # a warning during a good startup is still worth seeing
                logger.handle(record)
            if self.on_started is not None:
                self.on_started(self)

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29; a thread can't own signals
        pass


class ServerThread:
    """``with ServerThread(app) as srv: httpx.get(srv.url + "/")``.

    The server binds 127.0.0.1 unless told otherwise, on a free port unless
    given one (None or 0), and ``start()`` returns once it is accepting
    connections (or raises what stopped it).
    """

    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int | None = None, log_level: str = "warning",
        lifespan: str = "auto",
    ) -> None:
        self.host = host
        self.port = port or 0
        check_port(host, self.port)
        self._ready = threading.Event()
        # asyncio's own event loop, not uvloop: this server shares its process with the TUI or a
        # lesson, whose first frame would wait on uvloop's import (about 0.1 s), and lessons teach
        # asyncio's loop. trace's child, a server of its own, lets uvicorn choose, as the user's would.
        config = uvicorn.Config(
            app, host=host, port=self.port, log_level=log_level, lifespan=lifespan, ws="auto", loop="asyncio"
        )
        self.server = Server(config, on_started=self._started)
        self._thread = threading.Thread(target=self._run, name="lifecycle-tracer-uvicorn", daemon=True)
        self._error: BaseException | None = None
        self._done = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{url_host(self.host)}:{self.port}"

    def _started(self, server: Server) -> None:
        self.port = server.port
        self._ready.set()

    def _run(self) -> None:
        try:
            self.server.run()
        except BaseException as exc:  # reported by start()
            self._error = exc
        finally:
            self._done.set()
            self._ready.set()

    def start(self, timeout: float = 30.0) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"uvicorn did not start within {timeout:.0f} s")
        if self._done.is_set() or not self.server.started:
            if self.server.failure is not None:
                raise self.server.failure
            if self._error is not None:
                raise ServerStartError(f"uvicorn failed to start: {self._error}") from self._error
            raise ServerStartError(f"uvicorn could not serve on {self.host}:{self.port} (is the port free?)")
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
