"""``trace --plain`` serves the app in a child process and prints each request whole, as ``view --plain`` does."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

APP = '''import asyncio
from fastapi import FastAPI
app = FastAPI()

@app.get("/slow/{n}")
async def slow(n: int):
    await asyncio.sleep(0.05)  # long enough for the requests to overlap on the server
    return {"n": n}
'''
RULE = re.compile(r"─ (p\d+\.\S+): (.+?) ─")


def trace_plain(folder: Path, source: str) -> subprocess.Popen[str]:
    """``trace main:app --plain`` on ``source`` written as ``folder``/main.py, its output piped."""
    (folder / "main.py").write_text(source, encoding="utf-8")
    env = {**os.environ, "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"}
    return subprocess.Popen([sys.executable, "-m", "lifecycle_tracer", "trace", "main:app", "--plain", "--port", "0"],
                            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_requests_served_at_once_are_printed_whole_and_the_server_line_comes_first(tmp_path: Path) -> None:
    proc = trace_plain(tmp_path, APP)
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(iter(proc.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        for _ in range(3000):
            if out:
                break
            time.sleep(0.01)  # polling the output, not waiting out a race
        assert out and (url := re.search(r"at (http://\S+) ", out[0])), out  # before any trace
        base = url.group(1)

        async def fire() -> list[int]:
            async with httpx.AsyncClient(base_url=base) as client:
                answers = await asyncio.gather(*(client.get(f"/slow/{n}") for n in range(8)))
            return [a.json()["n"] for a in answers]

        assert sorted(asyncio.run(fire())) == list(range(8))
        for _ in range(3000):
            if sum(1 for line in out if "GET /slow/" in line and "→ 200" in line) == 8:
                break
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
        reader.join(10)
        err = proc.stderr.read()  # type: ignore[union-attr]
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    blocks: list[list[str]] = []
    for line in out[1:]:
        if RULE.search(line):
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
    served = [b for b in blocks if "GET /slow/" in b[0]]
    assert len(served) == 8, "".join(out)
    for block in served:  # whole: one request's start and end, nothing of another in between
        n = re.search(r"GET /slow/(\d+)", block[0]).group(1)  # type: ignore[union-attr]
        text = "".join(block)
        assert text.count("▶ request") == 1 and text.count("■ request") == 1, text
        assert re.findall(r"received GET /slow/(\d+)", text) == [n], text
    assert " connected." in err  # the channel's notes are on stderr: stdout is the trace


LOGGING_APP = '''import logging
import sys
import warnings
from fastapi import FastAPI, Header
logging.basicConfig(level=logging.INFO)  # at import, as apps do: the handler keeps the stream it finds
log = logging.getLogger("myapp")
app = FastAPI()

@app.get("/log")
async def logs(x_api_key: str = Header()):
    log.warning("user key is %s", x_api_key)
    print("printed", x_api_key, "and token=" + "PRINTED-PAIR-93c1")
    warnings.warn(f"deprecated key {x_api_key}")
    sys.stdout.buffer.write(b"BYTES-STILL-WRITE\\n")  # what an untraced app can do with its streams, it still can
    sys.stdout.flush()
    return {"ok": True}
'''


def test_the_apps_own_log_print_and_warning_lines_are_masked(tmp_path: Path) -> None:
    proc = trace_plain(tmp_path, LOGGING_APP)
    out: list[str] = []
    err: list[str] = []
    readers = [threading.Thread(target=lambda s=s, into=into: into.extend(iter(s.readline, "")), daemon=True)
               for s, into in ((proc.stdout, out), (proc.stderr, err))]
    for reader in readers:
        reader.start()
    secret = "PLANTED-KEY-5f0e2b7c9d"
    try:
        for _ in range(3000):
            if out:
                break
            time.sleep(0.01)  # polling the output, not waiting out a race
        assert out and (url := re.search(r"at (http://\S+) ", out[0])), out
        assert httpx.get(url.group(1) + "/log", headers={"X-API-Key": secret}).json() == {"ok": True}
        for _ in range(3000):
            if sum("deprecated key" in line for line in err) and any("■ request" in line for line in out):
                break
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
        for reader in readers:
            reader.join(10)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    said = "".join(err)
    for line in ("WARNING:myapp:user key is [redacted]", "printed [redacted] and token=[redacted]",
                 "deprecated key [redacted]"):
        assert line in said, said
    assert secret not in said + "".join(out) and "PRINTED-PAIR-93c1" not in said
    assert "BYTES-STILL-WRITE" in said and "Traceback" not in said
