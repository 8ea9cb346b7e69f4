"""An ASGI app whose inner app can be replaced while uvicorn serves it.

``--watch`` reloads a lesson without restarting its server: the port stays
the same, requests in flight finish on the app that took them, and each app
gets its own lifespan (startup before it takes requests, shutdown once its
last request is done), as uvicorn would run it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

# Started in the uvicorn loop; a hung startup or old request must not block a reload forever.
STARTUP_TIMEOUT = 30.0
DRAIN_TIMEOUT = 30.0


class _Lifespan:
    """Runs one app's lifespan protocol on our own queues, one part at a time."""

    def __init__(self, app: Any, state: dict[str, Any]) -> None:
        self.state = state
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": state}
        self._task = asyncio.ensure_future(self._run(app, scope))

    async def _run(self, app: Any, scope: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):  # Starlette has said startup.failed first; else the app has no lifespan
            await app(scope, self._inbox.get, self._outbox.put)
        await self._outbox.put({"type": "ended"})

    async def phase(self, name: str, timeout: float = STARTUP_TIMEOUT) -> str | None:
        """Run ``startup`` or ``shutdown``; None if it completed, else the app's message."""
        if self._task.done():
            return None
        await self._inbox.put({"type": f"lifespan.{name}"})
        reply = await asyncio.wait_for(self._outbox.get(), timeout)
        if reply["type"].endswith(".failed"):
            return str(reply.get("message") or f"the lifespan {name} failed")
        return None  # complete, or an app that does not speak the lifespan protocol (as uvicorn's "auto")


class _Generation:
    """One app and the requests it is serving."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lifespan: _Lifespan | None = None
        self.active = 0
        self.idle = asyncio.Event()
        self.idle.set()


class SwappableApp:
    """Forwards every connection to the current app; ``swap()`` replaces it."""

    def __init__(self, app: Any) -> None:
        self.current = _Generation(app)
        self.loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._serve_lifespan(scope, receive, send)
            return
        gen = self.current
        if gen.lifespan is not None:  # as uvicorn does: each request sees a copy of its app's lifespan state
            scope["state"] = dict(gen.lifespan.state)
        gen.active += 1
        gen.idle.clear()
        try:
            await gen.app(scope, receive, send)
        finally:
            gen.active -= 1
            if not gen.active:
                gen.idle.set()

    async def _serve_lifespan(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.loop = asyncio.get_running_loop()
        await receive()  # lifespan.startup
        gen = self.current
        gen.lifespan = _Lifespan(gen.app, scope.get("state", {}))
        failed = await gen.lifespan.phase("startup")
        if failed is not None:  # uvicorn logs the message and server.py turns it into one sentence
            await send({"type": "lifespan.startup.failed", "message": failed})
            return
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown, after uvicorn has finished every request
        lifespan = self.current.lifespan
        failed = await lifespan.phase("shutdown") if lifespan is not None else None
        await send({"type": "lifespan.shutdown.failed", "message": failed} if failed is not None
                   else {"type": "lifespan.shutdown.complete"})

    async def swap(self, app: Any) -> str | None:
        """Start ``app``'s lifespan and serve it from now on; None, or why it did not start (the old app stays)."""
        new = _Generation(app)
        new.lifespan = _Lifespan(app, {})
        failed = await new.lifespan.phase("startup")
        if failed is not None:
            return failed
        old, self.current = self.current, new
        # A WebSocket left open past the timeout: the old app is shut down under it, as a restart would.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(old.idle.wait(), DRAIN_TIMEOUT)
        if old.lifespan is not None:
            await old.lifespan.phase("shutdown")
        return None

    def swap_from_thread(self, app: Any, timeout: float = STARTUP_TIMEOUT + DRAIN_TIMEOUT + 5) -> str | None:
        """``swap()`` from a thread other than the server's (plain mode, the TUI's workers)."""
        if self.loop is None:
            raise RuntimeError("the server is not running")
        return asyncio.run_coroutine_threadsafe(self.swap(app), self.loop).result(timeout)
