"""The sinks: Recorder's cheap emit and prompt wait_for; the I/O sinks' writer threads.

Every wait here is on an event with a generous timeout; nothing sleeps over a race.
"""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from lifecycle_tracer.events import TraceEvent
from lifecycle_tracer.sinks import ConsoleSink, JsonLinesSink, OffThreadSink, Recorder, nested, read_jsonl

WAIT = 30.0  # seconds; only ever reached when something is broken


def ev(rid: str, seq: int, stage: str = "middleware", kind: str = "point", **detail: Any) -> TraceEvent:
    return TraceEvent(rid, seq, stage, kind, f"{stage} {seq}", 1_000_000 * (seq + 1), dict(detail),
                      f"event {seq} of {rid}")


def request(rid: str = "r1") -> list[TraceEvent]:
    """A small request: start, a middleware layer around a point, end."""
    return [
        ev(rid, 0, "request", "start"),
        ev(rid, 1, "middleware", "start"),
        ev(rid, 2, "routing", "point"),
        ev(rid, 3, "middleware", "end"),
        ev(rid, 4, "request", "end", status_code=200),
    ]


class ListSink(OffThreadSink):
    """Writes into a list, recording the thread that wrote."""

    def __init__(self, **kw: Any) -> None:
        self.written: list[TraceEvent] = []
        self.writer_threads: set[int] = set()
        super().__init__(**kw)

    def _write(self, event: TraceEvent) -> None:
        self.writer_threads.add(threading.get_ident())
        self.written.append(event)


class GatedSink(ListSink):
    """A writer that stops inside ``_write`` until ``release`` is set."""

    def __init__(self, **kw: Any) -> None:
        self.writing = threading.Event()
        self.release = threading.Event()
        self.producer_blocked = threading.Event()
        super().__init__(**kw)

    def _write(self, event: TraceEvent) -> None:
        self.writing.set()
        assert self.release.wait(WAIT)
        super()._write(event)

    def _wait_for_room(self) -> None:
        self.producer_blocked.set()
        super()._wait_for_room()


