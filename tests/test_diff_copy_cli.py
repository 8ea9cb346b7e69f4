"""``diff`` and ``copy`` on a real recording, through the real command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

LESSON_RECORDING: Path | None = None


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "160", "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "lifecycle_tracer", *args], capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Lesson 4 recorded for real: r1 is a valid PUT, r2 a POST that fails validation."""
    path = tmp_path_factory.mktemp("rec") / "l4.jsonl"
    done = cli("run", "lesson4", "--plain", "--record", str(path))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return path


def ids_and_first_lines(path: Path) -> dict[str, dict]:
    starts = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        ev = json.loads(line)
        if ev["stage"] == "request" and ev["kind"] == "start":
            starts[ev["request_id"]] = ev["detail"]
    return starts


def test_diff_marks_what_differs_between_a_200_and_a_422(recording: Path) -> None:
    done = cli("diff", str(recording), "r1", "r2")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    status = next(line for line in out.splitlines() if "status" in line)
    assert status.lstrip().startswith("≠") and "200" in status and "422" in status
    assert "(marked)" not in out and "row(s) differ" in out
    assert "Field required" in out  # r2's validation error, from its own events

    same = cli("diff", str(recording), "r1", "r1")
    assert same.returncode == 0 and "same stages with the same results" in same.stdout
    assert "≠" not in same.stdout


def test_copy_prints_the_recorded_request_and_unknown_ids_get_one_sentence(recording: Path) -> None:
    starts = ids_and_first_lines(recording)
    done = cli("copy", str(recording), "r2")
    assert done.returncode == 0, done.stderr
    command = done.stdout.strip().splitlines()[-1]
    assert command.startswith("curl -g -X POST ") and starts["r2"]["path"] in command
    snippet = cli("copy", str(recording), "r2", "--as", "httpx", "--base", "http://127.0.0.1:9")
    assert snippet.returncode == 0 and "httpx.request('POST', 'http://127.0.0.1:9/items'" in snippet.stdout
    compile(snippet.stdout, "snippet", "exec")  # it is Python that runs

    for args, words in ((("copy", str(recording), "r99"), "There is no request 'r99'"),
                        (("diff", str(recording), "r1", "nope"), "There is no request 'nope'"),
                        (("copy", str(recording), "r1", "--as", "wget"), "--as takes curl or httpx"),
                        (("copy", str(recording), "startup1"), "not an HTTP request")):
        bad = cli(*args)
        assert bad.returncode == 2 and words in bad.stderr + bad.stdout, (args, bad.stderr)
        assert "Traceback" not in bad.stderr
