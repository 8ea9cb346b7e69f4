"""How many requests a second does a real uvicorn serve, traced and untraced?

    python benchmarks/throughput.py                 # 3 rounds x 5 s per variant, about 40 s; needs wrk
    python benchmarks/throughput.py --quick         # 1 round x 1 s, a smoke run
    python benchmarks/throughput.py --load python   # no wrk: a small Python load generator instead
    python benchmarks/throughput.py --with-null-sink   # a third server: the tracer without keeping events

Two servers, each a real ``python -m uvicorn`` subprocess serving the app of
``bench_app.py`` on 127.0.0.1 and a free port, one worker, access log off,
log level warning (uvicorn picks its HTTP parser and event loop as usual;
both are printed):

- untraced: ``build_app()`` as it is;
- traced: the same app after ``instrument(app, sink=Recorder(max_events=100_000))``:
  every event is built and kept, and the bound keeps memory flat;
- with ``--with-null-sink``, also traced (null sink): a sink that counts
  each event and drops it, to split what the tracer costs from what keeping
  its events costs (mostly garbage collection of the kept events).

Each also answers ``GET /_bench/stats`` (added after the benchmark's routes,
so it is never tried for them) with what its sink holds or saw; the run uses
it to check that a traced server really traced the load.

Load: ``wrk -t1 -c16 -dNs`` (16 keep-alive connections from one thread) with
a Lua script that sends the three requests of ``bench_app.REQUESTS`` in turn
and counts every response whose status is not 2xx; wrk's own socket errors
and "Non-2xx or 3xx" count are checked too. Any of them fails the run: a
benchmark of errors is worthless. ``--load python`` replaces wrk with a
bounded asyncio load generator in a subprocess (raw HTTP/1.1 over 16
keep-alive connections, the same requests, every status checked); it is
heavier on the CPU than wrk, so prefer wrk for numbers, the Python one for a
smoke run or a machine without wrk. Every run is bounded in time.

What is measured: after a warm-up run on each server (not counted), the
variants run in rounds, in a rotating order (with two, they alternate which
goes first), one run each per round lasting ``--seconds``; only one server is
under load at a time, the others idle. For each run: requests per second
as the load generator saw them, the server process's CPU time per request
(from /proc, user + system: what each request cost the server, whatever the
load generator took from the shared cores), and wrk's latency percentiles.
Reported: the median of each variant's runs and the ratio of the medians,
traced/untraced. Not measured: server start-up, the checks, /_bench/stats.
On a 2-core machine the load generator and the server share the cores, so
absolute req/s are low; the ratio is what this benchmark is for.

Target (2 cores): traced (Recorder)/untraced req/s >= 0.85. Exit code 0 whatever the
verdict; 2 if wrk is needed and missing; 1 on a broken setup (a server that
does not start, wrong answers, errors under load, no events traced).
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from bench_app import REQUESTS, BenchRequest, build_app, machine_info, version
from fastapi import FastAPI

from lifecycle_tracer import Recorder, instrument

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"  # loopback only
TARGET = 0.85
MAX_EVENTS = 100_000
CONNECTIONS = 16
STATS_PATH = "/_bench/stats"


# --- the apps uvicorn serves (``--factory throughput:make_..._app``) ----------------------------


class CountingSink:
    """Drops every event after counting it (only with --with-null-sink)."""

    def __init__(self) -> None:
        self.seen = 0

    def emit(self, event: Any) -> None:
        self.seen += 1


def _add_stats(app: FastAPI, sink: Recorder | CountingSink | None) -> FastAPI:
    @app.get(STATS_PATH)
    async def bench_stats() -> dict[str, Any]:
        if isinstance(sink, Recorder):
            return {"traced": True, "events_kept": len(sink.events), "requests_traced": sink.completed_count()}
        if isinstance(sink, CountingSink):
            return {"traced": True, "events_seen": sink.seen}
        return {"traced": False}

    return app


def make_untraced_app() -> FastAPI:
    return _add_stats(build_app(), None)


def make_traced_app() -> FastAPI:
    recorder = Recorder(max_events=MAX_EVENTS)
    app = _add_stats(build_app(), recorder)
    instrument(app, sink=recorder)
    return app


def make_null_sink_app() -> FastAPI:
    sink = CountingSink()
    app = _add_stats(build_app(), sink)
    instrument(app, sink=sink)
    return app


# --- servers -----------------------------------------------------------------------------------


class SetupError(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """One ``python -m uvicorn`` subprocess on 127.0.0.1."""

    def __init__(self, name: str, factory: str) -> None:
        self.name, self.port = name, free_port()
        self.log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 (closed in stop())
        cmd = [
            sys.executable, "-m", "uvicorn", f"throughput:{factory}", "--factory", "--app-dir", str(HERE),
            "--host", HOST, "--port", str(self.port), "--workers", "1", "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        self.proc = subprocess.Popen(  # cwd: `python -m` puts it first on sys.path
            cmd, cwd=HERE, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.client = httpx.Client(base_url=f"http://{HOST}:{self.port}", trust_env=False, timeout=5)
        self.rps: list[float] = []
        self.cpu_us: list[float] = []
        self.p50_ms: list[float] = []
        self.p99_ms: list[float] = []
        self.busy: list[float] = []  # the server's CPU time over the run's wall time (1.0 = one core)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SetupError(f"{self.name} server exited with {self.proc.returncode}:\n{self.output()}")
            try:
                self.client.get(STATS_PATH).raise_for_status()
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise SetupError(f"{self.name} server not ready after {timeout:.0f} s:\n{self.output()}")

    def check(self) -> None:
        """Each request of the mix gets its expected status and body."""
        for req in REQUESTS:
            r = self.client.request(
                req.method, req.path, params=req.query or None, content=req.body or None,
                headers={"content-type": "application/json"} if req.body else None,
            )  # fmt: skip
            if r.status_code != req.status or r.json() != req.answer:
                raise SetupError(f"{self.name}: {req.method} {req.path} answered {r.status_code} {r.text!r}")

    def stats(self) -> dict[str, Any]:
        return self.client.get(STATS_PATH).json()

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (Linux /proc)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return float("nan")

    def stop(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


# --- load generators: each returns {"requests", "seconds", "bad", "p50_ms", "p99_ms"} -------------

WRK_SCRIPT = """
-- Sends the benchmark's requests in turn; counts responses that are not 2xx.
local threads = {}
function setup(thread) table.insert(threads, thread) end
local reqs, i = {}, 0
function init(args)
  unexpected = 0
