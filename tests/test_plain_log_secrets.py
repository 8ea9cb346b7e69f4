"""trace --plain: uvicorn's own traceback of an app's exception hides the request's secrets, as the events do."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

APP = '''
from fastapi import FastAPI, Request

app = FastAPI()


@app.get("/leak")
async def leak(request: Request) -> dict:
    raise RuntimeError(f"bad auth {request.headers['authorization']}")


@app.get("/upstream")
async def upstream() -> dict:
    raise RuntimeError("upstream returned 401; sent Authorization: Bearer UPSTREAMSECRET300")
'''


def test_the_servers_traceback_in_plain_mode_masks_the_requests_secret(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(APP, encoding="utf-8")
    env = {**os.environ, "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.Popen([sys.executable, "-m", "lifecycle_tracer", "trace", "main:app", "--plain", "--port", "0"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    secret = "EXCSECRET999"
    try:
        url = None
        for _ in range(3000):
            if match := re.search(r"at (http://\S+) ", "".join(lines)):
                url = match.group(1)
                break
            time.sleep(0.01)  # polling the output, not waiting out a race
        assert url, "".join(lines)
        response = httpx.get(url + "/leak", headers={"Authorization": f"Bearer {secret}", "Connection": "close"})
        assert response.status_code == 500
        # A credential the request never sent, only the app's message holds: hidden by name alone.
        assert httpx.get(url + "/upstream", headers={"Connection": "close"}).status_code == 500
        for _ in range(3000):
            if "RuntimeError: upstream returned 401" in "".join(lines) and "".join(lines).count("■ request") >= 2:
                break
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
        reader.join(10)
        proc.stdout.close()  # type: ignore[union-attr]
    text = "".join(lines)
    assert "Exception in ASGI application" in text and "RuntimeError" in text  # the traceback is still there
    assert secret not in text, text[-3000:]
    assert "UPSTREAMSECRET300" not in text and "upstream returned 401" in text, text[-3000:]