class BlockingFile(io.StringIO):
    """A file whose write waits until released, like a terminal nobody reads."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()
        self.writers: set[int] = set()

    def write(self, s: str) -> int:
        self.writers.add(threading.get_ident())
        self.entered.set()
        assert self.release.wait(WAIT)
        return super().write(s)


class BrokenFile(io.StringIO):
    def write(self, s: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def run_threads(n: int, target: Any) -> None:
    start = threading.Barrier(n)

    def go(i: int) -> None:
        start.wait(WAIT)
        target(i)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
        assert not t.is_alive()


# --- off-thread sinks ----------------------------------------------------------


def test_events_from_several_threads_arrive_in_order_per_producer() -> None:
    sink = ListSink()
    producers, per = 8, 2_000

    def produce(i: int) -> None:
        for seq in range(per):
            sink.emit(ev(f"t{i}", seq))

    run_threads(producers, produce)
    assert sink.flush(timeout=WAIT)
    assert len(sink.written) == producers * per
    for i in range(producers):
        assert [e.seq for e in sink.written if e.request_id == f"t{i}"] == list(range(per))
    assert sink.writer_threads == {sink._thread.ident}
    assert sink._thread.daemon
    sink.close()


def test_jsonl_round_trips_through_read_jsonl_after_flush(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    sink = JsonLinesSink(path)
    events = request("r1") + request("r2") + [ev("r3", 0, "exception", detail="ünïcode ✗")]
    for e in events:
        sink.emit(e)
    assert sink.flush(timeout=WAIT)  # no close: flush alone puts everything in the file
    assert read_jsonl(path) == events
    sink.close()
    assert sink._file.closed


def test_jsonl_sink_from_several_threads_keeps_each_producers_order(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    sink = JsonLinesSink(path)
    run_threads(4, lambda i: [sink.emit(ev(f"t{i}", seq)) for seq in range(500)])
    sink.flush(timeout=WAIT)
    events = read_jsonl(path)
    assert len(events) == 2_000
    for i in range(4):
        assert [e.seq for e in events if e.request_id == f"t{i}"] == list(range(500))
    sink.close()


def test_close_is_idempotent_and_stops_the_writer() -> None:
    out = io.StringIO()
    sink = ConsoleSink(Console(file=out, width=100))
    for e in request():
        sink.emit(e)
    sink.close()
    assert "event 2 of r1" in out.getvalue()  # close wrote what was queued
    sink.close()
    assert not sink._thread.is_alive()
    assert sink.flush(timeout=WAIT)
    with pytest.raises(ValueError, match="closed"):
        sink.emit(ev("r2", 0))


def test_close_leaves_a_file_it_was_handed_open() -> None:
    out = io.StringIO()
    sink = JsonLinesSink(out)
    sink.emit(ev("r1", 0))
    sink.close()
    sink.close()
    assert not out.closed and out.getvalue().count("\n") == 1


def test_console_sink_prints_what_nested_prints() -> None:
    events = request("r1") + request("r2")
    live, replay = io.StringIO(), io.StringIO()
    sink = ConsoleSink(Console(file=live, width=100))
    for e in events:
        sink.emit(e)
    assert sink.flush(timeout=WAIT)
    console = Console(file=replay, width=100)
    for rid in ("r1", "r2"):
        for line in nested([e for e in events if e.request_id == rid]):
            console.print(line)
    assert live.getvalue() == replay.getvalue()
    sink.close()


def test_console_sink_show_request_heads_each_request() -> None:
    out = io.StringIO()
    sink = ConsoleSink(Console(file=out, width=100), show_request=True)
    for e in request("r7"):
        sink.emit(e)
    sink.close()
    assert "── r7: request 0" in out.getvalue()


@pytest.mark.parametrize("kind", ["jsonl", "console"])
def test_emit_does_no_io_on_the_request_thread(kind: str) -> None:
    target = BlockingFile()
    sink = JsonLinesSink(target) if kind == "jsonl" else ConsoleSink(Console(file=target, width=100))
    emitted = threading.Event()

    def request_thread() -> None:
        for e in request():
            sink.emit(e)
        emitted.set()

    producer = threading.Thread(target=request_thread)
    producer.start()
    assert emitted.wait(WAIT), "emit() waited for the file"
    producer.join(WAIT)
    assert target.entered.wait(WAIT)  # the writer thread is stuck in write(), not the request
    assert target.writers == {sink._thread.ident}
    assert not sink.flush(timeout=0.01)  # the writer is held, so flush cannot complete
    target.release.set()
    assert sink.flush(timeout=WAIT)
    assert "event 4 of r1" in target.getvalue()
    sink.close()


def test_a_full_queue_blocks_the_producer_until_the_writer_drains() -> None:
    sink = GatedSink(max_queue=2)
    sink.emit(ev("r1", 0))
    assert sink.writing.wait(WAIT)  # the writer holds event 0; the queue is empty
    sink.emit(ev("r1", 1))
    sink.emit(ev("r1", 2))  # the queue is full now
    emitted = threading.Event()

    def producer() -> None:
        sink.emit(ev("r1", 3))
        emitted.set()

    thread = threading.Thread(target=producer)
    thread.start()
    assert sink.producer_blocked.wait(WAIT)
    # The writer is held inside _write, so nothing can leave the queue: the producer must still wait.
    assert not emitted.is_set()
    sink.release.set()
    assert emitted.wait(WAIT)
    thread.join(WAIT)
    assert sink.flush(timeout=WAIT)
    assert [e.seq for e in sink.written] == [0, 1, 2, 3]  # nothing lost, order kept
    sink.close()


def test_a_failing_writer_is_logged_once_and_never_blocks_emit(caplog: pytest.LogCaptureFixture) -> None:
    sink = JsonLinesSink(BrokenFile())
    sink.max_queue = 3  # small, so a writer that stopped draining would block the loop below
    caplog.set_level(logging.WARNING, logger="lifecycle_tracer")
    for seq in range(200):
        sink.emit(ev("r1", seq))
    assert sink.flush(timeout=WAIT)
    warnings = [r for r in caplog.records if r.name == "lifecycle_tracer"]
    assert len(warnings) == 1, warnings
    assert "JsonLinesSink" in warnings[0].getMessage() and "BrokenPipeError" in warnings[0].getMessage()
    assert sink.failures >= 200
    assert sink._thread.is_alive()  # still draining
    sink.close()


def test_a_closed_file_under_the_sink_is_swallowed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sink = JsonLinesSink(tmp_path / "t.jsonl")
    caplog.set_level(logging.WARNING, logger="lifecycle_tracer")
    sink._file.close()  # someone closed it under us
    sink.emit(ev("r1", 0))
    sink.emit(ev("r1", 1))
    assert sink.flush(timeout=WAIT)
    assert len([r for r in caplog.records if r.name == "lifecycle_tracer"]) == 1
    sink.close()  # closing a closed file again is fine


def test_close_with_a_timeout_leaves_a_stuck_writer_alone(caplog: pytest.LogCaptureFixture) -> None:
    sink = GatedSink()
    sink.emit(ev("r1", 0))
    assert sink.writing.wait(WAIT)
    caplog.set_level(logging.WARNING, logger="lifecycle_tracer")
    sink.close(timeout=0.01)  # the writer is held: close gives up waiting, and says so
    assert sink._thread.is_alive()
    assert any("did not finish writing" in r.getMessage() for r in caplog.records)
    sink.release.set()
    sink._thread.join(WAIT)
    assert not sink._thread.is_alive() and [e.seq for e in sink.written] == [0]


def test_the_package_keeps_every_name_the_module_had() -> None:
    import lifecycle_tracer.sinks as sinks

    for name in ("Recorder", "JsonLinesSink", "read_jsonl", "ConsoleSink", "EventLine", "nested", "STAGE_STYLE"):
        assert hasattr(sinks, name), name
    assert sinks.STAGE_STYLE["exception"] == "bold red"


def test_pending_events_are_written_when_the_interpreter_exits(tmp_path: Path) -> None:
    path = tmp_path / "exit.jsonl"
    script = f"""
