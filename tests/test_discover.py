"""``trace`` with no MODULE:APP finds the app as ``fastapi dev`` does."""

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

APP = "from fastapi import FastAPI\n{name} = FastAPI()\n\n@{name}.get('/hi')\ndef hi() -> dict:\n    return {{'from': __name__}}\n"


def found(folder: Path) -> str:
    """What discover() finds in ``folder``, in a fresh interpreter (module names like main are reused)."""
    code = "import sys; from pathlib import Path; from lifecycle_tracer.cli.discover import discover; " \
           "f = discover(Path(sys.argv[1])); print(f.target, f.app_dir, f.how, sep='|')"
    done = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, timeout=60)
    return done.stdout.strip() or done.stderr.strip().splitlines()[-1]


def test_the_files_and_names_fastapi_dev_looks_for(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "main.py").write_text(APP.format(name="app"), encoding="utf-8")
    (plain / "api.py").write_text(APP.format(name="app"), encoding="utf-8")  # main.py comes first
    assert found(plain) == f"main:app|{plain}|main.py, as fastapi dev finds it"

    package = tmp_path / "pkg"
    (package / "app").mkdir(parents=True)
    (package / "app" / "__init__.py").write_text("", encoding="utf-8")
    (package / "app" / "main.py").write_text(APP.format(name="api"), encoding="utf-8")  # no app: api is next
    assert found(package) == f"app.main:api|{package}|app/main.py, as fastapi dev finds it"

    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "app.py").write_text(APP.format(name="service"), encoding="utf-8")  # neither app nor api
    assert found(odd).startswith("app:service|")

    configured = tmp_path / "configured"
    (configured / "server").mkdir(parents=True)
    (configured / "server" / "__init__.py").write_text("", encoding="utf-8")
    (configured / "server" / "core.py").write_text(APP.format(name="application"), encoding="utf-8")
    (configured / "main.py").write_text(APP.format(name="app"), encoding="utf-8")  # the entrypoint wins
    (configured / "pyproject.toml").write_text('[tool.fastapi]\nentrypoint = "server.core:application"\n',
                                               encoding="utf-8")
    assert found(configured).startswith("server.core:application|")


def test_nothing_to_find_is_one_sentence(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "lifecycle_tracer", "trace", "--plain", "--port", "0"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "No MODULE:APP given" in done.stderr and "main.py" in done.stderr
    assert "Traceback" not in done.stderr
    (tmp_path / "main.py").write_text("x = 1\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "lifecycle_tracer", "trace", "--plain", "--port", "0"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "defines no FastAPI app" in done.stderr


def test_trace_plain_in_a_folder_with_main_py_serves_and_traces_it(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(APP.format(name="app"), encoding="utf-8")
    env = {**os.environ, "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.Popen([sys.executable, "-m", "lifecycle_tracer", "trace", "--plain", "--port", "0"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        url = None
        for _ in range(3000):
            match = re.search(r"Tracing main:app at (http://\S+)", "".join(lines))
            if match:
                url = match.group(1)
                break
            time.sleep(0.01)  # polling the output for the line, not waiting out a race
        assert url, "".join(lines)
        assert httpx.get(url + "/hi").json() == {"from": "main"}
        for _ in range(3000):
            if "GET /hi → 200" in "".join(lines):  # the request's rule: printed once it has ended, whole
                break
            time.sleep(0.01)
        text = "".join(lines)
        assert "Found main:app in main.py, as fastapi dev finds it." in text and "GET /hi" in text
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
        reader.join(10)
        proc.stdout.close()  # type: ignore[union-attr]
