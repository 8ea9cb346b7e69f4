"""Taking a sink's I/O off the request path: one writer thread per sink.

A sink's ``emit`` runs inside the request, on the server's event loop or a
threadpool worker. An ``OffThreadSink`` only appends the event to a queue
there; its own daemon thread takes the events off in order, formats and
writes them. A slow terminal or disk then costs the request nothing, as long
as the writer keeps up on average.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
from collections import deque
from typing import Any

from ..events import TraceEvent

logger = logging.getLogger("lifecycle_tracer")

# Sinks whose writer may still hold events; flushed when the interpreter exits,
# so a `trace --plain` stopped with Ctrl+C still shows what it got.
_open: set[OffThreadSink] = set()
_open_lock = threading.Lock()
EXIT_FLUSH_SECONDS = 10.0  # at most this long, for all sinks together: exiting must not hang
YIELD_SECONDS = 0.0002  # the writer lets other threads run at least this often


class _Flush:
    """A marker in the queue: set once every event queued before it is written."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


_STOP = object()


class OffThreadSink:
    """A sink whose ``emit`` only queues the event; a daemon thread writes it.

    Subclasses implement ``_write(event)``, called on the writer thread for one
    event at a time in the order they were emitted, and may override
    ``_sync()`` (the queue ran dry or someone flushes: push buffered output
    out) and ``_close_target()`` (on the closing thread, once the writer has
    stopped).

    The queue holds at most ``max_queue`` events (100,000 unless given). When
    it is full, ``emit`` blocks the producing thread (so the request, and on
    the event loop the whole server) until the writer has made room: a
    recording must not lose events, so a sink that cannot keep up slows the
    app down instead of dropping. Threads emitting at the same instant may
    each put one event past the bound.

    ``flush(timeout)`` waits until everything emitted so far is written;
    ``close()`` flushes, stops the thread and closes what the sink owns. Both
    may be called more than once; ``emit`` after ``close`` raises
    ``ValueError`` (the tracer logs it once). A sink never closed keeps its
    idle thread until the process ends, and an ``atexit`` hook flushes it
    (for at most ``EXIT_FLUSH_SECONDS``, all sinks together).

    A failure while writing (a broken pipe, a closed file) is logged once to
    the ``lifecycle_tracer`` logger and swallowed; the writer goes on with the
    next event, so producers never wait for a writer that has given up.
    """

    max_queue = 100_000

    def __init__(self, max_queue: int | None = None) -> None:
        if max_queue is not None:
            if max_queue < 1:
                raise ValueError("max_queue must be at least 1")
            self.max_queue = max_queue
        self.failures = 0  # events (or syncs) whose write raised; only the first is logged
        self._queue: deque[Any] = deque()
        self._wake = threading.Event()  # set when the queue has something for the writer
        self._room = threading.Condition(threading.Lock())  # producers waiting for a full queue to drain
        self._blocked = 0  # producers inside _wait_for_room; changed under _room
        self._closed = False  # no more events accepted
        self._stopped = False  # the writer thread has ended
        self._closing = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"lifecycle-tracer {type(self).__name__}",
                                        daemon=True)
        with _open_lock:
            _open.add(self)
        self._thread.start()

    # --- the producing side: called on the request's thread -----------------

    def emit(self, event: TraceEvent) -> None:
        if self._closed:
            raise ValueError(f"emit() on a closed {type(self).__name__}")
        if len(self._queue) >= self.max_queue:
            self._wait_for_room()
        self._queue.append(event)
        if not self._wake.is_set():
            self._wake.set()

    def _wait_for_room(self) -> None:
        with self._room:
            self._blocked += 1
            try:
                self._room.wait_for(lambda: len(self._queue) < self.max_queue or self._stopped)
            finally:
                self._blocked -= 1

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event emitted so far is written; False if ``timeout`` ran out first."""
        if self._stopped or threading.get_ident() == self._thread.ident:
            return True  # nothing left to wait for (or we are the writer: waiting would deadlock)
        token = _Flush()
        self._queue.append(token)
        self._wake.set()
        if self._stopped:  # the writer ended after the check above; it has released every token
            return True
        return token.done.wait(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Write what is queued, stop the writer thread, close what the sink owns.

        With a ``timeout`` that runs out, the writer is left to finish on its
        own and what the sink owns is not closed under it.
        """
        if not self._closing.acquire(blocking=False):
            return  # closed already, or being closed by another thread
        self._closed = True
        self._queue.append(_STOP)
        self._wake.set()
        self._thread.join(timeout)
        with _open_lock:
            _open.discard(self)
        if self._thread.is_alive():
            logger.warning("lifecycle-tracer: %s did not finish writing within %s s; closing without it",
                           type(self).__name__, timeout)
            return
        try:
            self._close_target()
        except Exception as exc:
            self._failed(exc)

    # --- the writer thread -------------------------------------------------

    def _write(self, event: TraceEvent) -> None:
        raise NotImplementedError

    def _sync(self) -> None:
        """Make what ``_write`` wrote visible (flush a file); called when the queue runs dry."""

    def _close_target(self) -> None:
        """Release what the sink owns; called once, after the writer thread ended."""

    def _run(self) -> None:
        queue, wake, write = self._queue, self._wake, self._write
        clock, next_yield = time.perf_counter, 0.0
        try:
            while True:
                wake.wait()
                wake.clear()  # before draining: an event queued from now on sets it again
                stopping = False
                while queue:
                    item = queue.popleft()
                    if self._blocked:
                        with self._room:
                            self._room.notify()  # one event out, room for one event in
                    if item.__class__ is _Flush:
                        self._sync_quietly()
                        item.done.set()
                    elif item is _STOP:
                        stopping = True  # but write what raced in behind it first
                    else:
                        try:
                            write(item)
                        except BaseException as exc:  # rich turns a broken pipe into SystemExit
                            self._failed(exc)
                        if clock() >= next_yield:
                            # Formatting is pure Python and holds the GIL; a thread that wants it back
                            # (the server's event loop) would wait up to the 5 ms switch interval.
                            # Hand it over now and then instead.
                            time.sleep(0)
                            next_yield = clock() + YIELD_SECONDS
                self._sync_quietly()
                if stopping:
                    return
        finally:
            self._stopped = True
            self._closed = True
            while queue:  # nothing will write these; release whoever flushes
                item = queue.popleft()
                if item.__class__ is _Flush:
                    item.done.set()
            with self._room:
                self._room.notify_all()

    def _sync_quietly(self) -> None:
        try:
            self._sync()
        except BaseException as exc:
            self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        self.failures += 1
        if self.failures > 1:
            return
        with contextlib.suppress(Exception):  # logging must not stop the writer either
            logger.warning(
                "lifecycle-tracer: %s could not write an event (%s: %s); events it cannot write are "
                "dropped and not reported again, the app is unaffected",
                type(self).__name__, type(exc).__name__, exc, exc_info=exc,
            )


def _flush_at_exit() -> None:
    deadline = time.monotonic() + EXIT_FLUSH_SECONDS
    with _open_lock:
        sinks = list(_open)
    for sink in sinks:
        with contextlib.suppress(Exception):
            sink.flush(timeout=max(deadline - time.monotonic(), 0.0))


atexit.register(_flush_at_exit)