from rich.console import Console
from lifecycle_tracer.events import TraceEvent
from lifecycle_tracer.sinks import ConsoleSink, JsonLinesSink
jsonl, console = JsonLinesSink({str(path)!r}), ConsoleSink(Console(width=100))
for seq in range(1000):
    e = TraceEvent("r1", seq, "routing", "point", "routing", seq, {{}}, f"line {{seq}}")
    jsonl.emit(e)
    console.emit(e)
# neither flushed nor closed: the atexit hook must write it all
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert [e.seq for e in read_jsonl(path)] == list(range(1000))
    assert "line 999" in done.stdout


# --- Recorder --------------------------------------------------------------------


def test_recorder_wait_for_wakes_when_the_event_arrives_from_another_thread() -> None:
    rec = Recorder()
    waiting = threading.Event()

    def arrived(events: list[TraceEvent]) -> bool:
        waiting.set()  # the waiter is registered and has looked at least once
        return any(e.stage == "request" and e.kind == "end" for e in events)

    def server() -> None:
        assert waiting.wait(WAIT)
        for e in request():
            rec.emit(e)

    thread = threading.Thread(target=server)
    thread.start()
    t0 = time.monotonic()
    assert rec.wait_for(arrived, timeout=60)
    # Condition.wait_for checks once more at its timeout, so True alone would not prove a wake-up.
    assert time.monotonic() - t0 < 30
    thread.join(WAIT)
    assert rec.completed() == ["r1"] and rec.completed_count() == 1


def test_recorder_emit_takes_no_lock_when_nobody_waits() -> None:
    rec = Recorder()
    with rec._lock:  # held here: an emit that needed it would hang
        thread = threading.Thread(target=lambda: [rec.emit(e) for e in request()])
        thread.start()
        thread.join(WAIT)
        assert not thread.is_alive()
    assert len(rec.events) == 5 and rec.completed() == ["r1"]


def test_recorder_keeps_its_bound_under_concurrent_emits() -> None:
    rec = Recorder(max_events=1_000)
    run_threads(4, lambda i: [rec.emit(ev(f"t{i}", seq)) for seq in range(5_000)])
    assert 0 < len(rec.events) <= 1_000
    assert len({(e.request_id, e.seq) for e in rec.events}) == len(rec.events)
    for i in range(4):  # what is kept of each producer is its newest events, in order
        kept = [e.seq for e in rec.events if e.request_id == f"t{i}"]
        assert kept == sorted(kept) and (not kept or kept[-1] == 4_999)


def test_recorder_by_request_clear_and_completed() -> None:
    rec = Recorder()
    for e in request("r1") + [ev("r2", 0, "request", "start")] + request("r3"):
        rec.emit(e)
    rec.emit(ev("l1", 0, "request", "end", type="lifespan"))  # the lifespan is not a request
    assert list(rec.by_request()) == ["r1", "r2", "r3", "l1"]
    assert rec.completed() == ["r1", "r3"] and rec.completed_count() == 2
    rec.clear()
    assert rec.events == [] and rec.completed() == []


def test_recorder_is_bounded_by_default_and_drops_whole_requests() -> None:
    rec = Recorder()
    assert rec.max_events == 100_000
    n = 25_000  # 125,000 events, past the bound
    rec.emit(ev("x", 0))  # one event of its own, so that a quarter of the list is no whole number of requests
    for i in range(1, n + 1):
        for e in request(f"r{i}"):
            rec.emit(e)
    assert len(rec.events) <= 100_000
    assert len(rec.completed()) <= 50_000 and rec.completed()[-1] == f"r{n}"
    assert rec.completed_count() == n
    groups = rec.by_request()
    assert f"r{n}" in groups and "r1" not in groups and "x" not in groups
    # Cut where no request was under way: every request kept is kept whole.
    assert all([e.seq for e in evs] == [0, 1, 2, 3, 4] for evs in groups.values())


def test_recorder_completed_since_counts_what_was_dropped() -> None:
    rec = Recorder(max_events=40)
    for i in range(1, 101):
        for e in request(f"r{i}"):
            rec.emit(e)
    assert len(rec.completed()) <= 20 and rec.completed_count() == 100
    assert rec.completed_since(98) == ["r99", "r100"]
    assert rec.completed_since(100) == []
    assert rec.completed_since(0) == rec.completed()  # what was dropped is gone, the rest is there


