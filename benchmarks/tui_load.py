"""Does the TUI keep up with a burst of requests, and does its memory stay bounded?

    python benchmarks/tui_load.py            # full run, about 2 min on 2 cores
    python benchmarks/tui_load.py --quick    # smoke run, under 15 s

Runs the real ``TracerApp`` headless (``App.run_test``, 160x45) around a real
controller: by default an ``AppController`` (what ``lifecycle-tracer trace
MODULE:APP`` uses) serving a small FastAPI app under a real uvicorn on
127.0.0.1; ``--controller lesson`` uses lesson1's ``LessonController`` instead.

1. Burst. A load generator in a separate process (raw HTTP/1.1 over keep-alive
   loopback connections, open-loop pacing) sends ``--rate`` requests a second
   for ``--seconds``, bounded in count and time. Meanwhile the UI process
   samples ``app.store.events_seen`` (events absorbed by the UI), counts the
   events the tracer emitted (an extra counting sink), the batches the UI
   drained, the frames it drew and the CPU time of each thread, and presses
   keys: alternately ``left`` (time travel one event back) and ``end`` (follow
   live again), sent through the headless driver as ``Pilot.press`` (and a
   terminal's input thread) does, but without Pilot's wait-for-idle, which
   under load would hold each press until the burst ends. Each press is timed
   from the key being sent to its action having run (and the app's cursor
   checked), and to the next frame drawn after that.
2. Correctness after the burst: the store never held more than
   ``--max-requests`` requests, the History table has exactly the store's rows
   in the same order, every held request is complete (ends with ``request
   end``, ``seq`` 0..n-1, time never goes back, the expected number of events,
   status 200), the held requests are the newest N in arrival order, nothing
   raised and the tracer logged no fault. Then: time-travel on the latest
   request and send ``max_requests + 50`` more requests, so the selected
   request is evicted from the history; the app should move its selection to
   a request it still holds and keep answering the arrow keys.
3. Memory. 100,000 requests' worth of *synthetic* events (copies of a real
   request's events under new request ids, each with its own ``detail`` dict)
   are fed from a thread into every sink of the controller's tracer, which
   includes the UI's ``UISink.emit``: the same path a server thread's events
   take, minus the HTTP work, so the run takes about a minute rather than
   several. The feeder keeps at most a few thousand events waiting for the UI.
   Resident memory (VmRSS, after ``gc.collect()``) is read every 10%.

Targets (2 cores): the UI absorbs events as fast as the tracer emits them (no
growing backlog; all absorbed within 1 s of the last response); key-press p95
<= 100 ms under load; every correctness check holds; RSS grows by less than
10 MB over the second half of the 100,000 requests. Exit code 0 whatever the
verdict; non-zero only on a broken setup.
"""

import argparse
import asyncio
import gc
import itertools
import json
import logging
import os
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

SCRIPT = os.path.abspath(__file__)
MB = 1024 * 1024


class SetupError(Exception):
    pass


# -- the load generator (runs in its own process: `tui_load.py --load-worker PORT`) --------------


