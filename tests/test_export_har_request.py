"""HAR's request side from real requests: the URL's host, and the body FastAPI read as ``postData``.

A small app is served by the real uvicorn and recorded to JSON Lines: a raw
socket sends a Host header that names another host (``127.0.0.1:P@evil.example``
is userinfo then evil.example), httpx sends a JSON POST, a form POST with a
password and a JSON body longer than a preview keeps. Each file is exported by
the real ``lifecycle-tracer export`` command and read back.
"""

from __future__ import annotations

import json
import shlex
import socket
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from export_formats_support import attrs, check_har, cli, otlp_spans
from fastapi import FastAPI, Form
from pydantic import BaseModel

from lifecycle_tracer import JsonLinesSink, Recorder, instrument, uninstrument
from lifecycle_tracer.server import ServerThread

app = FastAPI()


class Order(BaseModel):
    sku: str
    qty: int


@app.get("/items/{item_id}")
def read_item(item_id: int) -> dict[str, int]:
    return {"item_id": item_id}


@app.post("/orders", status_code=201)
def create_order(order: Order) -> dict[str, str]:
    return {"sku": order.sku}


@app.post("/login")
def login(username: str = Form(), password: str = Form()) -> dict[str, str]:
    return {"user": username}


@app.post("/notes")
def add_note(note: dict[str, Any]) -> dict[str, int]:
    return {"keys": len(note)}


PASSWORD = "hunter2-not-in-any-export"
TOKEN = "tok-not-in-any-export"
LONG = "y" * 500  # past the 200 characters a recorded value keeps


