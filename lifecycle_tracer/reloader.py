"""``trace``'s child: uvicorn on the user's app, streaming to a viewer in this process.

The app runs in a child process (``uvicorn --factory`` on
``traced_factory.app_factory``), so the TUI drawing in this process never
takes the server's interpreter lock. With ``--reload`` it is uvicorn's
reloader, which restarts the app on every save, as ``uvicorn --reload``
would; the parent keeps the viewer (``viewer.py``), so what it shows, and
its history, outlive every restart. Each restart is a new process, so its
requests are tagged with a new pid and never mix with the last one's.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .traced_factory import APP_DIR, REDACT, STEP, TARGET, VIEWER


def child_command(*, host: str, port: int, app_dir: Path, reload: bool = True) -> list[str]:
    watch = ["--reload", "--reload-dir", str(app_dir)] if reload else []
    return [sys.executable, "-m", "uvicorn", "lifecycle_tracer.traced_factory:app_factory", "--factory", *watch,
            "--host", host, "--port", str(port), "--log-level", "warning"]


def start_child(target: str, *, host: str, port: int, app_dir: Path, viewer_port: int, show_secrets: bool,
                on_line: Any, reload: bool = True, steps: bool = False) -> subprocess.Popen[str]:
    """Start uvicorn (its reloader, with ``reload``) on the app; each line it writes goes to ``on_line``.

    ``steps``: the viewer may hold and release the app's requests (step mode over the channel).
    """
    # The viewer's address goes in a variable of trace's own, not LIFECYCLE_TRACER_VIEWER: an app that
    # already streams to a viewer of its own (``instrument(app, sink=LiveSink())`` in its module) keeps
    # sending there, rather than sending every event a second time to this one under the same pid.
    env = {**os.environ, TARGET: target, APP_DIR: str(app_dir), REDACT: "0" if show_secrets else "1",
           VIEWER: f"127.0.0.1:{viewer_port}", "PYTHONUNBUFFERED": "1", STEP: "1" if steps else "0"}
    proc = subprocess.Popen(child_command(host=host, port=port, app_dir=app_dir, reload=reload), cwd=app_dir, env=env,
                            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            on_line(line.rstrip("\n"))

    threading.Thread(target=pump, name="lifecycle-tracer reloader output", daemon=True).start()
    return proc


def _die_with_parent() -> None:
    """In the child, before exec: if the TUI's process dies (even SIGKILL), the app is stopped, not orphaned."""
    import contextlib
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


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


def wait_serving(proc: subprocess.Popen[str], host: str, port: int, output: list[str], timeout: float = 60.0) -> None:
    """Return once the child accepts connections; ``ServerStartError`` in one sentence if it stopped first."""
    from .server import ServerStartError
    from .visible import visible

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            proc.wait()
            time.sleep(0.05)  # let the output thread hand over the child's last lines
            raise ServerStartError(visible(startup_failure(output)))
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise ServerStartError(f"The app did not start serving on {host}:{port} within {timeout:.0f} s.")


def startup_failure(output: list[str]) -> str:
    """Why the child stopped before serving, from what it printed: the exception's own line."""
    ours = [line for line in output if line.startswith("lifecycle-tracer: ")]
    if ours:
        return ours[-1].removeprefix("lifecycle-tracer: ").split(" Fix it and save")[0]
    said = [line for line in output if line.strip() and not line.startswith((" ", "ERROR:", "WARNING:", "INFO:"))]
    error = said[-1].strip() if said else None
    if any("Application startup failed" in line for line in output):
        return (f"The app's lifespan startup failed: {error or 'see the log above'}; "
                "fix the code before `yield` in its lifespan.")
    return f"uvicorn could not start the app: {error or 'it exited during startup'}."