async def _load_run(port: int, total: int, rate: float, conns: int, limit_s: float, path: str) -> dict[str, Any]:
    """Send ``total`` GETs at ``rate``/s over ``conns`` keep-alive connections; stop after ``limit_s``."""
    loop = asyncio.get_running_loop()
    streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(conns)]
    state = {"next": 0, "ok": 0, "errors": 0}
    latencies: list[float] = []
    t0 = loop.time() + 0.005
    deadline = t0 + limit_s
    wall0 = time.time()
    last_answer = t0

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal last_answer
        while True:
            i = state["next"]
            now = loop.time()
            if i >= total or now >= deadline:
                return
            state["next"] += 1
            due = t0 + i / rate  # open loop: request i is due at i/rate, late ones go at once
            if due > now:
                await asyncio.sleep(due - now)
            sent = time.perf_counter()
            writer.write(b"GET " + path.replace("{i}", str(i)).encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - sent)
            last_answer = loop.time()
            if head.startswith(b"HTTP/1.1 200"):
                state["ok"] += 1
            else:
                state["errors"] += 1

    try:
        results = await asyncio.wait_for(
            asyncio.gather(*(connection(r, w) for r, w in streams), return_exceptions=True), limit_s + 5
        )
    except TimeoutError:
        results = [TimeoutError("load run timed out")]
    for _, writer in streams:
        writer.close()
    failures = [repr(r) for r in results if isinstance(r, BaseException)]
    latencies.sort()

    def percentile_ms(p: float) -> float:
        return latencies[min(int(len(latencies) * p), len(latencies) - 1)] * 1000 if latencies else float("nan")

    return {
        "sent": state["next"], "ok": state["ok"], "errors": state["errors"] + len(failures),
        "failures": failures[:3], "wall_start": wall0, "elapsed": last_answer - t0,
        "lat_p50_ms": percentile_ms(0.5), "lat_p95_ms": percentile_ms(0.95), "lat_max_ms": percentile_ms(1.0),
    }


def load_worker(port: int) -> None:
    """Reads ``run TOTAL RATE CONNS LIMIT PATH`` lines, answers each with one JSON line; ``quit`` ends."""
    print("ready", flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] == "quit":
            return
        total, rate, conns, limit_s, path = int(parts[1]), float(parts[2]), int(parts[3]), float(parts[4]), parts[5]
        result = asyncio.run(_load_run(port, total, rate, conns, limit_s, path))
        print(json.dumps(result), flush=True)