def _raw_get(port: int, host: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /items/1 HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("har_request") / "app.jsonl"
    rec, sink = Recorder(), JsonLinesSink(path)
    tracer = instrument(app, sink=rec)
    tracer.add_sink(sink)
    with ServerThread(app, log_level="critical") as server, httpx.Client(base_url=server.url) as client:
        hostile = f"127.0.0.1:{server.port}@evil.example".encode()
        answer = _raw_get(server.port, hostile)  # r1
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
        got = {
            "order": client.post("/orders", json={"sku": "apple", "qty": 2}),  # r2
            "login": client.post("/login", data={"username": "ann", "password": PASSWORD}),  # r3
            "note": client.post("/notes", json={"text": LONG, "token": TOKEN}),  # r4
            "item": client.get("/items/2"),  # r5
        }
        assert rec.wait_for(lambda _: rec.completed_count() >= 5, timeout=20), rec.completed()
        assert sink.flush(30)
        port = server.port
    tracer.remove_sink(sink)
    sink.close()
    uninstrument(app)
    assert [r.status_code for r in got.values()] == [201, 200, 200, 200]
    out: dict[str, Any] = {"path": path, "port": port, "got": got}
    for fmt, suffix in (("har", ".har"), ("otlp", ".otlp.json")):
        done = cli("export", str(path), "--format", fmt)
        assert done.returncode == 0, done.stderr
        text = path.with_suffix(suffix).read_text(encoding="utf-8")
        out[f"{fmt}_text"] = text
        out[fmt] = json.loads(text)
    out["entries"] = {e["_requestId"]: e for e in out["har"]["log"]["entries"]}
    return out


def test_the_archive_keeps_har_12s_required_fields(recorded: dict[str, Any]) -> None:
    check_har(recorded["har"])
    assert len(recorded["entries"]) == 5


def test_a_host_header_that_names_another_host_is_not_the_urls_host(recorded: dict[str, Any]) -> None:
    entry = recorded["entries"]["r1"]
    url = urlsplit(entry["request"]["url"])
    # Where the server listened, as copy sends it: not evil.example, and no userinfo.
    assert (url.scheme, url.hostname, url.port, url.path) == ("http", "127.0.0.1", recorded["port"], "/items/1")
    assert "@" not in url.netloc and "evil.example" not in entry["request"]["url"]
    # The header itself is what the client sent, and stays in the header list.
    assert {"name": "host", "value": f"127.0.0.1:{recorded['port']}@evil.example"} in entry["request"]["headers"]
    # A plain Host header is still the URL's.
    assert recorded["entries"]["r5"]["request"]["url"] == str(recorded["got"]["item"].url)


def test_copy_and_the_har_send_the_hostile_request_to_the_same_place(recorded: dict[str, Any]) -> None:
    done = cli("copy", str(recorded["path"]), "r1")
    assert done.returncode == 0, done.stderr
    curl = next(line for line in done.stdout.splitlines() if line.startswith("curl "))
    assert shlex.split(curl)[2] == recorded["entries"]["r1"]["request"]["url"]


def test_otlp_server_address_follows_the_same_rule(recorded: dict[str, Any]) -> None:
    roots = {attrs(s)["lifecycle.request_id"]["stringValue"]: attrs(s) for s in otlp_spans(recorded["otlp"])
             if s["kind"] == 2}
    assert roots["r1"]["server.address"] == {"stringValue": "127.0.0.1"}
    assert roots["r5"]["server.address"] == {"stringValue": "127.0.0.1"}
    assert "evil.example" not in json.dumps(roots["r1"].get("server.address"))


def test_an_older_recording_without_the_server_address_names_no_host(recorded: dict[str, Any],
                                                                    tmp_path: Path) -> None:
    lines = []
    for line in recorded["path"].read_text(encoding="utf-8").splitlines():
        ev = json.loads(line)
        ev["detail"].pop("server", None)  # as recorded before the server's address was kept
        lines.append(json.dumps(ev))
    older = tmp_path / "older.jsonl"
    older.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "older.har"
    done = cli("export", str(older), "--format", "har", "-o", str(out))
    assert done.returncode == 0, done.stderr
    entries = {e["_requestId"]: e for e in json.loads(out.read_text(encoding="utf-8"))["log"]["entries"]}
    assert urlsplit(entries["r1"]["request"]["url"]).hostname == "unknown-host.invalid"
    assert entries["r5"]["request"]["url"] == str(recorded["got"]["item"].url)  # a plain Host needs no fallback
    otlp = tmp_path / "older.otlp.json"
    assert cli("export", str(older), "--format", "otlp", "-o", str(otlp)).returncode == 0
    roots = {attrs(s)["lifecycle.request_id"]["stringValue"]: attrs(s)
             for s in otlp_spans(json.loads(otlp.read_text(encoding="utf-8"))) if s["kind"] == 2}
    assert "server.address" not in roots["r1"] and roots["r5"]["server.address"] == {"stringValue": "127.0.0.1"}


def test_a_json_post_has_its_body_as_post_data(recorded: dict[str, Any]) -> None:
    request = recorded["entries"]["r2"]["request"]
    post = request["postData"]
    assert post["mimeType"] == recorded["got"]["order"].request.headers["content-type"] == "application/json"
    assert json.loads(post["text"]) == {"sku": "apple", "qty": 2}
    assert "re-encoded as JSON" in post["comment"]  # not the bytes sent: what FastAPI parsed
    # The same body copy sends again.
    done = cli("copy", str(recorded["path"]), "r2")
    assert done.returncode == 0, done.stderr
    curl = shlex.split(next(line for line in done.stdout.splitlines() if line.startswith("curl ")))
    assert curl[curl.index("--data-raw") + 1] == post["text"] == '{"sku": "apple", "qty": 2}'


def test_a_form_post_has_its_fields_with_the_password_still_hidden(recorded: dict[str, Any]) -> None:
    post = recorded["entries"]["r3"]["request"]["postData"]
    assert post["mimeType"] == "application/x-www-form-urlencoded"
    assert parse_qsl(post["text"]) == [("username", "ann"), ("password", "[redacted]")]
    assert "hidden when the request was traced" in post["comment"] and "re-encoded" in post["comment"]
    assert PASSWORD not in recorded["har_text"]


def test_a_body_kept_only_as_a_cut_preview_is_not_written_as_if_whole(recorded: dict[str, Any]) -> None:
    request = recorded["entries"]["r4"]["request"]
    post = request["postData"]
    assert post["mimeType"] == "application/json"
    assert "text" not in post and "params" not in post
    assert "cut short" in post["comment"] and "not written as text" in post["comment"]
    assert request["bodySize"] == len(recorded["got"]["note"].request.content)  # the size is still known
    assert LONG not in recorded["har_text"] and TOKEN not in recorded["har_text"]


def test_a_get_has_no_post_data(recorded: dict[str, Any]) -> None:
    for rid in ("r1", "r5"):
        request = recorded["entries"][rid]["request"]
        assert "postData" not in request and "comment" not in request and request["bodySize"] == 0
