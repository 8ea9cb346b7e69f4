"""How much slower is a request when lifecycle-tracer watches it? (in-process, raw ASGI)

    python benchmarks/overhead.py            # full run, about 35 s
    python benchmarks/overhead.py --quick    # smoke run, about 2 s

What is driven. The app of ``bench_app.py`` (an async route with an async yield
dependency, a sub-dependency and a cache hit; an async route with a Pydantic
body; a ``def`` route with a ``def`` dependency, both run in the threadpool),
one fresh app per variant:

- untraced: ``build_app()`` as it is;
- traced (null sink): ``instrument(app, sink=NullSink())``, a sink whose
  ``emit`` does nothing: every event is built and handed over, then dropped;
- traced (Recorder): ``instrument(app, sink=Recorder())``: events are kept
  (the Recorder is cleared between batches, outside the timed part);
- FastAPI telemetry, no tracer (FastAPI >= 0.142 with opentelemetry-sdk):
  spans into a private SDK ``TracerProvider`` with a ``SimpleSpanProcessor``
  and an ``InMemorySpanExporter`` (cleared between batches).

How. No HTTP client and no server: a raw ASGI driver builds each request's
``scope`` dict, a ``receive`` that returns the body once and then waits until
the response is complete (then reports ``http.disconnect``, as a server
would), and a ``send`` that appends each message to a list, then calls
``await app(scope, receive, send)`` directly, on one asyncio event loop.

What is timed: each ``await app(scope, receive, send)``, from the call to its
return, so everything the app does for the request, including the yield
dependency's teardown and the threadpool hops of the ``def`` route, plus the
driver's ``receive``/``send`` (a list append), which is the same for every
variant. Not timed: building the scope and the channel (a dict copy),
checking the status, clearing kept events or spans, and garbage collection:
``gc.collect()`` runs before each batch and the collector is disabled during it.

Every answer is checked. Before timing, each variant's three requests must get
the expected status and exact JSON body; inside the timed batches every
response's status is compared with the expected one (a dict lookup, counted),
and a batch with a wrong status aborts the run: a benchmark of 500s is worthless.

Order. After a warm-up (the middleware stack is built lazily on the first
request, caches fill), the variants run in rounds, in a rotating order, in
one process; each round times one batch per variant, the three requests in
turn. Reported per variant: median and fastest batch in µs per request, extra
µs over untraced, the ratio to untraced (median of per-round ratios, so slow
drift of the machine cancels), and events (or spans) per request; then the
same per request kind.

Garbage collection, apart. With the collector off and the Recorder emptied
before each batch, the rounds leave out one real cost of keeping events: a
long-lived Recorder holds tens of thousands of objects, and the collector's
full (generation 2) passes must walk them all. So a last section, not
interleaved and with the collector on, sends ``--gc-requests`` requests to the
untraced app, the null-sink app, and an app traced into a
``Recorder(max_events=100_000)`` first sent 100,000 events' worth of requests
(untimed, so it already trims its oldest events as a long-lived one does), and
reports wall µs per request, the µs per request spent in collections (timed
with ``gc.callbacks``), the collections of each generation, and the longest.
``benchmarks/throughput.py`` shows the same cost under a real server.

Caveat: once ``instrument()`` has run, the tracer's patches of FastAPI and
Starlette internals are process-wide, so the *untraced* app here passes
through them too (each patched function reads the tracer's context variable,
finds no request, and calls the original). The untraced baseline is
therefore somewhat slower than FastAPI in a process that never called
``instrument()`` (not measured here: it cannot be undone in-process), and the
ratios correspondingly flatter.

Target (2 cores): traced (Recorder) <= 1.25x untraced. Exit code 0 whatever
the verdict; non-zero only on a broken setup (wrong answers, no events).
"""

import argparse
import asyncio
import gc
import importlib.util
import json
import math
import os
import statistics
import sys
import time
from typing import Any

import fastapi
from bench_app import REQUESTS, BenchRequest, build_app, machine_info

from lifecycle_tracer import Recorder, instrument

TARGET = 1.25
MAX_EVENTS = 100_000  # the bound a long-running traced server would give its Recorder
BATCH_TIMEOUT_S = 60.0  # a batch that hangs (an app awaiting receive() forever) aborts the run

