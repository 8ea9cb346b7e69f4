"""The overhead benchmarks run end to end. Their timings are measurements, never checked here."""

import os
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def run(script: str, *args: str, timeout: float) -> list[str]:
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.splitlines()


def has(lines: list[str], start: str, *parts: str) -> bool:
    return any(line.startswith(start) and all(p in line for p in parts) for line in lines)


def test_overhead_benchmark_quick_run() -> None:
    lines = run("overhead.py", "--quick", timeout=180)
    output = "\n".join(lines)
    assert has(lines, "Python "), output
    assert has(lines, "FastAPI "), output
    assert has(lines, "tracer events per request: GET "), output
    for variant in ("untraced", "traced (null sink)", "traced (Recorder)"):
        assert has(lines, variant + " ", "×"), output
    assert has(lines, "traced (Recorder)/untraced = ", "(target ≤ 1.25×): "), output
    assert has(lines, "traced (null sink)/untraced = ", "(target ≤ 1.25×): "), output
    assert has(lines, "traced vs FastAPI telemetry: "), output
    assert has(lines, "garbage collection, collector on, "), output


def test_throughput_benchmark_quick_run_with_python_load() -> None:
    lines = run("throughput.py", "--quick", "--load", "python", timeout=180)
    output = "\n".join(lines)
    assert has(lines, "round 1 ", "untraced: ", "req/s"), output
    assert has(lines, "round 1 ", "traced (Recorder): ", "events kept"), output
    assert has(lines, "traced (Recorder)/untraced req/s = ", "(target ≥ 0.85×): "), output


def test_live_overhead_benchmark_quick_run_counts_every_event_sent_and_its_cpu() -> None:
    lines = run("live_overhead.py", "--quick", timeout=180)
    output = "\n".join(lines)
    rows = {name: line for line in lines for name in ("traced (null sink)", "LiveSink, no viewer", "LiveSink, viewer")
            if line.startswith(name + " ")}
    assert len(rows) == 3, output
    for line in rows.values():  # latency and its ratio, CPU and its ratio, the sink thread's CPU
        assert line.count("×") == 2 and len(line.split()) >= 7, output
    sent = next(line for line in lines if line.startswith("viewer: "))
    assert sent.endswith(" sent, 0 dropped") and not sent.startswith("viewer: 0 "), output
    assert has(lines, "no viewer: ", "events dropped, 0 sent"), output