%(requests)s
end
function request() i = i %% #reqs + 1; return reqs[i] end
function response(status, headers, body)
  if status < 200 or status > 299 then unexpected = unexpected + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("unexpected") end
  local e = summary.errors
  io.write(string.format(
    "BENCH-JSON {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"unexpected\\": %%d, \\"connect\\": %%d, " ..
    "\\"read\\": %%d, \\"write\\": %%d, \\"status\\": %%d, \\"timeout\\": %%d, \\"p50_us\\": %%d, \\"p99_us\\": %%d}\\n",
    summary.requests, summary.duration, bad, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def wrk_script() -> str:
    lines = []
    for req in REQUESTS:
        target = req.path + (f"?{req.query}" if req.query else "")
        if req.body:
            body = req.body.decode().replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'  table.insert(reqs, wrk.format("{req.method}", "{target}", {{["Content-Type"] = "application/json"}}, "{body}"))')
        else:
            lines.append(f'  table.insert(reqs, wrk.format("{req.method}", "{target}"))')
    return WRK_SCRIPT % {"requests": "\n".join(lines)}


def run_wrk(port: int, seconds: float, script: str) -> dict[str, Any]:
    duration = max(1, round(seconds))
    cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{duration}s", "--timeout", "5s", "-s", script, f"http://{HOST}:{port}/"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30)
    except subprocess.TimeoutExpired as exc:
        raise SetupError(f"wrk did not finish within {duration + 30} s") from exc
    found = re.search(r"^BENCH-JSON (\{.*\})$", proc.stdout, re.MULTILINE)
    if proc.returncode != 0 or found is None:
        raise SetupError(f"wrk failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    res = json.loads(found.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", proc.stdout)
    socket_errors = res["connect"] + res["read"] + res["write"] + res["timeout"]
    return {
        "requests": res["requests"],
        "seconds": res["duration_us"] / 1e6,
        # three counts of the same failures (ours, wrk's summary, wrk's printout): any one non-zero fails the run
        "bad": max(res["unexpected"], res["status"], int(non2xx.group(1)) if non2xx else 0) + socket_errors,
        "p50_ms": res["p50_us"] / 1000,
        "p99_ms": res["p99_us"] / 1000,
    }


def raw_request(req: BenchRequest) -> bytes:
    target = req.path + (f"?{req.query}" if req.query else "")
    head = f"{req.method} {target} HTTP/1.1\r\nHost: {HOST}\r\nUser-Agent: bench\r\n"
    if req.body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(req.body)}\r\n"
    return head.encode() + b"\r\n" + req.body


