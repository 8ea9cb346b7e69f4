"""``trace --reload``'s child: uvicorn's reloader on the user's app, streaming to a viewer in this process.

The app runs in a child process (``uvicorn --factory --reload`` on
``traced_factory.app_factory``), which restarts it on every save, as
``uvicorn --reload`` would; the parent keeps the viewer (``viewer.py``), so
what it shows, and its history, outlive every restart. Each restart is a new
process, so its requests are tagged with a new pid and never mix with the
last one's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from .traced_factory import APP_DIR, REDACT, TARGET


def child_command(*, host: str, port: int, app_dir: Path) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "lifecycle_tracer.traced_factory:app_factory", "--factory",
            "--reload", "--reload-dir", str(app_dir), "--host", host, "--port", str(port), "--log-level", "warning"]


def start_child(target: str, *, host: str, port: int, app_dir: Path, viewer_port: int, show_secrets: bool,
                on_line: Any) -> subprocess.Popen[str]:
    """Start uvicorn's reloader on the app; each line it writes goes to ``on_line`` (from a thread)."""
    env = {**os.environ, TARGET: target, APP_DIR: str(app_dir), REDACT: "0" if show_secrets else "1",
           "LIFECYCLE_TRACER_VIEWER": f"127.0.0.1:{viewer_port}", "PYTHONUNBUFFERED": "1"}
    env.pop("LIFECYCLE_TRACER_TOKEN", None)  # the viewer is on loopback: no token
    proc = subprocess.Popen(child_command(host=host, port=port, app_dir=app_dir), cwd=app_dir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            on_line(line.rstrip("\n"))

    threading.Thread(target=pump, name="lifecycle-tracer reloader output", daemon=True).start()
    return proc


def stop_child(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()  # uvicorn's reloader stops its worker and exits on SIGTERM
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    if proc.stdout is not None:
        proc.stdout.close()
