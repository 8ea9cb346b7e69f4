"""The overhead benchmark runs end to end. Its timings are a measurement, not checked here."""

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "overhead.py"


def test_overhead_benchmark_quick_run() -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        timeout=180,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    lines = proc.stdout.splitlines()
    assert any(line.startswith("tracer events per request: GET ") for line in lines), output
    assert any(
        line.startswith("traced/untraced = ") and "(target ≤ 1.50×): " in line for line in lines
    ), output
    assert any(line.startswith("traced vs FastAPI telemetry: ") for line in lines), output
