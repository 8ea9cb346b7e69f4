"""What does a LiveSink cost the app, with no viewer and with one? (in-process, raw ASGI)

    python benchmarks/live_overhead.py           # about 20 s
    python benchmarks/live_overhead.py --quick   # smoke run, a few seconds

What is driven. ``bench_app.py``'s app, the same raw ASGI driver as
``overhead.py`` (no HTTP client, no server: each ``await app(scope, receive,
send)`` is timed, nothing else), one fresh app per variant:

- traced (null sink): a sink whose ``emit`` does nothing, the baseline;
- LiveSink, no viewer: nothing listens at its address, so every event is
  dropped and counted (the case "the app runs, nobody watches");
- LiveSink, viewer: ``lifecycle-tracer view --plain`` runs in another process
  (its output to /dev/null) and the sink streams every event to it.

The variants run in rounds, in rotating order, side by side in one run, with
the collector off during each batch; the ratios are of medians of the
per-round means. Two costs are reported per variant:

- µs per request: each ``await app(...)`` timed, what the request's own path
  costs (the latency the app's loop sees). The sink's thread competes with
  the app for the GIL while the batch runs, so part of its cost is in here;
- CPU µs per request: the process's CPU time over the batch, all threads,
  and for the viewer variant until the sink has written its backlog (so
  serializing and writing every event is counted, wherever it ran), with the
  sink's own thread's share beside it (read from ``/proc``, Linux only).
  The app's process can serve at most one request per CPU µs-per-request of
  one core: that, not the latency, is what bounds a server's throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_app import build_app, machine_info
from overhead import NullSink, Variant, ratio

from lifecycle_tracer import instrument
from lifecycle_tracer.server import free_port
from lifecycle_tracer.sinks import LiveSink


def thread_cpu(sink: LiveSink) -> float:
    """CPU seconds the sink's writer thread has run (0 where /proc is not there)."""
    try:
        stat = Path(f"/proc/self/task/{sink._thread.native_id}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"the viewer did not listen on {port}")


async def main(args: argparse.Namespace) -> None:
    view_port = free_port()
    viewer = subprocess.Popen([sys.executable, "-m", "lifecycle_tracer", "view", "--plain", "--port", str(view_port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(view_port)
        null_app, lonely_app, watched_app = build_app(), build_app(), build_app()
        instrument(null_app, sink=NullSink())
        lonely = LiveSink(f"127.0.0.1:{free_port()}")  # nothing listens there
        instrument(lonely_app, sink=lonely)
        watched = LiveSink(f"127.0.0.1:{view_port}")
        instrument(watched_app, sink=watched)
        deadline = time.monotonic() + 10
        while not watched.connected and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        if not watched.connected:
            raise SystemExit("the LiveSink did not connect to the viewer")
        variants = [Variant("traced (null sink)", null_app), Variant("LiveSink, no viewer", lonely_app),
                    Variant("LiveSink, viewer", watched_app)]
        for v in variants:
            await v.check()
            await v.batch(args.warmup)
        for line in machine_info():
            print(line)
        print(f"{args.rounds} rounds x {args.batch} requests per variant, gc off during each batch")
        writer: dict[str, list[float]] = {v.name: [] for v in variants}
        for rnd in range(args.rounds):
            k = rnd % len(variants)
            for v in variants[k:] + variants[:k]:
                sink = watched if v.app is watched_app else lonely if v.app is lonely_app else None
                writer0 = thread_cpu(sink) if sink else 0.0
                # The backlog is written before the next variant starts, inside this one's CPU window.
                await v.timed_round(args.batch, after=(lambda s=sink: s.flush(10)) if sink else None)
                writer[v.name].append((thread_cpu(sink) - writer0) / args.batch * 1e6 if sink else 0.0)
        base = variants[0]
        print(f"\n{'variant':<24}{'median µs/req':>15}{'× null sink':>13}{'CPU µs/req':>12}{'× null sink':>13}"
              f"{'sink thread':>13}")
        for v in variants:
            print(f"{v.name:<24}{statistics.median(v.times):>15.1f}{ratio(v.times, base.times):>12.2f}×"
                  f"{statistics.median(v.cpu):>12.1f}{ratio(v.cpu, base.cpu):>12.2f}×"
                  f"{statistics.median(writer[v.name]):>13.1f}")
        print("CPU µs/req: the whole process over each batch, the viewer variant's backlog written included; "
              "sink thread: the LiveSink's writer's part of it (its clock ticks every 10 ms: a rough figure)")
        print(f"\nno viewer: {lonely.dropped:,} events dropped, {lonely.sent} sent, queue {len(lonely._queue)}")
        print(f"viewer: {watched.sent:,} events sent, {watched.dropped:,} dropped")
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (on {os.cpu_count()} cores)")
    finally:
        viewer.terminate()
        viewer.wait(10)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--batch", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.batch, args.warmup = 6, 30, 30
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