NO_TELEMETRY = ""
if importlib.util.find_spec("fastapi.telemetry") is None:
    NO_TELEMETRY = f"FastAPI {fastapi.__version__} has no built-in telemetry (needs >= 0.142)"
elif importlib.util.find_spec("opentelemetry.sdk") is None:
    NO_TELEMETRY = "opentelemetry-sdk is not installed"
else:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class SetupError(Exception):
    pass


class NullSink:
    """A sink that drops every event."""

    def emit(self, event: Any) -> None:
        pass


class Exchange:
    """One request's ASGI channel, as a server would provide it."""

    __slots__ = ("body", "messages", "_body_sent", "_done")

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.messages: list[dict[str, Any]] = []
        self._body_sent = False
        self._done = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        if not self._body_sent:
            self._body_sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        await self._done.wait()  # nothing more to read: wait until the response is complete
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self._done.set()

    def status(self) -> int:
        return self.messages[0]["status"] if self.messages else -1


def scope_for(req: BenchRequest) -> dict[str, Any]:
    """The HTTP scope a server would build for ``req`` (copied per request: the app writes into it)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": req.method,
        "scheme": "http",
        "path": req.path,
        "raw_path": req.path.encode(),
        "query_string": req.query.encode(),
        "root_path": "",
        "headers": req.headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


class Variant:
    def __init__(self, name: str, app: Any, reset: Any = None) -> None:
        self.name, self.app, self.reset = name, app, reset or (lambda: None)
        self.kinds = [(scope_for(r), r.body, r.status) for r in REQUESTS]
        self.per_request = ""  # events or spans per request, for the table
        self.times: list[float] = []  # µs per request (the mix), one entry per round
        self.cpu: list[float] = []  # the process's CPU µs per request (all threads), one entry per round
        self.kind_times: list[list[float]] = [[] for _ in REQUESTS]  # µs per request of each kind, per round

    async def call(self, req: BenchRequest) -> Exchange:
        ex = Exchange(req.body)
        await asyncio.wait_for(self.app(scope_for(req), ex.receive, ex.send), 10)
        return ex

    async def check(self) -> None:
        """Each request gets the expected status and body; all the messages are well formed."""
        for req in REQUESTS:
            ex = await self.call(req)
            types = [m["type"] for m in ex.messages]
            body = b"".join(m.get("body", b"") for m in ex.messages[1:])
            try:
                answer = json.loads(body)
            except ValueError:
                answer = body
            if ex.status() != req.status or answer != req.answer or types != ["http.response.start", "http.response.body"]:
                raise SetupError(f"{self.name}: {req.method} {req.path} answered {ex.status()} {body!r} ({types})")

    async def batch(self, n: int) -> list[int]:
        """Send n requests, the kinds in turn; return the nanoseconds spent in the app per kind."""
        kinds, app, clock = self.kinds, self.app, time.perf_counter_ns
        spent = [0] * len(kinds)
        wrong = 0
        async with asyncio.timeout(BATCH_TIMEOUT_S):
            for i in range(n):
                k = i % len(kinds)
                template, body, status = kinds[k]
                scope, ex = dict(template), Exchange(body)
                t0 = clock()
                await app(scope, ex.receive, ex.send)
                spent[k] += clock() - t0
                wrong += ex.status() != status
        if wrong:
            raise SetupError(f"{self.name}: {wrong} of {n} responses had an unexpected status")
        return spent

    async def timed_round(self, n: int, after: Any = None) -> None:
        """One timed batch; ``after`` runs once it is over, inside ``cpu``'s window but not the timed part."""
        self.reset()  # drop kept events or spans, then collect, outside the timed part
        gc.collect()
        gc.disable()
        cpu0 = time.process_time()
        try:
            spent = await self.batch(n)
            if after is not None:
                after()
        finally:
            self.cpu.append((time.process_time() - cpu0) / n * 1e6)
            gc.enable()
        counts = [len(range(k, n, len(self.kinds))) for k in range(len(self.kinds))]
        self.times.append(sum(spent) / n / 1000)
        for k, (ns, c) in enumerate(zip(spent, counts, strict=True)):
            self.kind_times[k].append(ns / c / 1000)


