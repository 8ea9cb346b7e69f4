"""What tests/test_export_formats.py checks the exports with: a small app of our own, served by the real
uvicorn and recorded while a real client talks to it, and a checker for each format's rules."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import BackgroundTasks, Depends, FastAPI, Request, Response, WebSocket

from lifecycle_tracer import JsonLinesSink, Recorder, TraceEvent, instrument, uninstrument
from lifecycle_tracer.server import ServerThread

FORMATS = {"perfetto": ".perfetto.json", "otlp": ".otlp.json", "har": ".har"}
REQUESTS = 5  # what ``record`` sends: four HTTP requests and one WebSocket session


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lifecycle_tracer", *args], capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)



# The app is defined at module level so that its stages carry plain names (``endpoint read_item``).
app = FastAPI()


@app.middleware("http")
async def stamp(request: Request, call_next: Any) -> Response:
    response = await call_next(request)
    response.headers["x-stamp"] = "stamped"
    return response


def session() -> Any:
    yield "db"  # its teardown runs after the response is sent


@app.get("/items/{item_id}")
def read_item(item_id: int, response: Response, q: str | None = None, db: str = Depends(session)) -> dict[str, Any]:
    response.headers["x-item"] = f"item-{item_id}"
    response.set_cookie("seen", "1", path="/items", httponly=True)
    return {"item_id": item_id, "q": q, "db": db}


def notify(order: dict[str, Any]) -> None:
    order["notified"] = True


@app.post("/orders", status_code=201)
async def create_order(order: dict[str, Any], tasks: BackgroundTasks) -> dict[str, bool]:
    tasks.add_task(notify, order)
    return {"queued": True}


@app.get("/boom")
async def boom() -> float:
    return 1 / 0


@app.websocket("/ws")
async def echo(ws: WebSocket) -> None:
    await ws.accept()
    text = await ws.receive_text()
    await ws.send_text(f"echo: {text}")
    await ws.close()


def record(path: Path) -> dict[str, Any]:
    """Serve the app traced into ``path``; what the client got for each request and the wall-clock window."""
    from websockets.sync.client import connect

    rec = Recorder()
    tracer = instrument(app, sink=rec)
    sink = JsonLinesSink(path)
    tracer.add_sink(sink)
    before = time.time_ns()
    with ServerThread(app, log_level="critical") as server, httpx.Client(base_url=server.url) as client:
        got = {
            "item": client.get("/items/7", params={"q": "a b&c"}),
            "order": client.post("/orders", json={"id": 1}),
            # The server closes the connection after an unhandled error: this one is not reused.
            "boom": client.get("/boom", headers={"connection": "close"}),
            "again": client.get("/items/8"),
        }
        with connect(server.url.replace("http", "ws") + "/ws") as ws:
            ws.send("hello")
            got["ws"] = ws.recv(timeout=10)
        assert rec.wait_for(lambda _: rec.completed_count() >= REQUESTS, timeout=20), rec.completed()
    tracer.remove_sink(sink)
    sink.close()
    uninstrument(app)
    after = time.time_ns()
    assert [r.status_code for k, r in got.items() if k != "ws"] == [200, 201, 500, 200] and got["ws"] == "echo: hello"
    return {"path": path, "got": got, "before": before, "after": after}


OVERLAP = [  # a dependency that outlives the middleware it began in
    ("request", "start", "GET /", {"type": "http", "method": "GET", "path": "/"}),
    ("middleware", "start", "Outer", {}),
    ("dependency", "start", "db", {"phase": "setup"}),
    ("middleware", "end", "Outer", {}),
    ("dependency", "end", "db", {"phase": "setup"}),
    ("request", "end", "request", {"type": "http", "status_code": 200}),
]
CUT = OVERLAP[:3]  # the recording stops while all three run


def made(rows: list[tuple[str, str, str, dict[str, Any]]]) -> list[TraceEvent]:
    return [TraceEvent("r1", i, stage, kind, name, 1_000 * (i + 1), detail)
            for i, (stage, kind, name, detail) in enumerate(rows)]


HEX = {"traceId": re.compile(r"[0-9a-f]{32}"), "spanId": re.compile(r"[0-9a-f]{16}"),
       "parentSpanId": re.compile(r"[0-9a-f]{16}")}


def otlp_spans(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for rs in data["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]


def attrs(item: dict[str, Any]) -> dict[str, Any]:
    return {a["key"]: a["value"] for a in item.get("attributes", [])}


def check_otlp_tree(data: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """Ids in hex of the right length, one root per trace, every parent in it, children within their parent's times."""
    traces: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for span in otlp_spans(data):
        for field, pattern in HEX.items():
            if field in span:
                assert pattern.fullmatch(span[field]), (field, span[field])
        assert span["spanId"] not in traces[span["traceId"]], "a span id used twice"
        traces[span["traceId"]][span["spanId"]] = span
    for spans in traces.values():
        roots = [s for s in spans.values() if "parentSpanId" not in s]
        assert len(roots) == 1, [s["name"] for s in roots]
        for span in spans.values():
            seen: set[str] = set()
            node = span
            while "parentSpanId" in node:  # every parent exists in the same trace, and the walk ends at the root
                assert node["spanId"] not in seen
                seen.add(node["spanId"])
                assert node["parentSpanId"] in spans, f"{node['name']}: its parent is not in the trace"
                parent = spans[node["parentSpanId"]]
                assert int(parent["startTimeUnixNano"]) <= int(node["startTimeUnixNano"])
                assert int(node["endTimeUnixNano"]) <= int(parent["endTimeUnixNano"])
                node = parent
            assert node is roots[0]
            assert int(span["startTimeUnixNano"]) <= int(span["endTimeUnixNano"])

    return traces


