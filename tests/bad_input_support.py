"""What tests/test_bad_input.py runs the command against: small apps and lessons, each wrong in
one way, the folder they live in, and the command itself in a subprocess."""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

APPS = {
    "main.py": """
        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/ping")
        async def ping() -> str:
            return "pong"
    """,
    "broken.py": "raise RuntimeError('boom at import')\n",
    "notapp.py": "app = 42\n",
    "exits.py": "import sys\n\nsys.exit(3)\n",
    "interrupts.py": "raise KeyboardInterrupt\n",
    "syntaxerr.py": "def broken(:\n",
    "lifefail.py": """
        from contextlib import asynccontextmanager

        from fastapi import FastAPI


        @asynccontextmanager
        async def lifespan(app):
            raise RuntimeError("db down")
            yield


        app = FastAPI(lifespan=lifespan)
    """,
}

GOOD_LESSON = textwrap.dedent("""
    from fastapi import FastAPI
    from lifecycle_tracer.course import Lesson, Request, Step, status

    {extra}
    app = FastAPI({lifespan})

    @app.get("/")
    async def root() -> str:
        return "hi"


    LESSON = Lesson(
        id="lesson{n}", title="A tiny lesson", goals=[], topics=[],
        steps=[
            Step(title="right", narration="ok", request=Request("GET", "/"), checks=[status(200)]),
            {second}
        ],
    )
""")
FAILING_LIFESPAN = """
from contextlib import asynccontextmanager


@asynccontextmanager
async def lifespan(app):
    raise RuntimeError("db down")
    yield
"""
# Runs, and every check holds, but step 2 fires a request and checks nothing: a problem for `check`.
UNCHECKED_STEP = 'Step(title="unchecked", narration="no checks", request=Request("GET", "/")),'

LESSON_DIRS = {
    "exits": {"lesson01_exits.py": "import sys\n\nsys.exit(0)\n"},
    "syntax": {"lesson01_syntax.py": "x = 1\ndef broken(:\n"},
    "lifespan": {"lesson01_lifespan.py": GOOD_LESSON.format(n=1, lifespan="lifespan=lifespan", extra=FAILING_LIFESPAN,
                                                            second="")},
    "mixed": {
        "lesson01_exits.py": "import sys\n\nsys.exit(0)\n",
        "lesson02_unchecked.py": GOOD_LESSON.format(n=2, lifespan="", extra="", second=UNCHECKED_STEP),
        "lesson03_good.py": GOOD_LESSON.format(n=3, lifespan="", extra="", second=""),
    },
}


@dataclass
class Place:
    tmp: Path
    apps: Path
    lessons: Path
    busy: int
    unwritable: Path
    home: Path

    def fill(self, text: str) -> str:
        return text.format(tmp=self.tmp, apps=self.apps, lessons=self.lessons, busy=self.busy,
                           unwritable=self.unwritable)

    def env(self, extra: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("LIFECYCLE_TRACER_LESSONS", "PYTHONIOENCODING")}
        env.update({"LIFECYCLE_TRACER_HOME": str(self.home), "COLUMNS": "200", "PYTHONUNBUFFERED": "1"})
        env.update({k: self.fill(v) for k, v in extra.items()})
        return env


def write(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        (folder / name).write_text(textwrap.dedent(source), encoding="utf-8")


def unwritable(tmp: Path) -> Path:
    """A path whose open() fails with PermissionError: a read-only folder, or for root (who ignores
    modes) a file in sysfs."""
    folder = tmp / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    for candidate in (folder / "t.jsonl", Path("/sys/lifecycle-tracer-test.jsonl")):
        try:
            candidate.open("a").close()
        except PermissionError:
            return candidate
        candidate.unlink(missing_ok=True)
    pytest.fail("found no path this user cannot write to")


def command(place: Place, args: tuple[str, ...] | list[str], env: dict[str, str] | None = None,
            stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    args = [place.fill(a) for a in args]
    io = {"input": stdin.decode()} if stdin is not None else {"stdin": subprocess.DEVNULL}
    return subprocess.run([sys.executable, "-m", "lifecycle_tracer", *args], capture_output=True, timeout=60,
                          text=True, env=place.env(env or {}), cwd=place.tmp, **io)


def ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


class Served:
    """``trace`` started with Popen; ``url()`` waits for the line that names where it serves."""

    def __init__(self, place: Place, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "lifecycle_tracer", *(place.fill(a) for a in args)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     text=True, env=place.env({}), cwd=place.tmp)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def url(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            assert line is not None, f"trace ended before it served: {''.join(self.seen)}{self.proc.stderr.read()}"
            self.seen.append(line)
            if found := re.search(r"http://\S+", line):
                return found.group(0)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
