"""The TUI benchmarks run end to end. Their timings are measurements, not checked here."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def run_quick(script: str, timeout: float) -> list[str]:
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick"],
        capture_output=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    return proc.stdout.splitlines()


def has_line(lines: list[str], start: str, *parts: str) -> bool:
    return any(line.startswith(start) and all(p in line for p in parts) for line in lines)


def test_tui_load_benchmark_quick_run() -> None:
    lines = run_quick("tui_load.py", timeout=180)
    output = "\n".join(lines)
    assert has_line(lines, "lifecycle-tracer TUI under load: "), output
    assert has_line(lines, "  events absorbed by the UI  ", "events/s during the burst"), output
    assert has_line(lines, "  requests answered          ", "req/s achieved"), output
    assert has_line(lines, "UI keeps up with the tracer ", ": "), output
    assert has_line(lines, "  key → state ", "median", "p95"), output
    assert has_line(lines, "key-press p95 = ", "(target ≤ 100 ms): "), output
    assert has_line(lines, "  store ≤ max_requests "), output
    assert has_line(lines, "correctness: "), output
    assert has_line(lines, "memory: ", "synthetic events"), output
    assert has_line(lines, "  RSS at start of the run ", "MB"), output
    assert has_line(lines, "RSS growth over the second half ", "(target < 10 MB): "), output


@pytest.mark.skipif(not sys.platform.startswith(("linux", "darwin")), reason="needs a POSIX pseudo-terminal")
def test_first_frame_benchmark_quick_run() -> None:
    lines = run_quick("first_frame.py", timeout=180)
    output = "\n".join(lines)
    assert has_line(lines, "lifecycle-tracer first frame: "), output
    assert has_line(lines, "first frame: median ", "min", "max"), output
    assert has_line(lines, "quits on q: PASS"), output
    assert has_line(lines, "first frame median = ", "(target ≤ 1.5 s): "), output
