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
per-round means. The sink's own thread (serializing and writing to the
socket) competes with the app for the GIL in the third variant: that is part
of what it costs, and is measured, not hidden.
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

from bench_app import build_app, machine_info
from overhead import NullSink, Variant, ratio

from lifecycle_tracer import instrument
from lifecycle_tracer.server import free_port
from lifecycle_tracer.sinks import LiveSink


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
        for rnd in range(args.rounds):
            k = rnd % len(variants)
            for v in variants[k:] + variants[:k]:
                await v.timed_round(args.batch)
                if v.app is watched_app:
                    watched.flush(10)  # the backlog is written between batches, not into the next variant's time
        base = variants[0]
        print(f"\n{'variant':<24}{'median µs/req':>15}{'× null sink':>13}")
        for v in variants:
            print(f"{v.name:<24}{statistics.median(v.times):>15.1f}{ratio(v.times, base.times):>12.2f}×")
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
