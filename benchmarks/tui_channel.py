"""With the TUI attached, how many of 1,000 requests a second does the server serve?

    python benchmarks/tui_channel.py              # 2 rounds of 5 s bursts per mode, about 1 min
    python benchmarks/tui_channel.py --quick      # 1 round of 2 s
    python benchmarks/tui_channel.py --capacity   # no TUI: what the server and the channel allow
    python benchmarks/tui_channel.py --mode child # one mode (e.g. under py-spy record)

Side by side in one run, the same burst against the same small app (a path
and a query parameter, an async yield dependency, a response model) with the
real ``TracerApp`` headless (``App.run_test``, 160x45) attached:

- ``in-process``: ``AppController``, the app served by uvicorn on a thread of
  the TUI's own process (how ``trace`` worked before issue 11): the UI and the
  server share one GIL;
- ``child``: ``ChildAppController``, what ``lifecycle-tracer trace`` uses now:
  uvicorn in a child process streaming to the TUI over ``LiveSink``.

The load generator is ``tui_load.py``'s (its own process, raw HTTP/1.1 over
16 keep-alive loopback connections, open loop: request i is due at i/rate).
"Served" is the responses the generator got per second of its run; the
target is at least 950 of 1,000 with the TUI attached. While the burst runs,
keys (``left``, ``end``) are pressed through the headless driver and timed
from the key sent to its action having run (``tui_load.Probe``). After it,
the events the UI absorbed are compared with what the app emitted (the child
drops whole requests rather than wait when the UI falls behind, and says so).
Exit code 0 whatever the verdict.
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tui_load import LoadProcess, Probe, build_app, pct  # noqa: E402

APP_SOURCE = '''
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from pydantic import BaseModel

app = FastAPI(title="tui channel benchmark")


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
'''
PATH = "/items/{i}?q=load"


def controller_for(mode: str, folder: Path) -> tuple[Any, int]:
    from lifecycle_tracer.server import free_port

    port = free_port()
    if mode == "in-process":
        from lifecycle_tracer.tui.controllers import AppController

        return AppController(build_app(), "bench:app", host="127.0.0.1", port=port, record=None,
                             show_secrets=False), port
    from lifecycle_tracer.tui.live import ChildAppController

    controller = ChildAppController("main:app", host="127.0.0.1", port=port, app_dir=folder, record=None,
                                    show_secrets=False)
    controller.connect()
    return controller, port


async def one_burst(mode: str, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    from lifecycle_tracer.tui.app import TracerApp

    controller, port = controller_for(mode, folder)
    app = TracerApp(controller, max_requests=500)
    load = LoadProcess(port)
    try:
        await load.ready()
        async with app.run_test(size=(160, 45)) as pilot:
            while not app.ready:
                await pilot.pause(0.02)
            probe = Probe(app)
            warm = await load.run(50, 200.0, 4, 10.0, PATH)  # imports, first frames: not measured
            await pilot.pause(0.5)
            seen_before = app.store.events_seen
            total = int(args.rate * args.seconds)
            pids = {"TUI": os.getpid(), "app": getattr(getattr(controller, "proc", None), "pid", None),
                    "load": load.proc.pid}
            cpu_before = {k: cpu_seconds(pid) for k, pid in pids.items() if pid}
            task = asyncio.ensure_future(load.run(total, args.rate, 16, args.seconds + 10, PATH))
            keys: list[float] = []
            missed = 0
            press = 0
            while not task.done():
                took = await probe.press("left" if press % 2 == 0 else "end")
                press += 1
                if took is None:
                    missed += 1
                else:
                    keys.append(took[0])
                await asyncio.sleep(args.probe_interval)
            result = task.result()
            cpu = {k: cpu_seconds(pids[k]) - v for k, v in cpu_before.items()}
            t0 = time.perf_counter()
            expected = result["ok"] * 24  # events per request of this app (checked below on one request)
            while app.store.events_seen - seen_before < expected and time.perf_counter() - t0 < 10:
                await pilot.pause(0.02)
            one = next((r for r in app.store.requests.values() if r.done and r.path.startswith("/items/")), None)
            per_request = len(one.events) if one is not None else 0
            absorbed = app.store.events_seen - seen_before
            notes = [n for n in getattr(controller, "notes", []) if "dropped" in n]
            await pilot.press("q")
    finally:
        load.close()
    served = result["ok"] / result["elapsed"] if result["elapsed"] > 0 else 0.0
    return {"mode": mode, "served": served, "ok": result["ok"], "errors": result["errors"], "warm_ok": warm["ok"],
            "lat_p95_ms": result["lat_p95_ms"], "keys": keys, "missed": missed, "per_request": per_request,
            "absorbed": absorbed, "expected": result["ok"] * per_request, "dropped_notes": notes,
            "cpu": {k: v / result["elapsed"] for k, v in cpu.items()} if result["elapsed"] > 0 else {}}


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (Linux ``/proc``), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(runs: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"\nburst: {args.rate:.0f} req/s for {args.seconds:.1f} s, TUI attached (headless 160x45), "
          f"{os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"{'mode':<11} {'served req/s':>12} {'ok':>6} {'err':>4} {'resp p95':>9} {'key p50':>8} {'key p95':>8} "
          f"{'keys':>5} {'events shown':>13}")
    for r in runs:
        shown = f"{r['absorbed']}/{r['expected']}" if r["expected"] else f"{r['absorbed']}/?"
        print(f"{r['mode']:<11} {r['served']:>12.0f} {r['ok']:>6} {r['errors']:>4} {r['lat_p95_ms']:>7.1f}ms "
              f"{pct(r['keys'], 0.5) * 1000:>6.1f}ms {pct(r['keys'], 0.95) * 1000:>6.1f}ms "
              f"{len(r['keys']):>5} {shown:>13}")
        if r["cpu"]:
            print(f"{'':<11} cores busy during the burst: " + ", ".join(f"{k} {v:.2f}" for k, v in r["cpu"].items()))
        for note in r["dropped_notes"][-1:]:
            print(f"{'':<11} {note}")
    for mode in ("in-process", "child"):
        served = [r["served"] for r in runs if r["mode"] == mode]
        if served:
            target = args.rate * 0.95
            print(f"{mode}: median served {statistics.median(served):.0f} req/s of {args.rate:.0f} "
                  f"(target >= {target:.0f}: {'PASS' if statistics.median(served) >= target else 'FAIL'})")


WRAPPERS = {
    "untraced": "from main import app\n",
    "traced, null sink": ("from main import app\nfrom lifecycle_tracer import instrument\n"
                          "class Null:\n    def emit(self, event): pass\ninstrument(app, sink=Null())\n"),
    "LiveSink, no viewer": ("from main import app\nfrom lifecycle_tracer import instrument\n"
                            "from lifecycle_tracer.sinks.live import LiveSink\n"
                            "instrument(app, sink=LiveSink('127.0.0.1:{viewer}'))\n"),
    "LiveSink, counting viewer": ("from main import app\nfrom lifecycle_tracer import instrument\n"
                                  "from lifecycle_tracer.sinks.live import LiveSink\n"
                                  "instrument(app, sink=LiveSink('127.0.0.1:{viewer}'))\n"),
}


async def capacity(folder: Path, args: argparse.Namespace) -> None:
    """The same burst with no TUI at all: what the server itself serves, and what the channel costs."""
    import socket
    import subprocess

    from lifecycle_tracer.server import free_port
    from lifecycle_tracer.viewer import Viewer

    print("\nno TUI (uvicorn CLI on the app, the same load generator):")
    for name, source in WRAPPERS.items():
        counted = [0]
        viewer = None
        if name.endswith("counting viewer"):
            def count(_: Any, counted: list[int] = counted) -> None:
                counted[0] += 1

            viewer = Viewer(count, lambda _: None, port=free_port(), tag=False)
            viewer.start()
        (folder / "wrap.py").write_text(source.format(viewer=viewer.port if viewer else free_port()), "utf-8")
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "uvicorn", "wrap:app", "--port", str(port), "--log-level",
                                   "warning"], cwd=folder)
        while server.poll() is None:  # until it serves
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        load = LoadProcess(port)
        try:
            await load.ready()
            await load.run(50, 200.0, 4, 10.0, PATH)
            before = cpu_seconds(server.pid), cpu_seconds(os.getpid())
            r = await load.run(int(args.rate * args.seconds), args.rate, 16, args.seconds + 10, PATH)
            app_cpu, here_cpu = cpu_seconds(server.pid) - before[0], cpu_seconds(os.getpid()) - before[1]
        finally:
            load.close()
            server.terminate()
            server.wait()
            if viewer is not None:
                viewer.stop()
        extra = f", {counted[0]} events reached the viewer" if viewer else ""
        # The app's CPU per response served, and (with a viewer) this process's, which is the viewer's.
        cost = f"app {app_cpu / max(r['ok'], 1) * 1e6:.0f} µs CPU a response" + (
            f", viewer {here_cpu / max(counted[0], 1) * 1e6:.1f} µs an event" if viewer else "")
        print(f"  {name:<26} {r['ok'] / r['elapsed']:>5.0f} req/s served ({r['ok']} ok{extra}); {cost}")


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "main.py").write_text(APP_SOURCE, encoding="utf-8")
        if args.capacity:
            await capacity(folder, args)
            return
        runs = []
        for _ in range(args.rounds):  # alternate, so drift in the machine falls on both alike
            for mode in args.modes:
                runs.append(await one_burst(mode, folder, args))
                print(f"  {mode}: {runs[-1]['served']:.0f} req/s served", flush=True)
        report(runs, args)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--probe-interval", type=float, default=0.05)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--capacity", action="store_true", help="the burst with no TUI: untraced, traced, channel")
    parser.add_argument("--mode", choices=("both", "in-process", "child"), default="both",
                        help="one mode only (to profile the TUI's process under one of them)")
    args = parser.parse_args()
    args.modes = ("in-process", "child") if args.mode == "both" else (args.mode,)
    if args.quick:
        args.seconds, args.rounds = 2.0, 1
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