def test_recorder_bound_holds_when_a_request_never_ends() -> None:
    rec = Recorder(max_events=1_000)
    rec.emit(ev("ws1", 0, "request", "start", type="websocket"))  # never ends: no quiet place to cut
    for seq in range(1, 5_000):
        rec.emit(ev("ws1", seq))
    assert 0 < len(rec.events) <= 1_000 and rec.events[-1].seq == 4_999


def test_recorder_without_a_bound_keeps_everything() -> None:
    rec = Recorder(max_events=None)
    for i in range(2_000):
        rec.emit(ev("r1", i))
    assert len(rec.events) == 2_000
    with pytest.raises(ValueError, match="at least 4"):
        Recorder(max_events=3)


def lines_of(rid: str, n: int) -> list[str]:
    """The JSON lines ``JsonLinesSink`` writes for ``n`` events of ``rid`` (``é`` in each: two bytes, one char)."""
    import json

    return [json.dumps(ev(rid, seq, note="é").to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n"
            for seq in range(n)]


def test_jsonl_stops_at_its_limit_on_a_whole_line_and_says_so_once(tmp_path: Path,
                                                                   capfd: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "trace.jsonl"
    lines = lines_of("r1", 10)
    limit = sum(len(line.encode()) for line in lines[:3])  # exactly three lines fit, counted in bytes
    sink = JsonLinesSink(path, max_bytes=limit)
    for seq in range(10):
        sink.emit(ev("r1", seq, note="é"))
    sink.close()
    assert path.read_text(encoding="utf-8") == "".join(lines[:3])
    assert [e.seq for e in read_jsonl(path)] == [0, 1, 2]
    assert sink.full and path.stat().st_size == limit
    err = capfd.readouterr().err
    assert err.count(f"{path} reached its {limit:,} bytes limit; later requests are not recorded.") == 1, err


def test_jsonl_limit_counts_what_the_file_held_before(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "trace.jsonl"
    path.write_text("".join(lines_of("r1", 5)), encoding="utf-8")
    before = path.read_bytes()
    sink = JsonLinesSink(path, max_bytes=len(before) + 10)  # room for less than one more line
    sink.emit(ev("r1", 99))
    sink.close()
    assert path.read_bytes() == before and sink.full
    assert capfd.readouterr().err.count("reached its") == 1


def test_jsonl_default_limit_is_100_mb_and_none_lifts_it() -> None:
    out = io.StringIO()
    sink = JsonLinesSink(out)
    assert sink.max_bytes == 100_000_000
    sink.close()
    from lifecycle_tracer.sinks.jsonl import _amount

    assert _amount(100_000_000) == "100 MB" and _amount(1_500_000) == "1.5 MB" and _amount(2_000) == "2 KB"
    unlimited = JsonLinesSink(out, max_bytes=None)
    for seq in range(100):
        unlimited.emit(ev("r1", seq))
    unlimited.close()
    assert out.getvalue().count("\n") == 100 and not unlimited.full


def test_a_lone_surrogate_from_a_client_is_recorded_not_lost(tmp_path: Path) -> None:
    """A JSON body of {"x": "\\ud800"} reaches the trace as a lone surrogate, which UTF-8 cannot hold."""
    target = tmp_path / "t.jsonl"
    sink = JsonLinesSink(target)
    sink.emit(TraceEvent("r1", 0, "request", "start", "POST /x", 1, {"raw": {"x": "\ud800"}}, "x"))
    sink.emit(TraceEvent("r1", 1, "request", "end", "request", 2, {}, "y"))
    sink.close()
    events = read_jsonl(target)
    assert [e.seq for e in events] == [0, 1] and events[0].detail["raw"] == {"x": "\ud800"}


def test_nested_says_a_layers_sentence_once_unless_the_step_names_the_layer() -> None:
    """Layers' end sentences differ only by the layer's name: said once for the layers a step merely
    shows, but always for each layer the step names, since that layer is what the step is about."""
    fixture = Path(__file__).resolve().parent / "fixtures" / "lesson1_fixed_clock.jsonl"
    events = [e for e in read_jsonl(fixture) if e.request_id == "r1"]

    def explained_ends(look_for: tuple[str, ...]) -> list[str]:
        return [line.event.name for line in nested(events, look_for, said=set())
                if line.event.stage == "middleware" and line.event.kind == "end" and line.explain]

    assert explained_ends(("middleware:ServerErrorMiddleware", "middleware:ExceptionMiddleware")) == [
        "ExceptionMiddleware", "ServerErrorMiddleware"]
    assert explained_ends(("middleware",)) == ["AsyncExitStackMiddleware"]  # the first end only
