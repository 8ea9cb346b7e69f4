"""``diff`` and ``copy`` on a real recording, through the real command."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI, Request

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


# What a client can put in the Host header that would make the copied URL name another host.
HOSTILE_HOSTS = ["127.0.0.1:8911@evil.example", "evil.example/x?", "a b", "evil.example#", "evil.example\\x",
                 "hé.example", "evil.example", "evil.example:8911"]
LONG = "A" * 60000


async def login(request: Request) -> dict[str, Any]:
    # The bytes that arrived, as hex: the copied command must send these, not a re-decoding of them.
    return {k.decode(): v.hex() for k, v in request.headers.raw if k.startswith(b"x-")}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int, dict[str, bytes]]]:
    """Requests sent on a raw socket with the Host headers above, recorded by a real uvicorn to a JSONL file."""
    from lifecycle_tracer import JsonLinesSink, Recorder, instrument
    from lifecycle_tracer.server import ServerThread

    app = FastAPI()
    app.get("/login")(login)
    path = tmp_path_factory.mktemp("hostile") / "hostile.jsonl"
    rec, sink = Recorder(), JsonLinesSink(path)
    instrument(app, sink=rec)
    instrument(app, sink=sink)
    hosts: dict[str, bytes] = {}
    with ServerThread(app) as server:
        for n, host in enumerate([*HOSTILE_HOSTS, "[::1]:8000"], start=1):
            extra = b"X-Bidi: " + "\u202eevil".encode() + b"\r\nX-Long: " + LONG.encode() + b"\r\n" if n == 1 else b""
            with socket.create_connection(("127.0.0.1", server.port)) as sock:
                sock.sendall(b"GET /login HTTP/1.1\r\nHost: " + host.encode() + b"\r\n" + extra
                             + b"Connection: close\r\n\r\n")
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
            assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
            hosts[f"r{n}"] = host.encode()
        assert rec.wait_for(lambda evs: sum(e.stage == "request" and e.kind == "end"
                                                  and e.detail.get("type") == "http" for e in evs) == len(hosts))
        assert sink.flush(30)
        yield path, server.port, hosts
    sink.close()


def curl_line(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("curl "))


def test_a_host_header_that_is_no_host_is_not_where_the_copy_sends(hostile: tuple[Path, int, dict[str, bytes]],
                                                                  tmp_path: Path) -> None:
    path, port, hosts = hostile
    for rid, host in hosts.items():
        if host == b"[::1]:8000":
            continue
        done = cli("copy", str(path), rid)
        assert done.returncode == 0, done.stderr
        url = urlsplit(shlex.split(curl_line(done.stdout))[2])
        # The address the server listened on, from the recording: not evil.example, not the Host header.
        assert (url.hostname, url.port, url.path) == ("127.0.0.1", port, "/login"), (host, done.stdout)
        assert "the one it listened on (the request's Host header said" in done.stdout, done.stdout
        again = subprocess.run(["bash", "-c", curl_line(done.stdout) + " -s"], capture_output=True, timeout=30)
        assert again.returncode == 0 and again.stdout.startswith(b"{"), again  # it reached the real server
        snippet = cli("copy", str(path), rid, "--as", "httpx")
        assert snippet.returncode == 0 and f"'http://127.0.0.1:{port}/login'" in snippet.stdout, snippet.stdout
        assert "evil.example/login" not in snippet.stdout and "Host header said" in snippet.stdout

    # In a recording from before the server's address was kept, the Host header is used when it is a
    # host[:port] and nothing more: a bracketed IPv6 literal is one.
    v6_rid = next(rid for rid, host in hosts.items() if host == b"[::1]:8000")
    older = edited(path, tmp_path, v6_rid, lambda d: d.pop("server"))
    v6 = cli("copy", str(older), v6_rid)
    assert v6.returncode == 0 and shlex.split(curl_line(v6.stdout))[2] == "http://[::1]:8000/login", v6.stdout
    assert "is not used" not in v6.stdout and "the request's Host header ([::1]:8000)" in v6.stdout


def test_header_bytes_are_sent_as_they_came_and_a_cut_value_is_left_out_saying_so(
        hostile: tuple[Path, int, dict[str, bytes]]) -> None:
    path, _, _ = hostile
    done = cli("copy", str(path), "r1")
    assert done.returncode == 0, done.stderr
    assert "\u202e" not in done.stdout and "â" not in done.stdout  # neither the raw override nor latin-1's mojibake
    assert "x-long header is left out: the trace kept its first 199 characters, not the 59801 after them" in done.stdout
    assert "AAAA" not in curl_line(done.stdout)  # not sent cut short as if it were the value
    again = subprocess.run(["bash", "-c", curl_line(done.stdout) + " -s"], capture_output=True, timeout=30)
    assert json.loads(again.stdout) == {"x-bidi": "\u202eevil".encode().hex()}  # the very bytes the client sent

    snippet = cli("copy", str(path), "r1", "--as", "httpx")
    assert snippet.returncode == 0 and "x-long header is left out" in snippet.stdout
    ran = subprocess.run([sys.executable, "-c", snippet.stdout], capture_output=True, text=True, timeout=30)
    code, _, text = ran.stdout.strip().partition(" ")
    assert code == "200" and json.loads(text) == {"x-bidi": "\u202eevil".encode().hex()}, ran.stderr


def edited(path: Path, tmp_path: Path, rid: str, change: Any) -> Path:
    """The recording with ``rid``'s start changed by ``change(detail)``: what a file someone else wrote can hold."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        ev = json.loads(line)
        if ev["request_id"] == rid and ev["stage"] == "request" and ev["kind"] == "start":
            change(ev["detail"])
        lines.append(json.dumps(ev))
    out = tmp_path / "edited.jsonl"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


