"""The command line, including every bad-input case: one clear sentence, never a traceback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from lifecycle_tracer.cli.app import app
from lifecycle_tracer.sinks import read_jsonl

runner = CliRunner()


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFECYCLE_TRACER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "120")


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    out = result.output
    assert "Traceback" not in out, out
    return result.exit_code, out


def test_help_has_examples_for_every_command() -> None:
    for command in ("run", "list", "trace", "replay", "export", "check"):
        code, out = invoke(command, "--help")
        assert code == 0 and "Example" in out and "lifecycle-tracer" in out, command


def test_list_shows_lessons_and_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = invoke("list")
    assert code == 0 and "lesson1" in out and "Hello lifecycle" in out and "new" in out
    progress_file = Path(os.environ["LIFECYCLE_TRACER_HOME"]) / "progress.json"
    code, _ = invoke("run", "lesson1", "--plain")  # CliRunner's stdin is no terminal: nobody is learning
    assert code == 0 and not progress_file.exists()
    code, out = invoke("list")
    assert "done" not in out

    import lifecycle_tracer.course.plain as plain

    monkeypatch.setattr(plain, "stdin_is_interactive", lambda: True)  # a person, answering the question
    result = runner.invoke(app, ["run", "lesson1", "--plain"], input="2\n")
    assert result.exit_code == 0, result.output
    code, out = invoke("list")
    assert "done" in out
    progress = json.loads(progress_file.read_text())
    assert progress["lesson1"]["done"] is True and progress["lesson1"]["steps"] == [1, 2]
    assert progress["lesson1"]["answers"] == {"2": 1}
    monkeypatch.setattr(plain, "stdin_is_interactive", lambda: False)
    code, _ = invoke("run", "lesson1", "--plain", "--reset")
    assert code == 0 and "lesson1" not in json.loads(progress_file.read_text())


def test_run_records_events(tmp_path: Path) -> None:
    record = tmp_path / "l1.jsonl"
    code, out = invoke("run", "1", "--plain", "--record", str(record))
    assert code == 0, out
    assert "Every check of the lesson's steps passed" in out and "✓" in out
    events = read_jsonl(record)
    assert {e.stage for e in events} >= {"request", "middleware", "routing", "endpoint", "response"}


def test_unknown_lesson_lists_close_ones() -> None:
    code, out = invoke("run", "lesson01x")
    assert code == 2
    assert "There is no lesson called 'lesson01x'" in out and "lesson1" in out


def _lessons_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, source: str) -> Path:
    folder = tmp_path / "lessons"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(textwrap.dedent(source))
    monkeypatch.setenv("LIFECYCLE_TRACER_LESSONS", str(folder))
    return folder


def test_broken_lesson_syntax_error_names_file_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _lessons_dir(tmp_path, monkeypatch, "lesson01_bad.py", "x = 1\ndef broken(:\n")
    code, out = invoke("run", "lesson1", "--plain")
    assert code == 2 and "lesson01_bad.py:2" in out and "syntax error" in out


def test_broken_lesson_import_error_and_missing_lesson(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _lessons_dir(tmp_path, monkeypatch, "lesson01_bad.py", "import nonexistent_module_xyz\n")
    code, out = invoke("run", "lesson1", "--plain")
    assert code == 2 and "lesson01_bad.py:1" in out and "nonexistent_module_xyz" in out
    _lessons_dir(tmp_path, monkeypatch, "lesson02_nolesson.py", "from fastapi import FastAPI\napp = FastAPI()\n")
    code, out = invoke("run", "lesson2", "--plain")
    assert code == 2 and "must define LESSON" in out


FAILING_LESSON = """
from fastapi import FastAPI
from lifecycle_tracer.course import Lesson, Request, Step, status

app = FastAPI()


@app.get("/")
async def root() -> str:
    return "hi"


