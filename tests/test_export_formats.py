"""The formats other tools open: Perfetto's trace JSON, OTLP JSON and HAR 1.2, each from a real recording.

A small app of our own (``export_formats_support``) is served by the real
uvicorn and recorded while httpx and a WebSocket client talk to it, keeping
what the client got; lesson 10 is run as a learner runs it. Each format is
written by the real command, then checked against its schema: the OTLP
protobuf definitions (``opentelemetry-proto``), the required fields of HAR
1.2, and the nesting rules of Chrome's trace event format. Perfetto's own
UI is not opened: it is a web app served from the network, and no offline
build of it or of chrome://tracing's viewer is installed here.
"""

from __future__ import annotations

import base64
import copy
import io
import json
from datetime import datetime
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from export_formats_support import (
    CUT,
    FORMATS,
    HEX,
    OVERLAP,
    REQUESTS,
    attrs,
    check_har,
    check_otlp_tree,
    check_perfetto,
    cli,
    made,
    otlp_spans,
    record,
)

from lifecycle_tracer.export.otlp import request_spans
from lifecycle_tracer.export.perfetto import request_events


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The recording, what the client got, the wall-clock window it ran in, and each format the command wrote."""
    path = tmp_path_factory.mktemp("formats") / "app.jsonl"
    session = record(path)
    for fmt, suffix in FORMATS.items():
        done = cli("export", str(path), "--format", fmt)
        assert done.returncode == 0, done.stderr
        out = path.with_suffix(suffix)  # the default: next to the recording
        assert done.stdout.strip() == f"Wrote {out}" and out.is_file()
        session[fmt] = json.loads(out.read_text(encoding="utf-8"))
    return session


@pytest.fixture(scope="module")
def lesson10(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Lesson 10 (background tasks) run as a learner runs it, exported to Perfetto by the real command."""
    from rich.console import Console

    from lifecycle_tracer.course.loader import find, load
    from lifecycle_tracer.course.plain import run_plain

    path = tmp_path_factory.mktemp("lesson10") / "lesson10.jsonl"
    assert run_plain(load(find("lesson10")), Console(file=io.StringIO()), record=path)
    out = path.with_name("l10.json")
    done = cli("export", str(path), "-f", "perfetto", "-o", str(out))
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text(encoding="utf-8"))


def test_otlp_parses_as_the_protobuf_traces_data(recorded: dict[str, Any]) -> None:
    from google.protobuf.json_format import Parse
    from opentelemetry.proto.trace.v1.trace_pb2 import Span, TracesData

    data = recorded["otlp"]
    spans = otlp_spans(data)
    # OTLP JSON writes ids as hex where protobuf's own JSON mapping expects base64 (the OTLP spec's one exception).
    wire = copy.deepcopy(data)
    for span in otlp_spans(wire):
        for field, pattern in HEX.items():
            if field in span:
                assert pattern.fullmatch(span[field]), (field, span[field])
                span[field] = base64.b64encode(bytes.fromhex(span[field])).decode()
    parsed = Parse(json.dumps(wire), TracesData(), ignore_unknown_fields=False)
    assert [a.value.string_value for a in parsed.resource_spans[0].resource.attributes if a.key == "service.name"] == ["app"]
    scope = parsed.resource_spans[0].scope_spans[0]
    assert scope.scope.name == "lifecycle-tracer" and len(scope.spans) == len(spans) > 20
    assert all(len(s.trace_id) == 16 and len(s.span_id) == 8 for s in scope.spans)
    assert all(len(s.parent_span_id) in (0, 8) for s in scope.spans)
    servers = [s for s in scope.spans if s.kind == Span.SPAN_KIND_SERVER]
    assert sorted(s.name for s in servers) == ["GET /boom", "GET /items/{item_id}", "GET /items/{item_id}",
                                               "POST /orders", "WEBSOCKET /ws"]
    assert len({s.span_id for s in scope.spans}) == len(spans)


def test_otlp_parent_links_form_one_tree_per_trace(recorded: dict[str, Any]) -> None:
    traces = check_otlp_tree(recorded["otlp"])
    assert len(traces) == REQUESTS + 2  # every request, the startup and the shutdown