@pytest.mark.parametrize("host", ["127.0.0.1\x1b]0;pwned\x07@evil.example", "ok.example\r\nrm -rf ~",
                                  "evil.example\u202e@127.0.0.1", "127.0.0.1:99999", "[::1", "[fe80::1%25eth0]"])
def test_a_host_no_server_would_pass_on_is_refused_and_shown_only_escaped(
        hostile: tuple[Path, int, dict[str, bytes]], tmp_path: Path, host: str) -> None:
    from lifecycle_tracer.copyas import _CONTROL, as_curl, as_httpx
    from lifecycle_tracer.recording import read_events

    path, port, _ = hostile

    def hostile_host(detail: dict[str, Any]) -> None:
        detail["headers"] = [[n, host if n == "host" else v] for n, v in detail["headers"]]
        detail["headers"].append(["x-nul", "a\x00b"])  # no shell word can carry NUL: left out, said

    changed = edited(path, tmp_path, "r2", hostile_host)
    done = cli("copy", str(changed), "r2")
    assert done.returncode == 0, done.stderr
    assert urlsplit(shlex.split(curl_line(done.stdout))[2]).netloc == f"127.0.0.1:{port}", done.stdout
    assert "x-nul header is left out" in done.stdout and "x-nul" not in curl_line(done.stdout)
    events = [e for e in read_events(changed) if e.request_id == "r2"]
    for text in (as_curl(events), as_httpx(events)):  # the TUI puts this text on the clipboard unescaped
        assert text is not None and not _CONTROL.search(text.replace("\n", "")), text
        notes = text.split("\ncurl ")[0] if "\ncurl " in text else text.split("\nimport httpx")[0]
        assert all(line.startswith("# ") for line in notes.splitlines()), text  # no note starts a line of its own

    older = edited(changed, tmp_path, "r2", lambda d: d.pop("server"))  # a recording from before it was kept
    done = cli("copy", str(older), "r2")
    assert done.returncode == 0 and shlex.split(curl_line(done.stdout))[2] == "http://127.0.0.1:8000/login"
    assert "is not used; the trace does not hold the server's address" in done.stdout
