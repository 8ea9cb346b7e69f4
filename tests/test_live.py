"""LiveSink and ``view``: apps in other processes stream to one viewer; the app never waits for it."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import Traced

from lifecycle_tracer import LiveSink
from lifecycle_tracer.events import TraceEvent
from lifecycle_tracer.server import free_port
from lifecycle_tracer.viewer import Viewer

pytestmark = pytest.mark.anyio
POLLS, POLL = 2000, 0.01


def until(predicate: Callable[[], bool], what: str) -> None:
    """Poll a condition (never sleep over a race); fail after about 20 s."""
    for _ in range(POLLS):
        if predicate():
            return
        time.sleep(POLL)
    raise AssertionError(f"timed out waiting for {what}")


APP = textwrap.dedent('''
    import os
    from fastapi import Depends, FastAPI
    from lifecycle_tracer import LiveSink, instrument

    app = FastAPI()

    async def db():
        yield "db"

    @app.get("/item/{i}")
    async def item(i: int, d: str = Depends(db)) -> dict:
        return {"i": i, "pid": os.getpid()}

    instrument(app, sink=LiveSink())
''')


class Output:
    """A process's stdout, read on a thread as it comes (the viewer runs until it is stopped)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.text = ""
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self.thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self.lock:
                self.text += line


@pytest.fixture
def viewer_process() -> Iterator[tuple[int, Output]]:
    port = free_port()
    env = {**os.environ, "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.Popen([sys.executable, "-m", "lifecycle_tracer", "view", "--plain", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    out = Output(proc)
    try:
        until(lambda: "Listening for apps" in out.text, "the viewer to listen")
        yield port, out
    finally:
        proc.terminate()
        proc.wait(10)
        out.thread.join(10)  # it read to the end of the pipe: close it
        assert proc.stdout is not None
        proc.stdout.close()


def test_two_uvicorn_workers_stream_whole_unmixed_requests_into_one_viewer(
        viewer_process: tuple[int, Output], tmp_path: Path) -> None:
    port, out = viewer_process
    (tmp_path / "main.py").write_text(APP, encoding="utf-8")
    app_port = free_port()
    env = {**os.environ, "LIFECYCLE_TRACER_VIEWER": f"127.0.0.1:{port}"}
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "main:app", "--workers", "2", "--port", str(app_port),
                               "--log-level", "warning"], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        until(lambda: out.text.count(" connected.") >= 2, "both workers to connect to the viewer")
        served: dict[int, int] = {}
        for i in range(40):
            # A new connection each time, so the kernel spreads the requests over both workers.
            for _ in range(POLLS):
                try:
                    r = httpx.get(f"http://127.0.0.1:{app_port}/item/{i}", headers={"Connection": "close"})
                    break
                except httpx.TransportError:
                    time.sleep(POLL)  # the workers are still starting; polling, not racing
            assert r.status_code == 200
            served[i] = r.json()["pid"]
        assert len(set(served.values())) == 2, "the test needs both workers to have served"
        pattern = re.compile(r"p(\d+)\.r\d+: GET /item/(\d+) → 200")
        until(lambda: len(pattern.findall(out.text)) >= 40, "every request to arrive at the viewer")
        shown = {int(i): int(pid) for pid, i in pattern.findall(out.text)}
        assert shown == served  # each request under the worker that served it: none lost, none mixed
        # Whole: every request printed has its own teardown and its own end (the rule is printed at the end).
        assert out.text.count("■ request") >= 40
        assert "cut off" not in out.text and "damaged" not in out.text
    finally:
        server.terminate()
        server.wait(15)
    until(lambda: out.text.count("disconnected") >= 2, "the viewer to see both workers leave")
    # Each worker's last trace, sent as its process exits: the lifespan's shutdown.
    assert len(re.findall(r"p\d+\.shutdown\d+: lifespan shutdown", out.text)) == 2, out.text


async def test_with_no_viewer_the_app_drops_and_counts_and_never_queues() -> None:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/x")
    async def x() -> dict[str, int]:
        return {"x": 1}

    sink = LiveSink(f"127.0.0.1:{free_port()}")  # nothing listens there
    traced = Traced(app)
    traced.tracer.add_sink(sink)
    try:
        for _ in range(25):
            response, events = await traced.request("GET", "/x")
            assert response.status_code == 200
        assert not sink.connected and len(sink._queue) == 0  # nothing waits for a viewer that is not there
        assert sink.dropped == len(traced.rec.events) and sink.sent == 0
    finally:
        await traced.aclose()
        sink.close(timeout=1)


def collect() -> tuple[list[TraceEvent], list[str], Any, Any]:
    events: list[TraceEvent] = []
    notes: list[str] = []
    return events, notes, events.append, notes.append