class LoadProcess:
    def __init__(self, port: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, SCRIPT, "--load-worker", str(port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )

    async def readline(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        try:
            return await asyncio.wait_for(asyncio.to_thread(self.proc.stdout.readline), timeout)
        except TimeoutError:
            self.proc.kill()
            raise SetupError("the load generator did not answer in time") from None

    async def ready(self) -> None:
        if (await self.readline(60)).strip() != "ready":
            raise SetupError("the load generator did not start")

    async def run(self, total: int, rate: float, conns: int, limit_s: float, path: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"run {total} {rate} {conns} {limit_s} {path}\n")
        self.proc.stdin.flush()
        line = await self.readline(limit_s + 30)
        if not line:
            raise SetupError(f"the load generator died (exit code {self.proc.poll()})")
        return json.loads(line)

    def close(self) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


# -- measuring inside the UI process ---------------------------------------------------------------


def rss_bytes() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in bytes."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return peak, peak


def process_cpu(pid: int) -> float:
    """CPU seconds used so far by another process (0.0 if unknown)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0


def thread_cpu() -> dict[str, float]:
    """CPU seconds (user + system) used so far by each thread of this process, by thread name."""
    out: dict[str, float] = {}
    names = {t.native_id: t.name for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
            name = names.get(int(tid), "other threads")
            fields = stat[stat.rindex(")") + 2:].split()
            out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    except (OSError, ValueError, IndexError):
        pass
    return out


class CountingSink:
    """An extra tracer sink: how many events the tracer emitted, and the request ids in arrival order."""

    def __init__(self) -> None:
        self._count = itertools.count()
        self.emitted = 0
        self.order: list[str] = []
        self._seen: set[str] = set()

    def emit(self, event: Any) -> None:
        self.emitted = next(self._count) + 1
        if event.request_id not in self._seen:
            self._seen.add(event.request_id)
            self.order.append(event.request_id)


class FaultLog(logging.Handler):
    """Counts warnings and errors from the tracer and uvicorn (a tracer fault, an exception in the app)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()}")


class Probe:
    """Wraps the app's travel actions, ``sink.drain`` and ``_display`` on the instance (the app is not changed)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.frames: list[float] = []
        self.batches: list[tuple[float, int]] = []
        self.max_held = 0
        self.hit: asyncio.Event = asyncio.Event()
        self.hit_at = 0.0
        self.cursor_after: Any = "unset"
        for name in ("action_travel", "action_travel_to"):
            setattr(app, name, self._wrap_action(getattr(app, name)))
        drain, display = app.sink.drain, getattr(app, "_display", None)

        def counted_drain() -> list[Any]:
            batch = drain()
            self.batches.append((time.perf_counter(), len(batch)))
            return batch

        def timed_display(screen: Any, renderable: Any) -> None:
            display(screen, renderable)
            if renderable is not None:
                self.frames.append(time.perf_counter())
                self.max_held = max(self.max_held, len(app.store.requests))

        app.sink.drain = counted_drain
        if display is not None:  # Textual's (private) hook for each frame; without it no frame figures
            app._display = timed_display

    def _wrap_action(self, action: Callable[[int], None]) -> Callable[[int], None]:
        def wrapped(arg: int) -> None:
            action(arg)
            self.cursor_after = self.app.cursor
            self.hit_at = time.perf_counter()
            self.hit.set()

        return wrapped

    async def press(self, key: str, timeout: float = 3.0) -> tuple[float, Any] | None:
        """Send ``key`` like Pilot.press does; return (seconds until its action ran, cursor after), or None."""
        from textual import events

        self.hit.clear()
        event = events.Key(key, None)
        event.set_sender(self.app)
        sent = time.perf_counter()
        # The way Pilot.press and a real terminal's input thread deliver keys. (app.post_message from here
        # would jump ahead of the EventsArrived messages already scheduled, and look 5-10x faster.)
        self.app._driver.send_message(event)
        try:
            await asyncio.wait_for(self.hit.wait(), timeout)
        except TimeoutError:
            return None
        return self.hit_at - sent, self.cursor_after

    def frame_after(self, t: float) -> float | None:
        """The first frame drawn at or after ``t`` (frames are appended in time order)."""
        found = None
        for f in reversed(self.frames):
            if f < t:
                break
            found = f
        return found


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(int(round(p * (len(ordered) - 1))), len(ordered) - 1)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# -- the benchmark app and controllers -------------------------------------------------------------


def build_app() -> Any:
    """A small app: a path and a query parameter, an async yield dependency, a response model."""
    from collections.abc import AsyncIterator
    from typing import Annotated

    from fastapi import Depends, FastAPI
    from pydantic import BaseModel

    app = FastAPI(title="tui load benchmark")

    class Item(BaseModel):
        id: int
        q: str | None = None
        owner: str

    async def get_db() -> AsyncIterator[dict[str, bool]]:
        session = {"open": True}
        try:
            yield session
        finally:
            session["open"] = False

    @app.get("/items/{item_id}", response_model=Item)
    async def read_item(item_id: int, db: Annotated[dict[str, bool], Depends(get_db)], q: str | None = None) -> Any:
        return {"id": item_id, "q": q, "owner": "alice" if db["open"] else "nobody"}

    return app


def make_controller(kind: str) -> tuple[Any, Any, str]:
    """(controller, its tracer, the path the load generator requests; ``{i}`` is the request number)."""
    from lifecycle_tracer.server import free_port
    from lifecycle_tracer.tui.controllers import AppController, LessonController

    if kind == "lesson":
        from lifecycle_tracer.course.loader import find, load

        controller = LessonController(load(find("lesson1")))
        return controller, controller.session.tracer, "/hello/Ada{i}?excited=true"
    controller = AppController(build_app(), "tui_load:app", host="127.0.0.1", port=free_port(), record=None,
                               show_secrets=False)
    return controller, controller.tracer, "/items/{i}?q=load"


# -- the run ---------------------------------------------------------------------------------------


async def wait_absorbed(app: Any, counter: CountingSink, timeout: float) -> float | None:
    """Seconds until the UI has absorbed every event the tracer emitted (None on timeout)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if app.store.events_seen >= counter.emitted:  # the counting sink runs after the UI's sink
            return time.perf_counter() - t0
        await asyncio.sleep(0.005)
    return None


def request_number(request_id: str) -> int:
    m = re.search(r"(\d+)$", request_id)
    return int(m.group(1)) if m else -1


async def burst(args: argparse.Namespace, app: Any, pilot: Any, tracer: Any, path: str, load: LoadProcess,
                faults: FaultLog) -> dict[str, Any]:
    from lifecycle_tracer.tui.panes import History

    counter = CountingSink()
    tracer.add_sink(counter)
    probe = Probe(app)

    # Warm up (and learn how many events one request makes).
    warm = await load.run(args.warmup, 200.0, 4, 30.0, path)
    if warm["ok"] != args.warmup:
        raise SetupError(f"warm-up: {warm['ok']} of {args.warmup} requests answered 200 ({warm})")
    if await wait_absorbed(app, counter, 10) is None:
        raise SetupError("the UI did not absorb the warm-up requests")
    template = next((v for v in reversed(app.store.requests.values()) if v.done and not v.is_lifespan), None)
    if template is None:
        raise SetupError("no complete request in the store after the warm-up")
    per_request = len(template.events)

    samples: list[tuple[float, int, int, int]] = []  # (t, absorbed, emitted, held)
    latencies: list[tuple[str, float, float | None, bool]] = []  # key, key→action, key→frame, effect ok
    timeouts: list[str] = []
    stop = asyncio.Event()

    async def sampler() -> None:
        while not stop.is_set():
            samples.append((time.perf_counter(), app.store.events_seen, counter.emitted, len(app.store.requests)))
            await asyncio.sleep(0.05)

    async def presser() -> None:
        keys = itertools.cycle(["left", "end"])
        await asyncio.sleep(0.2)
        while not stop.is_set():
            key = next(keys)
            got = await probe.press(key)
            if got is None:
                timeouts.append(key)
                continue
            took, cursor = got
            handled = probe.hit_at
            await asyncio.sleep(args.probe_interval)
            frame = probe.frame_after(handled)
            effect = (cursor is not None) if key == "left" else (cursor is None)
            latencies.append((key, took, (frame - (handled - took)) if frame else None, effect))

    absorbed0, emitted0, frames0, batches0 = app.store.events_seen, counter.emitted, len(probe.frames), len(probe.batches)
    tasks = [asyncio.create_task(sampler()), asyncio.create_task(presser())]
    cpu0, load_cpu0 = thread_cpu(), process_cpu(load.proc.pid)
    t_go = time.perf_counter()
    total = int(args.rate * args.seconds)
    result = await load.run(total, args.rate, args.connections, args.seconds * 2 + 5, path)
    t_load_end = time.perf_counter()
    cpu1, load_cpu1 = thread_cpu(), process_cpu(load.proc.pid)
    cpu = {name: cpu1[name] - cpu0.get(name, 0.0) for name in cpu1}
    cpu["load generator process"] = load_cpu1 - load_cpu0
    stop.set()
    await asyncio.gather(*tasks)
    catch_up = await wait_absorbed(app, counter, 30)
    t_absorbed = time.perf_counter()
    samples.append((t_absorbed, app.store.events_seen, counter.emitted, len(app.store.requests)))
    emitted = counter.emitted - emitted0

    # Events absorbed per second while the load ran, and the best 1 s window.
    in_load = [s for s in samples if s[0] <= t_load_end]
    window = t_load_end - t_go
    absorbed_in_load = (in_load[-1][1] - absorbed0) if in_load else 0
    peak = 0.0
    for i, s in enumerate(samples):
        for later in samples[i + 1:]:
            if later[0] - s[0] >= 1.0:
                peak = max(peak, (later[1] - s[1]) / (later[0] - s[0]))
                break
    backlog = max((s[2] - s[1] for s in samples), default=0)
    frames = probe.frames[frames0:]
    batches = [n for _, n in probe.batches[batches0:] if n]

    # Correctness.
    history = app.query_one(History)
    held = list(app.store.requests.values())
    problems: list[str] = []
    for view in held:
        seqs = [e.seq for e in view.events]
        times = [e.t_ns for e in view.events]
        if view.is_lifespan:
            continue
        if not view.done:
            problems.append(f"{view.request_id} incomplete ({len(view.events)} events)")
        elif seqs != list(range(len(seqs))) or times != sorted(times):
            problems.append(f"{view.request_id} events out of order")
        elif len(view.events) != per_request or view.status != 200:
            problems.append(f"{view.request_id}: {len(view.events)} events, status {view.status}")
    newest = counter.order[-args.max_requests:]
    held_ids = [v.request_id for v in held]
    checks = {
        "max_held": max(probe.max_held, max((s[3] for s in samples), default=0)),
        "history_ok": history.row_ids() == held_ids,
        "history_rows": history.row_count,
        "problems": problems,
        "newest_ok": held_ids == newest[-len(held_ids):] and len(held_ids) == min(args.max_requests, len(counter.order)),
        "ids_increasing": [request_number(r) for r in held_ids if r.startswith("r")]
        == sorted(request_number(r) for r in held_ids if r.startswith("r")),
        "held_range": f"{held_ids[0]}..{held_ids[-1]}" if held_ids else "none",
        "faults": list(faults.records),
        "running": app.is_running,
    }

    # Time travel, then evict the selected request.
    await probe.press("end")
    await pilot.pause(0.1)
    travel = await probe.press("left")
    selected, cursor = app.selected, app.cursor
    evict_n = args.max_requests + 50
    await load.run(evict_n, args.rate, args.connections, evict_n / args.rate * 2 + 10, path)
    await wait_absorbed(app, counter, 30)
    await pilot.pause(0.1)
    after_sel, after_cursor = app.selected, app.cursor
    again = await probe.press("left")
    status = str(app.query_one("#status").render())
    evict = {
        "selected": selected, "cursor": cursor, "travel_ok": travel is not None and cursor is not None,
        "selected_after": after_sel, "cursor_after": after_cursor,
        "held": after_sel in app.store.requests, "left_after": again[1] if again else "no action",
        "left_moved": again is not None and again[1] != after_cursor, "status": status,
        "oldest_held": next(iter(app.store.requests), None),
    }
    await probe.press("end")
    tracer.remove_sink(counter)
    return {
        "load": result, "per_request": per_request, "window": window, "absorbed_in_load": absorbed_in_load,
        "absorbed_rate": absorbed_in_load / window if window > 0 else 0.0, "peak_rate": peak,
        "emitted": emitted, "cpu": cpu, "backlog": backlog, "catch_up": catch_up,
        "after_last_response": t_absorbed - t_load_end if catch_up is not None else None,
        "frames": len(frames), "batches": batches, "latencies": latencies, "timeouts": timeouts,
        "checks": checks, "evict": evict, "template": template,
    }


async def memory(args: argparse.Namespace, app: Any, tracer: Any, template: Any) -> dict[str, Any]:
    from lifecycle_tracer.events import TraceEvent
    from lifecycle_tracer.tui.panes import History

    history = app.query_one(History)
    sinks = tracer.sinks
    events = template.events
    base_ns = events[0].t_ns
    n_requests = args.memory_requests
    checkpoints: list[tuple[int, int, int, int, float]] = []
    per_checkpoint = max(n_requests // 10, 1)
    started = app.store.events_seen
    fed = 0
    failure: list[BaseException] = []

    def measure(done: int, t0: float) -> None:  # on the UI thread, between two messages
        gc.collect()
        checkpoints.append((done, rss_bytes()[0], len(app.store.requests), history.row_count, time.perf_counter() - t0))

    def checkpoint(done: int, t0: float) -> None:
        while app.store.events_seen - started < fed:
            time.sleep(0.002)
        app.call_from_thread(measure, done, t0)

    def feeder() -> None:
        nonlocal fed
        try:
            t0 = time.perf_counter()
            checkpoint(0, t0)
            for n in range(1, n_requests + 1):
                rid, shift = f"m{n}", n * 1_000_000
                for ev in events:
                    copy = TraceEvent(rid, ev.seq, ev.stage, ev.kind, ev.name, ev.t_ns - base_ns + shift,
                                      dict(ev.detail), ev.explain)
                    for sink in sinks:
                        sink.emit(copy)
                fed += len(events)
                while fed - (app.store.events_seen - started) > args.memory_backlog:
                    time.sleep(0.001)  # let the UI catch up: measure what it keeps, not an unbounded queue
                if n % per_checkpoint == 0 or n == n_requests:
                    checkpoint(n, t0)
        except BaseException as exc:  # reported by the caller
            failure.append(exc)

    thread = threading.Thread(target=feeder, name="synthetic-feeder", daemon=True)
    t0 = time.perf_counter()
    thread.start()
    while thread.is_alive():
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - t0
    if failure:
        raise SetupError(f"the synthetic feeder failed: {failure[0]!r}")
    return {"checkpoints": checkpoints, "elapsed": elapsed, "events": fed, "per_request": len(events),
            "sinks": [type(sink).__name__ for sink in sinks]}


def report_burst(args: argparse.Namespace, r: dict[str, Any]) -> None:
    load = r["load"]
    elapsed = max(load["elapsed"], 1e-9)
    print(f"\nburst: {args.rate:g} requests/s for {args.seconds:g} s, {args.connections} keep-alive connections")
    print(f"  requests answered          {load['ok']} of {int(args.rate * args.seconds)} ({load['errors']} errors) "
          f"in {load['elapsed']:.2f} s → {load['ok'] / elapsed:.0f} req/s achieved (target {args.rate:g})")
    if load["failures"]:
        print(f"  load generator failures    {load['failures']}")
    print(f"  HTTP send → response       p50 {load['lat_p50_ms']:.1f} ms, p95 {load['lat_p95_ms']:.1f} ms, "
          f"max {load['lat_max_ms']:.1f} ms")
    print(f"  events emitted by tracer   {r['emitted']} ({r['per_request']} per request, "
          f"{r['emitted'] / max(r['window'], 1e-9):.0f} events/s)")
    print(f"  events absorbed by the UI  {r['absorbed_rate']:.0f} events/s during the burst "
          f"(best 1 s window: {r['peak_rate']:.0f} events/s)")
    catch = "never (30 s timeout)" if r["after_last_response"] is None else f"{r['after_last_response']:.2f} s"
    print(f"  backlog                    max {r['backlog']} events waiting for the UI; all absorbed {catch} "
          "after the last response")
    batches = r["batches"]
    if batches:
        print(f"  batching                   {len(batches)} drains, events per drain median "
              f"{statistics.median(batches):.0f}, max {max(batches)}; {r['frames']} frames drawn "
              f"({r['frames'] / max(r['window'], 1e-9):.0f} per s, {len(batches) / max(r['frames'], 1):.1f} drains "
              "per frame)")
    cpu = r["cpu"]
    names = {"MainThread": "UI (main thread)", "lifecycle-tracer-uvicorn": "uvicorn thread"}
    parts = [f"{names.get(k, k)} {v:.2f} s" for k, v in sorted(cpu.items(), key=lambda kv: -kv[1]) if v >= 0.01]
    print(f"  CPU during the burst       {', '.join(parts)} (wall {r['window']:.2f} s, {os.cpu_count()} CPUs)")
    answered = max(load["ok"], 1)
    ui_ms, server_ms = cpu.get("MainThread", 0.0) * 1000 / answered, cpu.get("lifecycle-tracer-uvicorn", 0.0) * 1000 / answered
    print(f"  CPU per request            UI thread {ui_ms:.2f} ms, uvicorn thread {server_ms:.2f} ms "
          "(one GIL: their sum bounds the rate at about 1000 / sum req/s)")
    achieved = load["ok"] / elapsed
    print(f"server sustains the target rate with the TUI attached (≥ 95% of {args.rate:g} req/s): "
          f"{verdict(achieved >= 0.95 * args.rate and load['ok'] >= 0.95 * args.rate * args.seconds)}")
    keep_up = r["after_last_response"] is not None and r["after_last_response"] <= 1.0
    print(f"UI keeps up with the tracer (absorbed within 1 s of the last response): {verdict(keep_up)}")

    lat = r["latencies"]
    to_action = [x[1] for x in lat]
    to_frame = [x[2] for x in lat if x[2] is not None]
    effective = sum(1 for x in lat if x[3])
    print(f"\nkey-press latency under load ({len(lat)} presses of left/end, key sent → action run)")
    if lat:
        print(f"  key → state                median {ms(statistics.median(to_action))}, p95 {ms(pct(to_action, 0.95))}, "
              f"max {ms(max(to_action))}; {effective} of {len(lat)} changed app.cursor as expected")
    if to_frame:
        print(f"  key → next frame           median {ms(statistics.median(to_frame))}, p95 {ms(pct(to_frame, 0.95))}, "
              f"max {ms(max(to_frame))}")
    if r["timeouts"]:
        print(f"  no reaction within 3 s     {len(r['timeouts'])} presses ({', '.join(sorted(set(r['timeouts'])))})")
    p95 = pct(to_action, 0.95) if to_action else float("inf")
    print(f"key-press p95 = {ms(p95)} (target ≤ 100 ms): {verdict(p95 <= 0.1 and not r['timeouts'])}")

    c, e = r["checks"], r["evict"]
    print("\ncorrectness")
    rows = [
        (f"store ≤ max_requests ({args.max_requests}) throughout", c["max_held"] <= args.max_requests,
         f"max held {c['max_held']}"),
        ("History rows = the store's requests, same order", c["history_ok"], f"{c['history_rows']} rows"),
        ("held requests complete and in order", not c["problems"],
         "; ".join(c["problems"][:3]) or f"{c['held_range']}"),
        ("held requests are the newest N, by arrival", c["newest_ok"] and c["ids_increasing"], ""),
        ("no exception, no tracer or server fault", c["running"] and not c["faults"], "; ".join(c["faults"][:2])),
    ]
    ev_ok = e["held"] and e["left_moved"]
    rows.append(("time travel survives eviction of the selection", ev_ok,
                 f"selected {e['selected']} (cursor {e['cursor']}); after {args.max_requests + 50} more requests "
                 f"selected {e['selected_after']} ({'held' if e['held'] else 'NOT in the store, oldest held ' + str(e['oldest_held'])}), "
                 f"left → cursor {e['left_after']}"))
    for label, ok, note in rows:
        print(f"  {label:<50}{verdict(ok)}{'  (' + note + ')' if note else ''}")
    if not ev_ok:
        print(f"  status line after eviction: {e['status']!r}")
    print(f"correctness: {verdict(all(ok for _, ok, _ in rows))}")


def report_memory(args: argparse.Namespace, m: dict[str, Any], rss_start: int) -> None:
    cps = m["checkpoints"]
    print(f"\nmemory: {args.memory_requests} requests' worth of synthetic events ({m['per_request']} per request, "
          f"{m['events']} events) fed from a thread to the tracer's sinks ({', '.join(m['sinks'])}), "
          f"max_requests={args.max_requests}")
    print(f"  fed and absorbed in {m['elapsed']:.1f} s → {m['events'] / max(m['elapsed'], 1e-9):.0f} events/s "
          "absorbed by the UI with no server running")
    print(f"  {'requests':>10}{'RSS MB':>10}{'held':>8}{'History rows':>14}{'elapsed s':>11}")
    for n, rss, held, rows, t in cps:
        print(f"  {n:>10}{rss / MB:>10.1f}{held:>8}{rows:>14}{t:>11.1f}")
    first, mid, last = cps[0], cps[len(cps) // 2], cps[-1]
    peak = max(rss_bytes()[1], max(c[1] for c in cps))
    print(f"  RSS at start of the run {rss_start / MB:.1f} MB; before the feed {first[1] / MB:.1f} MB; "
          f"after {last[1] / MB:.1f} MB (peak {peak / MB:.1f} MB)")
    growth = (last[1] - mid[1]) / MB
    bounded = growth < 10 and max(c[2] for c in cps) <= args.max_requests
    print(f"RSS growth over the second half ({mid[0]} → {last[0]} requests) = {growth:+.1f} MB "
          f"(target < 10 MB): {verdict(bounded)}")


async def time_step(controller: Any) -> float:
    """Seconds for the lesson's first step (its request and the wait for its events), off the UI thread."""
    t0 = time.perf_counter()
    await asyncio.to_thread(controller.fire_step, 0)
    return time.perf_counter() - t0


async def main(args: argparse.Namespace) -> None:
    import fastapi
    import textual

    from lifecycle_tracer.tui.app import TracerApp

    rss_start = rss_bytes()[0]
    faults = FaultLog()
    for name in ("lifecycle_tracer", "uvicorn.error", "uvicorn"):
        logging.getLogger(name).addHandler(faults)
    controller, tracer, path = make_controller(args.controller)
    port = (controller.session.server if args.controller == "lesson" else controller.server).port
    load = LoadProcess(port)
    print(
        f"lifecycle-tracer TUI under load: Python {platform.python_version()}, textual {textual.__version__}, "
        f"FastAPI {fastapi.__version__}, {os.cpu_count()} CPUs"
    )
    print(f"TracerApp headless 160x45, {type(controller).__name__}, real uvicorn on 127.0.0.1:{port}, "
          f"max_requests={args.max_requests}; load generator in a separate process: GET {path}")
    app = TracerApp(controller, max_requests=args.max_requests)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            t0 = time.perf_counter()
            while not app.ready:
                if time.perf_counter() - t0 > 30:
                    raise SetupError("the controller's server did not start within 30 s")
                await asyncio.sleep(0.01)
            await load.ready()
            step_before = await time_step(controller) if args.controller == "lesson" else None
            r = await burst(args, app, pilot, tracer, path, load, faults)
            report_burst(args, r)
            m = await memory(args, app, tracer, r["template"])
            report_memory(args, m, rss_start)
            if step_before is not None:
                step_after = await time_step(controller)
                print(f"lesson step 1's request (what Enter fires): {step_before:.3f} s before the burst, "
                      f"{step_after:.3f} s after it and the memory feed")
            if not app.is_running:
                raise SetupError("the app stopped during the run")
    finally:
        load.close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the burst (default 5)")
    parser.add_argument("--rate", type=float, default=1000.0, help="requests per second (default 1000)")
    parser.add_argument("--max-requests", type=int, default=500, help="TracerApp history size (default 500)")
    parser.add_argument("--memory-requests", type=int, default=100_000,
                        help="requests' worth of synthetic events for the memory part (default 100000)")
    parser.add_argument("--connections", type=int, default=16, help="load generator connections (default 16)")
    parser.add_argument("--controller", choices=["app", "lesson"], default="app",
                        help="app: AppController (trace MODULE:APP); lesson: lesson1's LessonController")
    parser.add_argument("--probe-interval", type=float, default=0.05, help="pause between key presses (s)")
    parser.add_argument("--memory-backlog", type=int, default=5000, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=50, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="smoke run (< 15 s): 1.5 s at 300/s, 3000 requests")
    parser.add_argument("--load-worker", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.rate, args.max_requests, args.memory_requests = 1.5, 300.0, 100, 3000
    if args.seconds <= 0 or args.rate <= 0 or args.max_requests < 1 or args.memory_requests < 1 or args.connections < 1:
        parser.error("--seconds and --rate must be > 0; --max-requests, --memory-requests, --connections >= 1")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.load_worker is not None:
        load_worker(arguments.load_worker)
        sys.exit(0)
    try:
        asyncio.run(main(arguments))
    except SetupError as exc:
        sys.exit(f"error: {exc}")
