"""Run an app under a real uvicorn on loopback, in a background thread."""

from __future__ import annotations

import socket
import threading
from typing import Any

import uvicorn


class PortInUseError(OSError):
    """The requested port is taken."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise PortInUseError(
                f"Port {port} on {host} is already in use; pick another with --port or leave it out to use a free one."
            ) from exc


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        self._ready.set()

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29; a thread can't own signals
        pass


class ServerThread:
    """``with ServerThread(app) as srv: httpx.get(srv.url + "/")``.

    The server binds 127.0.0.1 unless told otherwise, and ``start()`` returns
    once it is accepting connections (or raises what stopped it).
    """

    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int | None = None, log_level: str = "warning",
        lifespan: str = "auto",
    ) -> None:
        self.host = host
        if port is not None:
            check_port(host, port)
        self.port = port or free_port(host)
        self._ready = threading.Event()
        config = uvicorn.Config(
            app, host=host, port=self.port, log_level=log_level, lifespan=lifespan, ws="auto"
        )
        self.server = _Server(config, self._ready)
        self._thread = threading.Thread(target=self._run, name="lifecycle-tracer-uvicorn", daemon=True)
        self._error: BaseException | None = None
        self._done = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

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
            if self._error is not None:
                raise RuntimeError(f"uvicorn failed to start: {self._error}") from self._error
            raise RuntimeError(f"uvicorn could not serve on {self.host}:{self.port} (is the port free?)")
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
