"""How long does `lifecycle-tracer run lesson1` take to show its first frame?

    python benchmarks/first_frame.py            # 5 runs, about 15 s
    python benchmarks/first_frame.py --quick    # 2 runs, a smoke run

Each run starts ``python -m lifecycle_tracer run lesson1`` (the interpreter
running this script) in a fresh pseudo-terminal of 160x45 with
TERM=xterm-256color and LIFECYCLE_TRACER_HOME set to an empty temporary
folder, so it opens the TUI exactly as it would in a terminal. The terminal
output is read as it comes; with escape sequences removed, the run records:

- alt screen: the TUI switched to the alternate screen (Textual has started);
- first frame: the first output containing the lesson's title, "Hello
  lifecycle" (the header and the lesson pane), i.e. the first frame drawn;
- server ready: the subtitle "app served at http://127.0.0.1:..." has been
  drawn, i.e. the lesson's uvicorn is up and Enter would fire the request.

Times are wall clock from just before the process is spawned, so they include
the interpreter's start-up and every import. Then ``q`` is typed and the child
must exit within --exit-timeout seconds (it is killed otherwise, and the run
counts as a failure). Runs are sequential; the first one may pay for cold
caches and is reported like the others.

Target (2 cores): first frame within 1.5 s. Exit code 0 whatever the verdict;
non-zero only on a broken setup (the TUI never drew the lesson, or would not quit).
"""

import argparse
import contextlib
import fcntl
import os
import platform
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time

TARGET_S = 1.5
ALT_SCREEN = b"\x1b[?1049h"
TITLE = b"Hello lifecycle"
SERVED = b"app served at http://127.0.0.1:"
ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1bP[^\x1b]*\x1b\\|\x1b[@-Z\\-_]")


class SetupError(Exception):
    pass


class Run:
    def __init__(self) -> None:
        self.alt_screen: float | None = None
        self.first_frame: float | None = None
        self.served: float | None = None
        self.exit_after_q: float | None = None
        self.exit_code: int | None = None
        self.killed = False
        self.output = b""


def read_available(fd: int, timeout: float) -> bytes | None:
    """Bytes the child wrote within ``timeout`` (b"" if none); None once the pty is closed."""
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return b""
    try:
        data = os.read(fd, 65536)
    except OSError:  # EIO: every copy of the child's end is closed
        return None
    return data or None


def one_run(args: argparse.Namespace, home: str) -> Run:
    run = Run()
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", args.rows, args.columns, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "LIFECYCLE_TRACER_HOME": home, "COLUMNS": str(args.columns),
           "LINES": str(args.rows)}
    for name in ("NO_COLOR", "TEXTUAL", "TEXTUAL_DRIVER", "LIFECYCLE_TRACER_TUI", "LIFECYCLE_TRACER_LESSONS"):
        env.pop(name, None)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lifecycle_tracer", "run", "lesson1"],
        stdin=slave, stdout=slave, stderr=slave, env=env, cwd=home, start_new_session=True, close_fds=True,
    )
    os.close(slave)
    seen = b""  # the output so far, escape sequences removed
    try:
        deadline = start + args.timeout
        while time.perf_counter() < deadline and run.served is None:
            data = read_available(master, 0.05)
            now = time.perf_counter() - start
            if data is None:
                break
            if not data:
                continue
            run.output += data
            if run.alt_screen is None and ALT_SCREEN in run.output:
                run.alt_screen = now
            seen = ESCAPES.sub(b"", run.output)
            if run.first_frame is None and TITLE in seen:
                run.first_frame = now
            if run.served is None and SERVED in seen:
                run.served = now
        if run.first_frame is not None:
            time.sleep(args.settle)  # let the TUI finish drawing before it is asked to quit
        typed = time.perf_counter()
        with contextlib.suppress(OSError):  # the child may already be gone
            os.write(master, b"q")
        exit_deadline = typed + args.exit_timeout
        while proc.poll() is None and time.perf_counter() < exit_deadline:
            data = read_available(master, 0.05)  # keep draining, so the child never blocks on a full pty
            if data:
                run.output += data
        if proc.poll() is None:
            run.killed = True
        else:
            run.exit_after_q = time.perf_counter() - typed
    finally:
        if proc.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)  # its own session: the child and anything it started
                except ProcessLookupError:
                    break
                try:
                    proc.wait(3)
                    break
                except subprocess.TimeoutExpired:
                    continue
        run.exit_code = proc.wait()
        os.close(master)
    return run


def fmt(t: float | None) -> str:
    return f"{t:.3f} s" if t is not None else "never"


def main(args: argparse.Namespace) -> int:
    print(
        f"lifecycle-tracer first frame: `{os.path.basename(sys.executable)} -m lifecycle_tracer run lesson1` in a "
        f"{args.columns}x{args.rows} pty (TERM=xterm-256color), {args.runs} runs, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"{'run':>4}{'alt screen':>13}{'first frame':>14}{'server ready':>15}{'exit after q':>15}  exit code")
    runs = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="lifecycle-tracer-home-") as home:
            run = one_run(args, home)
        runs.append(run)
        code = f"{run.exit_code}" + (" (killed: did not quit)" if run.killed else "")
        print(f"{i + 1:>4}{fmt(run.alt_screen):>13}{fmt(run.first_frame):>14}{fmt(run.served):>15}"
              f"{fmt(run.exit_after_q):>15}  {code}", flush=True)
        if run.first_frame is None:
            tail = ESCAPES.sub(b"", run.output)[-600:].decode("utf-8", "replace")
            raise SetupError(f"run {i + 1}: the TUI never drew {TITLE.decode()!r}; its last output:\n{tail}")

    frames = [r.first_frame for r in runs if r.first_frame is not None]
    served = [r.served for r in runs if r.served is not None]
    med = statistics.median(frames)
    print(f"\nfirst frame: median {med:.3f} s, min {min(frames):.3f} s, max {max(frames):.3f} s over {len(frames)} runs")
    if served:
        print(f"server ready: median {statistics.median(served):.3f} s, min {min(served):.3f} s, "
              f"max {max(served):.3f} s")
    quit_ok = all(not r.killed and r.exit_code == 0 for r in runs)
    print(f"quits on q: {'PASS' if quit_ok else 'FAIL'} (exit codes {[r.exit_code for r in runs]})")
    print(f"first frame median = {med:.3f} s (target ≤ {TARGET_S} s): {'PASS' if med <= TARGET_S else 'FAIL'}")
    print(f"first frame slowest = {max(frames):.3f} s (target ≤ {TARGET_S} s): "
          f"{'PASS' if max(frames) <= TARGET_S else 'FAIL'}")
    if not quit_ok:
        raise SetupError("the TUI did not exit cleanly after q")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="launches (default 5)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the server-ready frame")
    parser.add_argument("--exit-timeout", type=float, default=10.0, help="seconds to wait for exit after q")
    parser.add_argument("--settle", type=float, default=0.3, help="pause after the first frame before q (s)")
    parser.add_argument("--columns", type=int, default=160)
    parser.add_argument("--rows", type=int, default=45)
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 launches")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = 2
    if args.runs < 1 or args.timeout <= 0 or args.exit_timeout <= 0:
        parser.error("--runs must be >= 1 and the timeouts > 0")
    return args


if __name__ == "__main__":
    if not sys.platform.startswith(("linux", "darwin")):
        sys.exit("error: this benchmark needs a POSIX pseudo-terminal")
    try:
        sys.exit(main(parse_args()))
    except SetupError as exc:
        sys.exit(f"error: {exc}")
