"""Damaged and hostile recordings: one sentence naming the file (and line), exit 2, never a traceback.

Every case is written to a file and given to ``replay --plain``, ``export
--format html`` and ``export --format mermaid`` through typer's runner (the
same ``commands.replay``/``commands.export`` the process calls, a hundred
times faster than a process each), and a few of them to the real process.
Genuine recordings with odd data (markup in a path, two sessions in one
file, a request that never ends) replay and export fine.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from lifecycle_tracer import JsonLinesSink, Recorder, TraceEvent, instrument
from lifecycle_tracer.cli.app import app as cli
from lifecycle_tracer.export import group, html_page, redacted
from lifecycle_tracer.recording import HOLD_EVENTS, MAX_LINE_BYTES, group_stream, read_requests
from lifecycle_tracer.server import ServerThread
from lifecycle_tracer.sinks import read_jsonl

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "lesson1_fixed_clock.jsonl"
GOOD = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
DAMAGED = "the file is damaged or not a lifecycle-tracer recording."
LINE = 17  # the line each "one bad event" case breaks


def lines(events: list[Any]) -> str:
    return "".join((e if isinstance(e, str) else json.dumps(e)) + "\n" for e in events)


def with_event(change: Callable[[dict[str, Any]], Any]) -> Callable[[Path], None]:
    """The genuine recording with line LINE changed (``change`` edits it, or returns its new text)."""
    def write(path: Path) -> None:
        events: list[Any] = json.loads(json.dumps(GOOD))
        events[LINE - 1] = change(events[LINE - 1]) or events[LINE - 1]
        path.write_text(lines(events), encoding="utf-8")
    return write


def setting(field: str, value: Any, in_detail: bool = False) -> Callable[[Path], None]:
    return with_event(lambda e: (e["detail"] if in_detail else e).__setitem__(field, value))


def raw(data: bytes | str) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data if isinstance(data, bytes) else data.encode())


def huge_line(path: Path) -> None:
    with open(path, "wb") as fh:  # 50 MB, no newline: the reader must stop long before the end
        fh.write(b'{"request_id":"r1","name":"')
        chunk = b"x" * (1 << 20)
        for _ in range(50):
            fh.write(chunk)


def png(path: Path) -> None:
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))


NESTED = '{"a":' * 100_000 + "1" + "}" * 100_000
DEEP_DETAIL: list[Any] = []
for _ in range(100):
    DEEP_DETAIL = [DEEP_DETAIL]
# (id, how to write the file, words the error must hold; None: the folder or missing-file cases)
CASES: list[tuple[str, Callable[[Path], None] | None, str]] = [
    ("not-json", with_event(lambda e: "this is not JSON"), f":{LINE}: the line is not JSON"),
    ("cut-off-last-line", lambda p: p.write_text(lines(GOOD[:5]) + json.dumps(GOOD[5])[:40]), ":6: the line is not JSON"),
    ("nested-100000-deep", raw(NESTED + "\n"), ":1: the line nests more than 64 levels deep"),
    ("detail-nested-deep", setting("x", DEEP_DETAIL, in_detail=True), f":{LINE}: the line nests more than 64 levels"),
    ("t_ns-infinity", with_event(lambda e: json.dumps(e).replace('"t_ns":', '"t_ns":Infinity,"was":')),
     f":{LINE}: t_ns is infinity"),
    ("t_ns-nan", with_event(lambda e: json.dumps(e).replace('"t_ns":', '"t_ns":NaN,"was":')), "t_ns is NaN"),
    ("t_ns-text", setting("t_ns", "soon"), "t_ns is the text 'soon'"),
    ("t_ns-bool", setting("t_ns", True), "t_ns is true"),
    ("t_ns-fraction", setting("t_ns", 1.5), "t_ns is the fraction 1.5"),
    ("t_ns-beyond-64-bits", setting("t_ns", 10**30), "t_ns is a number of more than 19 digits"),
    ("seq-negative", setting("seq", -1), "seq is the number -1"),
    ("number-of-5000-digits", with_event(lambda e: json.dumps(e).replace('"seq":', '"seq":' + "9" * 5000 + ',"was":')),
     "a number too long to read"),
    ("request_id-number", setting("request_id", 7), "request_id is the number 7"),
    ("request_id-empty", setting("request_id", ""), "request_id is empty text"),
    ("request_id-huge", setting("request_id", "r" * 5000), "not an id of 1 to 200 characters"),
    ("stage-unknown", setting("stage", "teleport"), "stage is the text 'teleport'"),
    ("kind-list", setting("kind", ["start"]), "kind is a list"),
    ("name-object", setting("name", {"a": 1}), "name is an object"),
    ("detail-list", setting("detail", [1, 2]), "detail is a list, not an object"),
    ("explain-number", setting("explain", 3), "explain is the number 3"),
    ("field-missing", with_event(lambda e: e.pop("t_ns") and None), "missing t_ns"),
    ("line-is-a-list", with_event(lambda e: "[1, 2]"), "it is a list, not a trace event object"),
    ("status_code-object", setting("status_code", {"code": 200}, in_detail=True), "detail.status_code is an object"),
    ("status_code-bool", setting("status_code", True, in_detail=True), "detail.status_code is true"),
    ("raised-int", setting("raised", 5, in_detail=True), "detail.raised is the number 5"),
    ("duration_ns-text", setting("duration_ns", "long", in_detail=True), "detail.duration_ns is the text"),
    ("ok-text", setting("ok", "yes", in_detail=True), "detail.ok is the text 'yes'"),
    ("phase-list", setting("phase", ["setup"], in_detail=True), "detail.phase is a list"),
    ("line-text", setting("line", "12", in_detail=True), "detail.line is the text '12'"),
    ("headers-pairs-of-numbers", setting("headers", [[1, 2]], in_detail=True), "detail.headers is a list"),
    ("headers-object", setting("headers", {"authorization": "x"}, in_detail=True), "detail.headers is an object"),
    ("a-50-MB-line", huge_line, f":1: the line is longer than {MAX_LINE_BYTES >> 20} MiB"),
    ("latin-1-line", lambda p: p.write_bytes(lines(GOOD[:3]).encode() + b'{"name":"caf\xe9"}\n'),
     ":4: the line is not UTF-8 text"),
    ("nul-byte", lambda p: p.write_bytes(lines(GOOD[:2]).encode() + b'{"name":"a\x00b"}\n'), ":3: the line holds a NUL byte"),
    ("random-bytes", raw(bytes(range(256)) * 64), "is not a text file (it holds binary data)"),
    ("png", png, "is not a text file (it holds binary data)"),
    ("gzip", lambda p: p.write_bytes(gzip.compress(lines(GOOD).encode())), "is gzip-compressed"),
    ("empty-file", raw(b""), "holds no events"),
    ("blank-lines-only", raw("\n \n\t\n"), "holds no events"),
    ("folder", None, "is a folder"),
    ("missing", None, "There is no file"),
]


def make(tmp: Path, case: str, write: Callable[[Path], None] | None) -> Path:
    path = tmp / f"{case}.jsonl"
    if case == "folder":
        path.mkdir()
    elif write is not None:
        write(path)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("bad")
    return {case: make(tmp, case, write) for case, write, _ in CASES}


WORDS = {case: words for case, _, words in CASES}
COMMANDS = {"replay": ["--plain"], "html": ["--format", "html"], "mermaid": ["--format", "mermaid"]}


def argv(command: str, path: Path) -> list[str]:
    if command == "replay":
        return ["replay", str(path), "--plain"]
    return ["export", str(path), *COMMANDS[command], "-o", str(path.parent / f"{path.stem}.out.{command}")]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lifecycle_tracer", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"})


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def assert_one_error(path: Path, code: int, stdout: str, stderr: str, words: str) -> None:
    everything = stdout + stderr
    assert "Traceback" not in everything, everything[-3000:]
    assert code == 2, (code, everything[-2000:])
    assert stderr.count("Error:") == 1 and everything.count("Error:") == 1, stderr
    message = " ".join(stderr.split())  # rich may wrap a long sentence
    assert str(path) in message and words in message, message
    if re.search(r":\d+: ", words):
        assert message.endswith(DAMAGED), message


@pytest.mark.parametrize("case", WORDS)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_bad_recording_is_one_sentence(files: dict[str, Path], case: str, command: str) -> None:
    path = files[case]
    code, out, err = invoke(*argv(command, path))
    assert_one_error(path, code, out, err, WORDS[case])
    left = list(path.parent.glob(f"{path.stem}.out.*")) + list(path.parent.glob(".*.part"))
    assert not left, "a damaged recording must leave no export, whole or half"


PROCESS_CASES = ["nested-100000-deep", "a-50-MB-line", "png"]


@pytest.fixture(scope="module")
def processes(files: dict[str, Path]) -> dict[tuple[str, str], subprocess.CompletedProcess[str]]:
    """A few cases through every command as its own process, two at a time."""
    jobs = [(case, command) for case in PROCESS_CASES for command in COMMANDS]
    with ThreadPoolExecutor(2) as pool:
        return dict(zip(jobs, pool.map(lambda job: run(*argv(job[1], files[job[0]])), jobs), strict=True))


@pytest.mark.parametrize("case", PROCESS_CASES)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_bad_recording_is_one_sentence_from_the_real_process(
        files: dict[str, Path], processes: dict[Any, Any], case: str, command: str) -> None:
    done = processes[(case, command)]
    assert_one_error(files[case], done.returncode, done.stdout, done.stderr, WORDS[case])


def test_a_bad_export_keeps_the_file_it_would_have_replaced(tmp_path: Path) -> None:
    bad = make(tmp_path, "raised", setting("raised", 5, in_detail=True))
    out = tmp_path / "trace.html"
    out.write_text("the export of yesterday")
    assert invoke("export", str(bad), "--format", "html", "-o", str(out))[0] == 2
    assert out.read_text() == "the export of yesterday"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raised.jsonl", "trace.html"]  # no part file left


# -- genuine recordings with odd data -------------------------------------------------


def record_session(path: Path, urls: list[str]) -> list[str]:
    """A real app under uvicorn, requests over a real socket, recorded with ``JsonLinesSink``; its printed notice."""
    app = FastAPI()

    @app.get("/files/{name:path}")
    def read_file(name: str) -> dict[str, str]:
        return {"name": name}

    rec = Recorder()
    tracer = instrument(app, sink=rec)
    sink = JsonLinesSink(path)
    tracer.add_sink(sink)
    with ServerThread(app, lifespan="off") as server, httpx.Client(base_url=server.url) as client:
        for url in urls:
            assert client.get(url).status_code == 200
        assert rec.wait_for(lambda _: len(rec.completed()) >= len(urls), timeout=20)
    sink.close()
    return rec.completed()


MARKUP = ["/files/[/x]", "/files/[link=http://evil]x[/link]", "/files/[bold]b[/]"]


def test_markup_in_a_genuine_recording_is_shown_as_written(tmp_path: Path) -> None:
    path = tmp_path / "markup.jsonl"
    record_session(path, MARKUP)
    done = run("replay", str(path), "--plain")
    assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr, done.stderr
    for url in MARKUP:
        assert f"GET {url}" in done.stdout, done.stdout  # in the heading (rule) and in the events, literally
    headings = [line for line in done.stdout.splitlines() if "GET /files/" in line and "─" in line]
    assert len(headings) == 3 and "[link=http://evil]x[/link]" in headings[1], headings
    assert "\x1b]8;" not in done.stdout  # no hyperlink was planted
    html = tmp_path / "markup.html"
    assert invoke("export", str(path), "-f", "html", "-o", str(html))[0] == 0
    assert "[link=http://evil]x[/link]" in html.read_text(encoding="utf-8")
    ids = {"r1": "[/x]", "r2": "[bold]x[/]", "r3": "[link=http://evil]x[/link]"}  # a crafted file: ids are data too
    crafted = tmp_path / "ids.jsonl"
    crafted.write_text(lines([{**e, "request_id": ids[e["request_id"]]} for e in map(json.loads, path.read_text().splitlines())]))
    code, out, err = invoke("replay", str(crafted), "--plain")
    assert code == 0, err
    assert [line.strip("─ ").split(": GET")[0] for line in out.splitlines() if "─" in line] == list(ids.values())


def test_two_sessions_in_one_file_replay_as_separate_requests(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "two.jsonl"
    assert record_session(path, ["/files/first-a", "/files/first-b"]) == ["r1", "r2"]
    assert "Appending" not in capfd.readouterr().err
    assert record_session(path, ["/files/second-a"]) == ["r1"]  # the tracer counts from r1 again...
    assert f"Appending to {path}: this session's requests are s2.r1, s2.r2, …" in capfd.readouterr().err
    assert sorted({e.request_id for e in read_jsonl(path)}) == ["r1", "r2", "s2.r1"]  # ...the file does not
    record_session(path, ["/files/third-a"])
    assert "s3.r1" in capfd.readouterr().err
    code, out, err = invoke("replay", str(path), "--plain")
    assert code == 0, err
    headings = [re.sub(r"\s*\(.*", "", line.strip("─ ")) for line in out.splitlines() if "─" in line]
    assert headings == ["r1: GET /files/first-a → 200", "r2: GET /files/first-b → 200",
                        "s2.r1: GET /files/second-a → 200", "s3.r1: GET /files/third-a → 200"], headings
    mmd = tmp_path / "second.mmd"
    assert invoke("export", str(path), "-f", "mermaid", "--request", "s2.r1", "-o", str(mmd))[0] == 0
    assert "/files/second-a" in mmd.read_text() and "/files/first-a" not in mmd.read_text()


def test_a_file_appended_to_before_ids_were_unique_still_shows_each_request(tmp_path: Path) -> None:
    path = tmp_path / "merged.jsonl"
    path.write_text(lines(GOOD + GOOD))  # two sessions, both r1..r3, as older versions wrote them
    groups = list(read_requests(path))
    once = list(dict.fromkeys(e["request_id"] for e in GOOD))  # r1..r4, in the order they were written
    assert [rid for rid, _ in groups] == once * 2
    assert all([e.seq for e in evs] == list(range(len(evs))) for _, evs in groups)


def odd(path: Path) -> None:
    by = group(TraceEvent.from_dict(e) for e in GOOD)
    r1 = [e for e in by["r1"] if not (e.stage == "request" and e.kind == "end")]  # never ended
    r2 = by["r2"][:1]  # one event only
    r3 = list(reversed(by["r3"]))  # out of seq order
    # every fact gone, but for a router that matched without naming its route
    r4 = [TraceEvent("r4", *e[1:6], {"matched": True} if e.stage == "routing" else {}) for e in by["r1"]]
    path.write_text(lines([e.to_dict() for e in r1 + r2 + r3 + r4]))


def test_valid_but_odd_recordings_replay_and_export(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    odd(path)
    code, out, err = invoke("replay", str(path), "--plain")
    assert code == 0 and "Traceback" not in out + err, err
    assert [line.strip("─ ").split(":")[0] for line in out.splitlines() if "─" in line] == ["r1", "r2", "r3", "r4"]
    for request in ("r1", "r2", "r3", "r4"):
        mmd = tmp_path / f"{request}.mmd"
        code, out, err = invoke("export", str(path), "-f", "mermaid", "--request", request, "-o", str(mmd))
        assert code == 0 and mmd.read_text().startswith("sequenceDiagram"), err
    html = tmp_path / "odd.html"
    assert invoke("export", str(path), "-f", "html", "-o", str(html))[0] == 0
    page = html.read_text(encoding="utf-8")
    assert page.count("<section>") == 4 and "r3: GET /goodbye/Ada" in page


def test_the_streamed_page_is_the_page_of_the_whole_recording(tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    assert invoke("export", str(FIXTURE), "-f", "html", "-o", str(out))[0] == 0
    whole = html_page(group(redacted(read_jsonl(FIXTURE))), title=f"lifecycle-tracer: {FIXTURE.name}")
    assert out.read_text(encoding="utf-8") == whole


# -- bounded memory ------------------------------------------------------------------


def counted(events: list[TraceEvent], pulled: list[int]) -> Iterator[TraceEvent]:
    for ev in events:
        pulled[0] += 1
        yield ev


def test_requests_are_handed_on_while_at_most_hold_events_wait(tmp_path: Path) -> None:
    one = [TraceEvent.from_dict(e) for e in GOOD if e["request_id"] == "r1"]
    events = [TraceEvent(f"q{n}", *e[1:]) for n in range(200) for e in one]
    pulled, given, hold = [0], 0, 50
    for n, (rid, evs) in enumerate(group_stream(counted(events, pulled), tmp_path / "x", hold=hold)):
        given += len(evs)
        assert rid == f"q{n}" and evs == [TraceEvent(rid, *e[1:]) for e in one]  # whole, and in order
        assert pulled[0] - given <= hold  # what was read and not yet handed on
    assert given == len(events) == pulled[0]


def test_a_request_that_never_ends_is_handed_on_in_bounded_pieces(tmp_path: Path) -> None:
    events = [TraceEvent("forever", n, "websocket", "point", "receive", n, {}) for n in range(1000)]
    pulled, given, hold = [0], 0, 40
    for rid, evs in group_stream(counted(events, pulled), tmp_path / "x", hold=hold):
        given += len(evs)
        assert rid == "forever" and len(evs) <= hold + 1 and pulled[0] - given <= hold
    assert given == 1000


def test_a_recording_within_the_hold_is_grouped_as_a_whole(tmp_path: Path) -> None:
    path = tmp_path / "interleaved.jsonl"
    events = read_jsonl(FIXTURE)
    path.write_text(lines([e.to_dict() for e in events[::2] + events[1::2]]))  # every request split in two
    assert len(events) < HOLD_EVENTS
    assert dict(read_requests(path)) == group(events)


def test_the_tui_replay_takes_the_latest_requests_within_its_bounds() -> None:
    from lifecycle_tracer.cli.recorded import MAX_TUI_EVENTS, latest

    def requests(n: int, size: int) -> Iterator[tuple[str, list[TraceEvent]]]:
        for i in range(n):
            yield f"q{i}", [TraceEvent(f"q{i}", s, "routing", "point", "routing", s, {}) for s in range(size)]

    events, kept, seen = latest(requests(600, 3), 500)
    assert (kept, seen) == (500, 600) and events[0].request_id == "q100" and len(events) == 1500
    events, kept, seen = latest(requests(30, MAX_TUI_EVENTS // 10), 500)
    assert seen == 30 and kept == 10 and len(events) <= MAX_TUI_EVENTS and events[-1].request_id == "q29"