# The required fields of HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/), object by object.
REQUIRED = {
    "log": ["version", "creator", "entries"],
    "creator": ["name", "version"],
    "entry": ["startedDateTime", "time", "request", "response", "cache", "timings"],
    "request": ["method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize", "bodySize"],
    "response": ["status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL",
                 "headersSize", "bodySize"],
    "cookie": ["name", "value"],
    "header": ["name", "value"],
    "queryString": ["name", "value"],
    "content": ["size", "mimeType"],
    "postData": ["mimeType"],  # and text or params, which HAR 1.2 says are mutually exclusive
    "timings": ["send", "wait", "receive"],
}
NUMBER = (int, float)


def has(obj: dict[str, Any], kind: str) -> None:
    missing = [f for f in REQUIRED[kind] if f not in obj]
    assert not missing, f"{kind} lacks {missing}: {obj}"


def check_har(data: dict[str, Any]) -> None:
    log = data["log"]
    has(log, "log")
    has(log["creator"], "creator")
    assert log["version"] == "1.2" and log["pages"] == [] and isinstance(log["entries"], list)
    for entry in log["entries"]:
        has(entry, "entry")
        assert datetime.fromisoformat(entry["startedDateTime"]).tzinfo is not None
        assert entry.get("pageref") is None  # there are no pages to refer to
        request, response, timings = entry["request"], entry["response"], entry["timings"]
        has(request, "request")
        has(response, "response")
        has(response["content"], "content")
        has(timings, "timings")
        assert isinstance(entry["cache"], dict)
        for kind, items in (("cookie", request["cookies"] + response["cookies"]),
                            ("header", request["headers"] + response["headers"]),
                            ("queryString", request["queryString"])):
            for item in items:
                has(item, kind)
                assert isinstance(item["name"], str) and isinstance(item["value"], str)
        assert all(isinstance(request[f], str) for f in ("method", "url", "httpVersion"))
        if "postData" in request:
            post = request["postData"]
            has(post, "postData")
            assert not ("text" in post and "params" in post) and isinstance(post["mimeType"], str)
            assert all(isinstance(post.get(f, ""), str) for f in ("text", "comment"))
        assert all(isinstance(response[f], str) for f in ("statusText", "httpVersion", "redirectURL"))
        assert type(response["status"]) is int and isinstance(response["content"]["mimeType"], str)
        for obj in (request, response):
            assert type(obj["headersSize"]) is int and type(obj["bodySize"]) is int and obj["bodySize"] >= -1
        assert type(response["content"]["size"]) is int and response["content"]["size"] >= 0
        for name in ("send", "wait", "receive"):  # "not optional and must have non-negative values"
            assert isinstance(timings[name], NUMBER) and timings[name] >= 0
        for name in ("blocked", "dns", "connect", "ssl"):
            assert timings.get(name, -1) == -1 or timings[name] >= 0
        known = sum(v for k, v in timings.items() if k != "comment" and v != -1)
        assert isinstance(entry["time"], NUMBER) and abs(entry["time"] - known) < 0.002  # the sum of the timings


def check_perfetto(data: dict[str, Any]) -> dict[int, str]:
    """The trace's nesting rules; returns each track's name."""
    assert data["displayTimeUnit"] == "ms" and isinstance(data["traceEvents"], list)
    names: dict[int, str] = {}
    stacks: dict[int, list[dict[str, Any]]] = defaultdict(list)
    last_ts: dict[int, float] = {}
    async_open: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for ev in data["traceEvents"]:
        ph, tid = ev["ph"], ev.get("tid")
        if ph == "M":
            if ev["name"] == "thread_name":
                names[tid] = ev["args"]["name"]
            continue
        assert isinstance(ev["ts"], NUMBER) and ev["pid"] == 1
        if ph in ("B", "E", "i", "X"):
            assert tid in names, f"track {tid} has no name before its first event"
            assert ev["ts"] >= last_ts.get(tid, 0), ev  # in order on its track
            last_ts[tid] = ev["ts"]
        if ph == "B":
            stacks[tid].append(ev)
        elif ph == "E":
            opened = stacks[tid].pop()
            assert opened["name"] == ev["name"] and opened["ts"] <= ev["ts"]
        elif ph == "X":
            assert ev["dur"] >= 0
        elif ph == "i":
            assert ev["s"] == "t"
        elif ph == "b":
            async_open[(ev["cat"], ev["id"])].append(ev)
        elif ph == "e":
            opened = async_open[(ev["cat"], ev["id"])].pop()
            assert opened["name"] == ev["name"] and opened["ts"] <= ev["ts"]
        else:
            pytest.fail(f"unexpected phase {ph}")
    assert not any(stacks.values()) and not any(async_open.values())  # every begin has its end
    return names