class GcTimer:
    """A ``gc.callbacks`` hook: time spent in collections, how many of each generation, the longest."""

    def __init__(self) -> None:
        self.seconds, self.longest, self.counts, self._t0 = 0.0, 0.0, [0, 0, 0], 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            took = time.perf_counter() - self._t0
            self.seconds += took
            self.longest = max(self.longest, took)
            self.counts[info["generation"]] += 1


async def gc_cost(v: Variant, n: int) -> str:
    """n requests with the collector on (not interleaved): wall time, and what collections took."""
    gc.collect()
    timer = GcTimer()
    gc.callbacks.append(timer)
    try:
        t0 = time.perf_counter_ns()
        await v.batch(n)
        wall = (time.perf_counter_ns() - t0) / n / 1000
    finally:
        gc.callbacks.remove(timer)
    gens = "/".join(map(str, timer.counts))
    return (
        f"{v.name:<44}{wall:>9.1f}{timer.seconds / n * 1e6:>11.1f}{gens:>15}{timer.longest * 1000:>12.1f}"
    )


def ratio(a: list[float], b: list[float]) -> float:
    """Median of per-round (paired) ratios."""
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


async def main(args: argparse.Namespace) -> None:
    null_app, recorded_app, recorder = build_app(), build_app(), Recorder()
    instrument(null_app, sink=NullSink())
    instrument(recorded_app, sink=recorder)
    untraced = Variant("untraced", build_app())
    null = Variant("traced (null sink)", null_app)
    recorded = Variant("traced (Recorder)", recorded_app, recorder.clear)
    variants = [untraced, null, recorded]
    telemetry = exporter = None
    if NO_TELEMETRY:
        print(f"note: {NO_TELEMETRY}; the FastAPI telemetry variant is unavailable.")
    else:  # a private provider: the global one is left alone
        exporter, provider = InMemorySpanExporter(), TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        config = dict(tracer_provider=provider, metrics=False, logs=False, auto_configure=False)
        telemetry = Variant("FastAPI telemetry", build_app(config), exporter.clear)
        variants.append(telemetry)

    for v in variants:  # check every answer, then warm up
        await v.check()
        await v.batch(args.warmup)
        v.reset()

    events = []  # events per request, counted on the Recorder; the null sink's tracer emits the same
    for req in REQUESTS:
        recorder.clear()
        await recorded.call(req)
        events.append(len(recorder.events))
    recorder.clear()
    if not all(events):
        raise SetupError("the tracer emitted no events; is instrument() working?")
    untraced.per_request = "0"
    null.per_request = recorded.per_request = f"{statistics.mean(events):.1f} events"
    spans: list[int] = []
    if telemetry is not None and exporter is not None:
        for req in REQUESTS:
            exporter.clear()
            await telemetry.call(req)
            spans.append(len(exporter.get_finished_spans()))
        exporter.clear()
        if not all(spans):
            raise SetupError("FastAPI telemetry produced no spans")
        telemetry.per_request = f"{statistics.mean(spans):.1f} spans"

    print("lifecycle-tracer overhead: raw ASGI calls in-process, no HTTP client or server")
    for line in machine_info():
        print(line)
    print(
        f"{args.rounds} rounds x {args.batch} requests per variant (the {len(REQUESTS)} requests in turn), "
        f"warm-up {args.warmup} per variant, gc disabled during each batch"
    )
    print("tracer events per request: " + ", ".join(f"{r.label} {n}" for r, n in zip(REQUESTS, events, strict=True)))
    if spans:
        print("FastAPI telemetry spans per request: " + ", ".join(f"{r.label} {n}" for r, n in zip(REQUESTS, spans, strict=True)))

    t_start = time.perf_counter()
    for rnd in range(args.rounds):
        k = rnd % len(variants)
        for v in variants[k:] + variants[:k]:
            await v.timed_round(args.batch)
    elapsed = time.perf_counter() - t_start

    base = statistics.median(untraced.times)
    print(f"\nall requests ({elapsed:.1f} s of rounds):")
    print(f"{'variant':<22}{'median µs/req':>15}{'min µs/req':>12}{'+µs/req':>10}{'× untraced':>12}{'per request':>16}")
    for v in variants:
        med = statistics.median(v.times)
        print(
            f"{v.name:<22}{med:>15.1f}{min(v.times):>12.1f}{med - base:>+10.1f}"
            f"{ratio(v.times, untraced.times):>11.2f}×{v.per_request:>16}"
        )
    print("\nper request: median µs (+µs over untraced, × untraced)")
    print(f"{'request':<32}" + "".join(f"{v.name:>26}" for v in variants))
    for k, req in enumerate(REQUESTS):
        base_k = statistics.median(untraced.kind_times[k])
        cells = []
        for v in variants:
            med = statistics.median(v.kind_times[k])
            cells.append(f"{med:.1f} ({med - base_k:+.1f}, {ratio(v.kind_times[k], untraced.kind_times[k]):.2f}×)")
        print(f"{req.label:<32}" + "".join(f"{c:>26}" for c in cells))

    # The rounds above run with the collector off and the Recorder emptied before each batch,
    # so they leave out what a long-lived Recorder costs in garbage collection. Measure it apart.
    steady_recorder = Recorder(max_events=MAX_EVENTS)
    steady_app = build_app()
    instrument(steady_app, sink=steady_recorder)
    steady = Variant(f"traced (long-lived Recorder, max {MAX_EVENTS:,})", steady_app)
    await steady.check()
    if args.prefill:  # send a full Recorder's worth of requests, untimed: it now trims as a long-lived one does
        await steady.batch(math.ceil(args.prefill / statistics.mean(events)))
    print(
        f"\ngarbage collection, collector on, {args.gc_requests} requests each (not interleaved, not in the tables above; "
        f"the long-lived Recorder holds {len(steady_recorder.events):,} events):"
    )
    print(f"{'variant':<44}{'µs/req':>9}{'gc µs/req':>11}{'gen0/1/2 runs':>15}{'longest ms':>12}")
    for v in (untraced, null, steady):
        print(await gc_cost(v, args.gc_requests))

    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (on {os.cpu_count()} cores)")
    for v in (recorded, null):
        r = ratio(v.times, untraced.times)
        print(f"{v.name}/untraced = {r:.2f}× (target ≤ {TARGET:.2f}×): {'met' if r <= TARGET else 'not met'}")
    if telemetry is None:
        print(f"traced vs FastAPI telemetry: n/a ({NO_TELEMETRY})")
    else:
        r_null, r_rec = ratio(null.times, telemetry.times), ratio(recorded.times, telemetry.times)
        extra_tel = statistics.median(telemetry.times) - base
        print(
            f"traced vs FastAPI telemetry: null sink {r_null:.2f}×, Recorder {r_rec:.2f}× telemetry's time "
            f"(telemetry costs {extra_tel:+.1f} µs/req over untraced; target: null sink ≤ 1.00×): "
            f"{'met' if r_null <= 1.0 else 'not met'}"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="measured rounds (default 40)")
    parser.add_argument("--batch", type=int, default=150, help="requests per batch (default 150)")
    parser.add_argument("--warmup", type=int, default=300, help="warm-up requests per variant (default 300)")
    parser.add_argument("--gc-requests", type=int, default=3000, help="requests per variant in the gc section (default 3000)")
    parser.add_argument("--quick", action="store_true", help="smoke run (~2 s): 6 rounds x 30, a small gc section")
    args = parser.parse_args(argv)
    args.prefill = MAX_EVENTS
    if args.quick:
        args.rounds, args.batch, args.warmup, args.gc_requests, args.prefill = 6, 30, 30, 150, 0
    if args.rounds < 1 or args.batch < len(REQUESTS) or args.warmup < 0 or args.gc_requests < 1:
        parser.error(f"--rounds must be >= 1, --batch >= {len(REQUESTS)}, --warmup >= 0, --gc-requests >= 1")
    return args


if __name__ == "__main__":
    try:
        asyncio.run(main(parse_args()))
    except SetupError as exc:
        sys.exit(f"error: {exc}")