def test_otlp_facts_times_and_failures(recorded: dict[str, Any]) -> None:
    spans = otlp_spans(recorded["otlp"])
    roots = {attrs(s)["lifecycle.request_id"]["stringValue"]: s for s in spans if s["kind"] == 2}
    item = attrs(roots["r1"])
    assert item["http.response.status_code"] == {"intValue": "200"}
    assert item["url.query"] == {"stringValue": recorded["got"]["item"].url.query.decode()}
    assert item["http.route"] == {"stringValue": "/items/{item_id}"}
    assert item["http.response.header.x-item"] == {"arrayValue": {"values": [{"stringValue": "item-7"}]}}
    assert item["lifecycle.end.duration_ns"]["intValue"].isdigit()
    assert item["lifecycle.explain"]["stringValue"].endswith(".")
    # Unix times, placed by the wall clock each request read at its start: inside the window they ran in.
    for span in roots.values():
        assert recorded["before"] <= int(span["startTimeUnixNano"]) <= recorded["after"] + 500_000_000
    boom = roots["r3"]
    assert boom["status"]["code"] == 2
    in_boom = [s for s in spans if s["traceId"] == boom["traceId"]]
    endpoint = next(s for s in in_boom if s["name"] == "endpoint boom")
    assert endpoint["status"] == {"code": 2, "message": "ZeroDivisionError"}
    events = [e for s in in_boom for e in s.get("events", [])]
    exc = next(e for e in events if e["name"] == "exception")
    assert attrs(exc)["exception.type"] == {"stringValue": "ZeroDivisionError"}
    # Points are span events on the span they fell in: the query's validation, within its span's times.
    parents = {s["spanId"]: s for s in spans}
    checked = [(s, e) for s in spans for e in s.get("events", []) if e["name"] == "validation q"]
    assert len(checked) == 2
    for span, event in checked:
        assert int(span["startTimeUnixNano"]) <= int(event["timeUnixNano"]) <= int(span["endTimeUnixNano"])
        assert attrs(event)["lifecycle.ok"] == {"boolValue": True}
    teardown = next(s for s in spans if s["name"] == "dependency session (teardown)")
    assert attrs(teardown)["lifecycle.after_response"] == {"boolValue": True}
    assert parents[teardown["parentSpanId"]]["traceId"] == teardown["traceId"]


def test_otlp_ids_and_output_are_the_same_on_every_export(recorded: dict[str, Any], tmp_path: Path) -> None:
    again = tmp_path / "again.json"
    assert cli("export", str(recorded["path"]), "-f", "otlp", "-o", str(again)).returncode == 0
    assert json.loads(again.read_text(encoding="utf-8")) == recorded["otlp"]


# -- HAR 1.2 -------------------------------------------------------------------


def test_har_has_every_required_field(recorded: dict[str, Any]) -> None:
    check_har(recorded["har"])
    assert len(recorded["har"]["log"]["entries"]) == REQUESTS  # the lifespan is not an HTTP exchange
    assert "modification time" in recorded["har"]["log"]["comment"]


def test_the_har_checker_rejects_a_missing_field(recorded: dict[str, Any]) -> None:
    broken = copy.deepcopy(recorded["har"])
    del broken["log"]["entries"][0]["response"]["redirectURL"]
    with pytest.raises(AssertionError, match="redirectURL"):
        check_har(broken)


def test_har_values_are_what_the_client_got(recorded: dict[str, Any]) -> None:
    entries = {e["_requestId"]: e for e in recorded["har"]["log"]["entries"]}
    got = recorded["got"]
    item, client = entries["r1"], got["item"]
    assert item["request"]["url"] == str(client.url)  # scheme, host, port, path and the encoded query
    assert item["request"]["queryString"] == [{"name": "q", "value": "a b&c"}]
    assert item["response"]["status"] == client.status_code == 200 and item["response"]["statusText"] == "OK"
    headers = {h["name"]: h["value"] for h in item["response"]["headers"]}
    assert headers["x-item"] == client.headers["x-item"] == "item-7"
    assert headers["x-stamp"] == client.headers["x-stamp"]  # added by the app's own middleware
    assert item["response"]["content"] == {"size": len(client.content), "mimeType": client.headers["content-type"],
                                           "text": client.text}
    assert item["response"]["bodySize"] == len(client.content)
    assert [c["name"] for c in item["response"]["cookies"]] == list(client.cookies) == ["seen"]
    assert item["response"]["cookies"][0]["path"] == "/items" and item["response"]["cookies"][0]["httpOnly"]
    assert item["request"]["method"] == "GET" and item["request"]["httpVersion"] == "HTTP/1.1"
    assert entries["r2"]["request"]["bodySize"] == len(got["order"].request.content)
    assert entries["r3"]["response"]["status"] == got["boom"].status_code == 500
    start = datetime.fromisoformat(item["startedDateTime"]).timestamp() * 1e9
    assert recorded["before"] - 1e6 <= start <= recorded["after"] + 5e8
    stages = [(s["stage"], s["name"]) for s in item["_lifecycle"]]
    assert ("endpoint", "read_item") in stages and ("dependency", "session") in stages
    assert item["timings"]["wait"] >= next(s["time"] for s in item["_lifecycle"] if s["stage"] == "endpoint")