LESSON = Lesson(
    id="lesson1", title="Wrong on purpose", goals=[], topics=[],
    steps=[
        Step(title="right", narration="ok", request=Request("GET", "/"), checks=[status(200)]),
        Step(title="wrong", narration="claims a 404", request=Request("GET", "/"), checks=[status(404)]),
    ],
)
"""


def test_run_fails_when_a_check_fails_and_check_names_the_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _lessons_dir(tmp_path, monkeypatch, "lesson01_wrong.py", FAILING_LESSON)
    code, out = invoke("run", "lesson1", "--plain")
    assert code == 1 and "CHECK FAILED" in out and "the status was 200" in out
    code, out = invoke("check", str(folder))
    assert code == 1
    step_line = FAILING_LESSON.splitlines().index(
        '        Step(title="wrong", narration="claims a 404", request=Request("GET", "/"), checks=[status(404)]),'
    )
    assert f"lesson01_wrong.py:{step_line + 1}: step 2" in out


def test_check_passes_on_the_shipped_lesson_one() -> None:
    from lifecycle_tracer.course.loader import find

    code, out = invoke("check", str(find("lesson1").path))
    assert code == 0 and "every check holds" in out


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_busy_port_is_a_clear_error(busy_port: int) -> None:
    code, out = invoke("run", "lesson1", "--plain", "--port", str(busy_port))
    assert code == 2 and f"Port {busy_port}" in out and "already in use" in out


@pytest.fixture
def user_app(tmp_path: Path) -> Path:
    (tmp_path / "main.py").write_text("from fastapi import FastAPI\napp = FastAPI()\n\n@app.get('/ping')\nasync def ping() -> str:\n    return 'pong'\n")
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom at import')\n")
    (tmp_path / "needs.py").write_text("import not_installed_pkg_xyz\n")
    (tmp_path / "notapp.py").write_text("app = 42\n")
    return tmp_path


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("main", "is not of the form MODULE:APP"),
        ("nosuchmodule:app", "There is no module 'nosuchmodule'"),
        ("broken:app", "RuntimeError: boom at import"),
        ("needs:app", "'not_installed_pkg_xyz', which is not installed"),
        ("main:nope", "has no attribute 'nope'"),
        ("notapp:app", "is a int, not a FastAPI app"),
    ],
)
def test_trace_bad_targets(user_app: Path, target: str, message: str) -> None:
    code, out = invoke("trace", target, "--app-dir", str(user_app), "--plain")
    assert code == 2 and message in out


def test_trace_busy_port(user_app: Path, busy_port: int) -> None:
    code, out = invoke("trace", "main:app", "--app-dir", str(user_app), "--port", str(busy_port))
    assert code == 2 and "already in use" in out


def test_trace_serves_and_prints_live_events(user_app: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "lifecycle_tracer", "trace", "main:app", "--plain", "--port", str(port)],
        cwd=user_app, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        while "Tracing" not in line:  # wait for the banner, which comes before the server starts
            assert line, "trace exited early"
            line = proc.stdout.readline()
        # uvicorn is listening once a connection succeeds; retry only on refusal
        for _ in range(200):
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/ping", timeout=10)
                break
            except httpx.ConnectError:
                with socket.socket() as probe:
                    probe.settimeout(0.05)
                    probe.connect_ex(("127.0.0.1", port))
        assert response.json() == "pong"
        seen = ""
        while "request is complete" not in seen:
            chunk = proc.stdout.readline()
            assert chunk, "trace exited before printing the request"
            seen += chunk
        assert "routing" in seen and "ping" in seen
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if proc.stdout is not None:
            proc.stdout.close()


def test_replay_and_its_errors(tmp_path: Path) -> None:
    code, out = invoke("replay", str(tmp_path / "missing.jsonl"), "--plain")
    assert code == 2 and "There is no file" in out
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    code, out = invoke("replay", str(bad), "--plain")
    assert code == 2 and "bad.jsonl:1" in out
    record = tmp_path / "l1.jsonl"
    invoke("run", "lesson1", "--plain", "--record", str(record))
    code, out = invoke("replay", str(record), "--plain")
    assert code == 0 and "GET /hello/Ada" in out and "ServerErrorMiddleware" in out


def test_replay_redacts_a_trace_recorded_with_secrets(tmp_path: Path) -> None:
    from lifecycle_tracer import TraceEvent

    record = tmp_path / "secret.jsonl"
    ev = TraceEvent("r1", 0, "request", "start", "GET /", 1,
                    {"headers": [["authorization", "Bearer hunter2"]], "method": "GET", "path": "/"}, "In.")
    end = TraceEvent("r1", 1, "request", "end", "request", 2, {"status_code": 200}, "Done.")
    record.write_text("\n".join(json.dumps(e.to_dict()) for e in (ev, end)) + "\n")
    code, out = invoke("replay", str(record), "--plain")
    assert code == 0 and "hunter2" not in out
    code, out = invoke("export", str(record), "-f", "html", "-o", str(tmp_path / "x.html"))
    assert "hunter2" not in (tmp_path / "x.html").read_text()
    invoke("export", str(record), "-f", "html", "-o", str(tmp_path / "y.html"), "--show-secrets")
    assert "hunter2" in (tmp_path / "y.html").read_text()


def test_export_errors(tmp_path: Path) -> None:
    code, out = invoke("export", str(tmp_path / "none.jsonl"), "--format", "mermaid")
    assert code == 2 and "There is no file" in out
    code, out = invoke("export", str(tmp_path), "--format", "png")
    assert code == 2 and "png" in out
    record = tmp_path / "l1.jsonl"
    invoke("run", "lesson1", "--plain", "--record", str(record))
    code, out = invoke("export", str(record), "--format", "mermaid", "--request", "r99")
    assert code == 2 and "There is no request 'r99'" in out