async def test_a_viewer_started_after_the_app_gets_what_follows_and_hears_what_was_dropped() -> None:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/x")
    async def x() -> dict[str, int]:
        return {"x": 1}

    port = free_port()
    sink = LiveSink(f"127.0.0.1:{port}", name="late")
    traced = Traced(app)
    traced.tracer.add_sink(sink)
    events, notes, on_event, on_note = collect()
    viewer = Viewer(on_event, on_note, port=port)
    try:
        await traced.request("GET", "/x")  # no viewer yet: dropped, whole
        early = sink.dropped
        assert early > 0
        viewer.start()
        until(lambda: sink.connected, "the sink to find the viewer")
        for _ in range(3):
            await traced.request("GET", "/x")
        until(lambda: sum(1 for e in events if e.stage == "request" and e.kind == "end") == 3, "three requests")
        until(lambda: any("dropped" in n for n in notes), "the note of what was dropped")
        assert any(f"dropped {early} event(s)" in n for n in notes), notes
        tag = f"p{os.getpid()}."
        assert {e.request_id for e in events} == {f"{tag}r2", f"{tag}r3", f"{tag}r4"}  # r1 went before it listened
        for rid in {e.request_id for e in events}:  # each whole: numbered from 0 without a gap, start to end
            evs = [e for e in events if e.request_id == rid]
            assert [e.seq for e in evs] == list(range(len(evs)))
            assert (evs[0].stage, evs[0].kind, evs[-1].stage, evs[-1].kind) == ("request", "start", "request", "end")
    finally:
        await traced.aclose()
        sink.close(timeout=1)
        viewer.stop()


def test_a_viewer_that_stops_reading_costs_the_app_nothing_but_dropped_requests() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    sink = LiveSink(f"127.0.0.1:{port}", max_queue=100)
    try:
        until(lambda: sink.connected and accepted, "the sink to connect to a viewer that never reads")
        detail = {"type": "http", "blob": "x" * 20_000}
        for n in range(2000):  # 40 MB offered; the socket's buffers take far less
            rid = f"r{n}"
            sink.emit(TraceEvent(rid, 0, "request", "start", "GET /", 0, detail))
            sink.emit(TraceEvent(rid, 1, "request", "end", "GET /", 1, {"type": "http"}))
            assert len(sink._queue) <= sink.max_queue + 2
        assert sink.dropped > 0
    finally:
        sink.close(timeout=0.5)
        listener.close()
        for conn in accepted:
            conn.close()


def test_the_viewer_refuses_strangers_wrong_tokens_and_damaged_lines() -> None:
    events, notes, on_event, on_note = collect()
    viewer = Viewer(on_event, on_note, port=0, token="s3cret")
    viewer.start()
    try:
        def send(data: bytes) -> None:
            with socket.create_connection(("127.0.0.1", viewer.port)) as conn:
                conn.sendall(data)
                conn.shutdown(socket.SHUT_WR)
                conn.recv(1)  # the viewer closes its side when done with us

        send(b"GET / HTTP/1.1\r\n\r\n")
        send(b'{"lifecycle_tracer": 1, "pid": 3, "token": "s3cret"}\n')  # a sink from an older package
        send(b'{"lifecycle_tracer": 2, "pid": 1, "token": "wrong"}\n')
        send(b'{"lifecycle_tracer": 2, "pid": 2, "token": "s3cret", "name": "\\u001b[31mred"}\n{"request_id": 5}\n')
        until(lambda: len(notes) >= 5, "a note for each")
        assert "not a lifecycle-tracer LiveSink" in notes[0]
        assert "another lifecycle-tracer version (it speaks protocol 1, this viewer 2)" in notes[1]
        assert "wrong one; refused" in notes[2]
        assert "connected" in notes[3] and "damaged or not from a LiveSink" in notes[4]
        assert not events
    finally:
        viewer.stop()


def test_view_on_a_busy_port_is_one_sentence() -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "lifecycle_tracer", "view", "--plain", "--port", str(port)],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and f"Port {port} on 127.0.0.1 is in use" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


class _FailingOnce:
    """A connection whose first write of events fails, as a viewer's socket does once the viewer is gone."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn, self.failed = conn, threading.Event()

    def sendall(self, data: bytes) -> None:
        if not self.failed.is_set() and data.startswith(b"["):  # the first batch of events
            self.failed.set()
            raise BrokenPipeError("the viewer went away")
        self.conn.sendall(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


async def test_events_lost_with_a_failed_write_are_counted_as_dropped() -> None:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/x")
    async def x() -> dict[str, int]:
        return {"x": 1}

    events, notes, on_event, on_note = collect()
    viewer = Viewer(on_event, on_note, port=free_port())
    viewer.start()
    failing: list[_FailingOnce] = []
    connections: list[Any] = []

    class Sink(LiveSink):
        def _connect(self) -> Any:
            conn = super()._connect()
            if conn is not None:
                connections.append(conn)
            if conn is not None and not failing:
                failing.append(_FailingOnce(conn))
                return failing[0]
            return conn

    sink = Sink(f"127.0.0.1:{viewer.port}")
    traced = Traced(app)
    traced.tracer.add_sink(sink)
    try:
        assert sink.wait_connected(10)
        response, first = await traced.request("GET", "/x")
        assert response.status_code == 200
        assert failing and failing[0].failed.wait(10)
        until(lambda: len(connections) == 2, "the sink to connect again")  # after the failure was handled
        response, _ = await traced.request("GET", "/x")
        assert response.status_code == 200
        until(lambda: any(e.stage == "request" and e.kind == "end" for e in events), "the second request")
        # Every event of the first request was taken into the failed write: each is counted, none shown.
        assert sink.dropped >= len(first) and sink.sent + sink.dropped == len(traced.rec.events)
    finally:
        await traced.aclose()
        sink.close(timeout=1)
        viewer.stop()