def test_har_websocket_entry_as_chrome_writes_it(recorded: dict[str, Any]) -> None:
    ws = recorded["har"]["log"]["entries"][-1]
    assert ws["_resourceType"] == "websocket" and ws["response"]["status"] == 101
    assert ws["request"]["method"] == "GET" and ws["request"]["url"].startswith("ws://127.0.0.1:")
    messages = ws["_webSocketMessages"]
    assert [(m["type"], m["opcode"], m["data"]) for m in messages] == [
        ("send", 1, "hello"), ("receive", 1, recorded["got"]["ws"])]
    assert messages[0]["time"] <= messages[1]["time"] and recorded["before"] / 1e9 <= messages[0]["time"]


# -- Perfetto (Chrome trace event JSON) ------------------------------------------


def test_perfetto_nests_per_track_and_names_each_request(recorded: dict[str, Any]) -> None:
    names = check_perfetto(recorded["perfetto"])
    titles = sorted(names.values())
    assert titles[:5] == ["r1 GET /items/7 → 200", "r2 POST /orders → 201", "r3 GET /boom → 500",
                          "r4 GET /items/8 → 200", "r5 WEBSOCKET /ws → 101"]
    events = recorded["perfetto"]["traceEvents"]
    teardown = [e for e in events if e["name"] == "dependency session (teardown)"]
    assert {e["ph"] for e in teardown} == {"b", "e"} and all(e["cat"] == "after the response" for e in teardown)
    background = [e for e in events if e["name"] == "background notify"]
    assert [e["ph"] for e in background] == ["b", "e"]
    endpoint = next(e for e in events if e["name"] == "endpoint read_item" and e["ph"] == "B")
    assert endpoint["args"]["explain"].endswith(".") and endpoint["args"]["end"]["facts"]["returned"] == "dict"
    assert any(e["ph"] == "i" and e["name"] == "validation item_id" for e in events)


def test_perfetto_checker_rejects_broken_nesting(recorded: dict[str, Any]) -> None:
    broken = copy.deepcopy(recorded["perfetto"])
    ends = [i for i, e in enumerate(broken["traceEvents"]) if e["ph"] == "E"]
    broken["traceEvents"][ends[0]], broken["traceEvents"][ends[1]] = broken["traceEvents"][ends[1]], broken["traceEvents"][ends[0]]
    with pytest.raises(AssertionError):
        check_perfetto(broken)


def test_perfetto_lesson10_background_tasks_are_async(lesson10: dict[str, Any]) -> None:
    names = check_perfetto(lesson10)
    assert any(n.startswith("r1 POST /signup → 201") for n in names.values())
    background = [e for e in lesson10["traceEvents"] if e.get("cat") == "after the response"]
    assert {e["name"] for e in background} >= {"background send_welcome_email", "background mark_welcomed"}
    assert {e["ph"] for e in background} == {"b", "e"}
    assert not [e for e in lesson10["traceEvents"] if e["name"].startswith("background") and e["ph"] in "BEX"]


# -- stages that do not nest, a request cut off ----------------------------------------


def test_a_stage_that_overlaps_its_neighbour_keeps_both_formats_valid() -> None:
    events = request_events("r1", made(OVERLAP), 1, count(1))
    check_perfetto({"displayTimeUnit": "ms", "traceEvents": events})
    db = [e for e in events if e["name"] == "dependency db"]
    assert [(e["ph"], e["cat"]) for e in db] == [("b", "overlapping"), ("e", "overlapping")]
    spans = request_spans("r1", made(OVERLAP), 0)
    check_otlp_tree({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]})
    root = next(s for s in spans if "parentSpanId" not in s)
    assert next(s for s in spans if s["name"] == "dependency db")["parentSpanId"] == root["spanId"]