async def python_load(port: int, seconds: float, connections: int) -> dict[str, Any]:
    """Closed-loop load: each connection sends the requests in turn until the deadline."""
    raw = [raw_request(r) for r in REQUESTS]
    latencies: list[float] = []
    counts = {"requests": 0, "bad": 0}

    async def connection(offset: int, deadline: float) -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            n = offset
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                writer.write(raw[n % len(raw)])
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - t0)
                counts["requests"] += 1
                counts["bad"] += not 200 <= status <= 299
                n += 1
        finally:
            writer.close()

    start = time.perf_counter()
    async with asyncio.timeout(seconds + 10):  # bounded even if the server stops answering
        await asyncio.gather(*(connection(i, start + seconds) for i in range(connections)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        **counts,
        "seconds": elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000 if latencies else float("nan"),
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000 if latencies else float("nan"),
    }


def run_python_load(port: int, seconds: float) -> dict[str, Any]:
    """The Python load generator in its own process, so it does not share the GIL with anything."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--loadgen-child", str(port), str(seconds)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
    except subprocess.TimeoutExpired as exc:
        raise SetupError(f"the Python load generator did not finish within {seconds + 30:.0f} s") from exc
    if proc.returncode != 0:
        raise SetupError(f"the Python load generator failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- the benchmark -----------------------------------------------------------------------------


def measure(server: Server, load: Any, seconds: float, record: bool) -> str:
    before, cpu0 = server.stats(), server.cpu_seconds()
    res = load(server.port, seconds)
    cpu1, after = server.cpu_seconds(), server.stats()
    if res["bad"] or not res["requests"]:
        raise SetupError(f"{server.name}: {res['bad']} errors or non-2xx responses in {res['requests']} requests")
    traced = ""
    if "requests_traced" in after:  # a Recorder
        served = after["requests_traced"] - before["requests_traced"]
        if served < res["requests"]:
            raise SetupError(f"{server.name}: the tracer saw {served} requests of the {res['requests']} served")
        traced = f", {after['events_kept']:,} events kept, RSS {server.rss_mb():.0f} MB"
    elif "events_seen" in after:  # a counting sink
        seen = after["events_seen"] - before["events_seen"]
        if seen < res["requests"]:
            raise SetupError(f"{server.name}: {seen} events for {res['requests']} requests")
        traced = f", {seen / res['requests']:.1f} events/req seen and dropped"
    rps = res["requests"] / res["seconds"]
    cpu_us = (cpu1 - cpu0) / res["requests"] * 1e6
    if record:
        server.rps.append(rps)
        server.cpu_us.append(cpu_us)
        server.p50_ms.append(res["p50_ms"])
        server.p99_ms.append(res["p99_ms"])
        server.busy.append((cpu1 - cpu0) / res["seconds"])
    return (
        f"{server.name}: {rps:,.0f} req/s ({res['requests']:,} in {res['seconds']:.1f} s), "
        f"server CPU {cpu_us:.0f} µs/req ({(cpu1 - cpu0) / res['seconds']:.0%} of a core), "
        f"p50 {res['p50_ms']:.1f} ms, p99 {res['p99_ms']:.1f} ms{traced}"
    )


def main(args: argparse.Namespace) -> int:
    if args.load == "wrk" and shutil.which("wrk") is None:
        print(
            "wrk is not on PATH. Install it (Debian/Ubuntu: `sudo apt-get install wrk`; macOS: `brew install wrk`),\n"
            "or run with `--load python` for the built-in (slower, CPU-heavier) Python load generator.",
            file=sys.stderr,
        )
        return 2
    script = None
    if args.load == "wrk":
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
        script.write(wrk_script())
        script.close()

    def load(port: int, seconds: float) -> dict[str, Any]:
        return run_wrk(port, seconds, script.name) if script else run_python_load(port, seconds)

    servers: list[Server] = []
    try:
        servers = [Server("untraced", "make_untraced_app"), Server("traced (Recorder)", "make_traced_app")]
        if args.with_null_sink:
            servers.append(Server("traced (null sink)", "make_null_sink_app"))
        for s in servers:
            s.wait_ready()
            s.check()
        if not servers[1].stats()["requests_traced"]:
            raise SetupError("the traced server traced nothing; is instrument() working?")
        untraced, traced = servers[:2]
        http = "httptools" if version("httptools") != "not installed" else "h11"
        loop = "uvloop" if version("uvloop") != "not installed" else "asyncio"
        generator = f"wrk -t1 -c{CONNECTIONS}" if script else f"Python asyncio, {CONNECTIONS} connections"
        print("lifecycle-tracer throughput: a real uvicorn on 127.0.0.1, load from " + generator)
        for line in machine_info():
            print(line)
        print(
            f"uvicorn {version('uvicorn')} (http: {http}, loop: {loop}), 1 worker, no access log; "
            f"traced = Recorder(max_events={MAX_EVENTS:,})"
        )
        print(
            f"{args.rounds} round(s) x {args.seconds:g} s per variant, after a {args.warmup:g} s warm-up each; "
            f"requests: " + ", ".join(r.label for r in REQUESTS) + " in turn"
        )
        for s in servers:
            print("warm-up   " + measure(s, load, args.warmup, record=False))
        for rnd in range(args.rounds):
            k = rnd % len(servers)  # a rotating order: with two servers, each goes first every other round
            for s in servers[k:] + servers[:k]:
                print(f"round {rnd + 1:<3} " + measure(s, load, args.seconds, record=True))
        for s in servers:
            said = s.output().strip()
            if said:
                print(f"note: the {s.name} server logged:\n{said}")
                if "Traceback" in said:
                    raise SetupError(f"the {s.name} server raised")
    finally:
        for s in servers:
            s.stop()
        if script:
            os.unlink(script.name)

    print(f"\n{'variant':<20}{'median req/s':>14}{'runs req/s':>28}{'server CPU µs/req':>19}{'p50 ms':>8}{'p99 ms':>8}")
    for s in servers:
        runs = " ".join(f"{x:,.0f}" for x in s.rps)
        print(
            f"{s.name:<20}{statistics.median(s.rps):>14,.0f}{runs:>28}{statistics.median(s.cpu_us):>19.0f}"
            f"{statistics.median(s.p50_ms):>8.1f}{statistics.median(s.p99_ms):>8.1f}"
        )
    busy = min(min(s.busy) for s in servers)
    if busy < 0.85:  # a saturated single-worker server uses about one core
        print(
            f"\nnote: a server got only {busy:.0%} of a core during a run (load average now "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}): something else was using the CPU, so req/s "
            "are low and noisy; server CPU µs/req is the steadier figure"
        )
    r = statistics.median(traced.rps) / statistics.median(untraced.rps)
    cpu = statistics.median(traced.cpu_us) / statistics.median(untraced.cpu_us)
    print(f"\nserver CPU per request, traced (Recorder)/untraced = {cpu:.2f}×")
    print(f"traced (Recorder)/untraced req/s = {r:.2f}× (target ≥ {TARGET:.2f}×): {'met' if r >= TARGET else 'not met'}")
    if len(servers) > 2:
        r_null = statistics.median(servers[2].rps) / statistics.median(untraced.rps)
        print(f"traced (null sink)/untraced req/s = {r_null:.2f}× (the tracer alone, events not kept)")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds (default 3)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per run (default 5; wrk rounds to whole seconds)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per server (default 2)")
    parser.add_argument("--load", choices=("wrk", "python"), default="wrk", help="load generator (default wrk)")
    parser.add_argument(
        "--with-null-sink", action="store_true",
        help="also serve the app traced into a sink that counts and drops events: the tracer's cost without keeping them",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round x 1 s, 1 s warm-up")
    parser.add_argument("--loadgen-child", nargs=2, metavar=("PORT", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.seconds, args.warmup = 1, 1.0, 1.0
    if args.rounds < 1 or not 0 < args.seconds <= 600 or not 0 < args.warmup <= 600:
        parser.error("--rounds must be >= 1, --seconds and --warmup in (0, 600]")
    return args


if __name__ == "__main__":
    cli = parse_args()
    if cli.loadgen_child:
        port, seconds = int(cli.loadgen_child[0]), float(cli.loadgen_child[1])
        print(json.dumps(asyncio.run(python_load(port, seconds, CONNECTIONS))))
        sys.exit(0)
    try:
        sys.exit(main(cli))
    except SetupError as exc:
        sys.exit(f"error: {exc}")