def test_a_request_cut_off_ends_its_open_stages_at_its_last_event() -> None:
    events = request_events("r1", made(CUT), 1, count(1))
    check_perfetto({"displayTimeUnit": "ms", "traceEvents": events})
    assert [e["ph"] for e in events if e["ph"] in "BE"] == ["B", "B", "B", "E", "E", "E"]
    assert all(e["args"]["ended"] is False for e in events if e["ph"] == "B")
    spans = request_spans("r1", made(CUT), 0)
    check_otlp_tree({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]})
    assert {s["endTimeUnixNano"] for s in spans} == {"3000"}
    assert all(attrs(s)["lifecycle.ended"] == {"boolValue": False} for s in spans)


# -- the command ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_damaged_recording_is_one_sentence_and_exit_2(fmt: str, tmp_path: Path, recorded: dict[str, Any]) -> None:
    lines = recorded["path"].read_text(encoding="utf-8").splitlines(keepends=True)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(lines[:-3]) + lines[-3][:25], encoding="utf-8")  # cut off in its last line
    done = cli("export", str(bad), "--format", fmt)
    assert done.returncode == 2 and done.stdout == ""
    message = done.stderr.strip()
    assert message.startswith("Error: ") and "Traceback" not in message and "\n" not in message, message
    assert f"bad.jsonl:{len(lines) - 2}: the line is not JSON" in message and message.endswith("recording.")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl"]  # no half-written file left


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_recording_without_a_request_is_one_sentence_and_exit_2(fmt: str, tmp_path: Path,
                                                                     recorded: dict[str, Any]) -> None:
    lifespan = [line for line in recorded["path"].read_text(encoding="utf-8").splitlines(keepends=True)
                if '"request_id":"startup' in line]
    only = tmp_path / "lifespan.jsonl"
    only.write_text("".join(lifespan), encoding="utf-8")
    done = cli("export", str(only), "-f", fmt, "-o", str(tmp_path / "out"))
    assert (done.returncode, done.stderr.strip()) == (2, "Error: The trace holds no request to export.")
    assert not (tmp_path / "out").exists()


def test_one_request_asked_for(recorded: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "r3.json"
    done = cli("export", str(recorded["path"]), "-f", "otlp", "--request", "r3", "-o", str(out))
    assert done.returncode == 0, done.stderr
    spans = otlp_spans(json.loads(out.read_text(encoding="utf-8")))
    assert {s["traceId"] for s in spans} == {next(s["traceId"] for s in otlp_spans(recorded["otlp"])
                                                  if s["name"] == "GET /boom")}
    missing = cli("export", str(recorded["path"]), "-f", "har", "--request", "r99", "-o", str(out))
    assert missing.returncode == 2 and missing.stderr.startswith("Error: There is no request 'r99' in the trace")


def test_each_request_is_placed_by_its_own_wall_clock_reading_not_the_files_time(
        recorded: dict[str, Any], tmp_path: Path) -> None:
    """An old mtime (a copy without -p) moves nothing once the requests read the clock; without it, it does."""
    import os

    source = recorded["path"]
    lines = source.read_text(encoding="utf-8").splitlines()
    moved = tmp_path / "copied.jsonl"
    moved.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.utime(moved, ns=(10**18, 10**18))  # 2001: far from when the requests ran
    older = tmp_path / "older.jsonl"  # as recorded before the reading was kept
    stripped = []
    for line in lines:
        ev = json.loads(line)
        ev["detail"].pop("wall_ns", None)
        stripped.append(json.dumps(ev))
    older.write_text("\n".join(stripped) + "\n", encoding="utf-8")
    os.utime(older, ns=(10**18, 10**18))
    starts = {}
    for name, path in (("copied", moved), ("older", older)):
        done = cli("export", str(path), "--format", "otlp", "-o", str(tmp_path / f"{name}.json"))
        assert done.returncode == 0, done.stderr
        data = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))
        starts[name] = [int(s["startTimeUnixNano"]) for s in otlp_spans(data) if s["kind"] == 2]
    assert all(recorded["before"] <= t <= recorded["after"] for t in starts["copied"])
    assert all(t < 10**18 + 1 for t in starts["older"])  # placed by the (old) file time, as the output says
