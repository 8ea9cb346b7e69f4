"""Request data never controls the screen: every display shows controls and bidi marks as escapes, never markup.

A real FastAPI app under a real uvicorn echoes what a client sent (path, query,
header, body, an exception's message) full of terminal escape sequences, a C1
CSI, a right-to-left override and rich markup. Each place that shows a trace
(the live console sink, ``nested()``, ``replay --plain``, the Mermaid and HTML
exports, the TUI's panes) must show those characters as visible escapes.
"""

from __future__ import annotations

import html
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import Body, FastAPI, Header
from rich.console import Console
from test_export import mermaid_dir  # noqa: F401  (the fixture: Mermaid's own parser, installed once)
from textual.geometry import Region
from textual.widget import Widget

from lifecycle_tracer import Recorder, TraceEvent, instrument
from lifecycle_tracer.export import group, html_page, mermaid
from lifecycle_tracer.server import ServerThread
from lifecycle_tracer.sinks import ConsoleSink, JsonLinesSink, nested
from lifecycle_tracer.tui.app import TracerApp
from lifecycle_tracer.tui.controllers import ReplayController
from lifecycle_tracer.tui.messages import StepPaused
from lifecycle_tracer.tui.panes import DetailPane, History, Pipeline, Waterfall
from lifecycle_tracer.visible import visible

WAIT = 30.0  # seconds; only ever reached when something is broken

TITLE = "\x1b]0;PWNED\x07"  # OSC 0: sets the terminal's window title
CLEAR = "\x1b[2J"  # CSI 2 J: clears the screen
LINK = "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\"  # OSC 8: a hyperlink
RLO = "\u202e"  # right-to-left override: the rest reads backwards
CSI = "\x9b"  # C1 CSI, one byte
MARKUP = ("[link=http://evil]x[/link]", "[/x]", "[bold]")
CONTROLS = TITLE + CLEAR + LINK + RLO + CSI + "\u2066\u200f"
# A path segment cannot hold "/", so the markup with slashes travels in the query and the body.
PATH = "/echo/" + quote(TITLE + CLEAR + RLO + CSI + "[bold]", safe="")
QUERY = CONTROLS + "".join(MARKUP)
# h11 refuses ESC in a header; C1 bytes and UTF-8 bytes it lets through, and uvicorn reads them as Latin-1.
HEADER = "\u202e[link=http://evil]x[/link]".encode() + b"\x9b2J[/x]"
BODY = CONTROLS + "".join(MARKUP) + "<script>alert(1)</script>"
NOWHERE = "/nowhere/[/x]/[link=http://evil]x[/link]<script>"

# What may never reach a screen raw: C0 controls but the newline, DEL, C1, bidi controls.
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
SGR = re.compile(r"\x1b\[[0-9;]*m")  # rich's own colours


def assert_clean(text: str, where: str) -> None:
    """No control or bidi character in ``text`` but rich's own SGR colour codes."""
    left = RAW.findall(SGR.sub("", text))
    assert not left, f"{where} shows raw {sorted(set(left))!r}"


def assert_escaped(text: str, where: str) -> None:
    """The payloads are there, as visible escapes."""
    for escape in (r"\x1b]0;PWNED\x07", r"\x1b[2J", r"\u202e", r"\x9b"):
        assert escape in text, f"{where} does not show {escape}"


# -- the traced app ---------------------------------------------------------------


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/echo/{word}")
    def echo(word: str, q: str = "", x_note: str = Header("")) -> dict[str, str]:
        return {"word": word, "q": q, "note": x_note}

    @app.post("/boom")
    def boom(payload: dict[str, Any] = Body(...)) -> None:
        raise ValueError(payload["msg"])

    return app


class Traced:
    def __init__(self, events: list[TraceEvent], console_out: str) -> None:
        self.events = events
        self.console_out = console_out
        self.groups = {rid: evs for rid, evs in group(events).items() if evs[0].detail.get("type") != "lifespan"}


def requests_done(rec: Recorder) -> list[str]:
    groups = rec.by_request()
    return [rid for rid in rec.completed() if groups[rid][0].detail.get("type") != "lifespan"]


@pytest.fixture(scope="module")
def traced() -> Iterator[Traced]:
    app = make_app()
    rec = Recorder()
    tracer = instrument(app, sink=rec)
    out = io.StringIO()
    # The live sink as `trace --plain` uses it, on a terminal that would obey escapes.
    sink = ConsoleSink(Console(file=out, force_terminal=True, color_system="truecolor", width=2000),
                       show_request=True)
    tracer.add_sink(sink)
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=WAIT) as client:
        echoed = client.get(PATH, params={"q": QUERY}, headers={"x-note": HEADER})
        assert echoed.status_code == 200 and echoed.json()["q"] == QUERY  # the data arrived intact
        assert client.get(NOWHERE).status_code == 404
        assert client.post("/boom", json={"msg": BODY}).status_code == 500
        # The client has its answer before the request's end event: wait for the three ends.
        assert rec.wait_for(lambda _: len(requests_done(rec)) >= 3, timeout=WAIT)
    assert sink.flush(WAIT)
    tracer.remove_sink(sink)
    sink.close()
    yield Traced(list(rec.events), out.getvalue())


def test_the_recording_keeps_the_true_data(traced: Traced) -> None:
    starts = [evs[0] for evs in traced.groups.values()]
    assert starts[0].detail["path"] == "/echo/" + TITLE + CLEAR + RLO + CSI + "[bold]"
    raised = [e.detail["message"] for evs in traced.groups.values() for e in evs if e.stage == "exception"]
    assert BODY in raised


# -- visible() ---------------------------------------------------------------------


def test_visible_writes_each_hidden_character_as_an_escape() -> None:
    assert visible(TITLE) == r"\x1b]0;PWNED\x07"
    assert visible("a\u202eb\u2066c\u200fd\u061c") == r"a\u202eb\u2066c\u200fd\u061c"
    assert visible("\x9b\x7f\x00\t\r\n") == r"\x9b\x7f\x00\t\r\n"
    assert visible("line\u2028two\ud800") == r"line\u2028two\ud800"  # a lone surrogate cannot even be written
    assert visible("one\ntwo\tx", newlines=True) == "one\ntwo\\tx"
    plain = "GET /items/{id} → 200 [bold] café 日本"
    assert visible(plain) is plain  # nothing to escape: the same string back
    assert visible(404) == "404"


# -- the console ---------------------------------------------------------------------


def test_the_live_console_sink_shows_escapes(traced: Traced) -> None:
    out = traced.console_out
    assert "\x1b[" in out  # it is a terminal: rich did colour the lines
    assert_clean(out, "the console sink")
    assert_escaped(out, "the console sink")
    for markup in MARKUP:
        assert markup in out, f"the console sink did not show {markup} as text"


def test_nested_lines_show_escapes(traced: Traced) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, color_system="truecolor", width=2000)
    for events in traced.groups.values():
        for line in nested(events, look_for=("validation",)):
            console.print(line)
    text = out.getvalue()
    assert_clean(text, "nested()")
    assert_escaped(text, "nested()")
    assert "[link=http://evil]x[/link]" in text and "[/x]" in text


def test_replay_plain_shows_escapes(traced: Traced, tmp_path: Path) -> None:
    recording = tmp_path / "nasty.jsonl"
    sink = JsonLinesSink(recording)
    for ev in traced.events:
        sink.emit(ev)
    sink.close()
    env = {**os.environ, "FORCE_COLOR": "1", "TERM": "xterm-256color", "COLUMNS": "2000"}
    env.pop("NO_COLOR", None)
    proc = subprocess.run([sys.executable, "-m", "lifecycle_tracer", "replay", str(recording), "--plain"],
                          capture_output=True, text=True, encoding="utf-8", env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "\x1b[" in proc.stdout  # colour was on, so escapes would have reached the terminal
    assert_clean(proc.stdout, "replay --plain")
    assert_escaped(proc.stdout, "replay --plain")
    assert "[link=http://evil]x[/link]" in proc.stdout and "[/x]" in proc.stdout


# -- the exports ---------------------------------------------------------------------


def drawn_by_mermaid(root: Path, text: str) -> dict[str, list[str]]:
    """Mermaid's own parse of ``text``: every participant and message as Mermaid will draw it."""
    script = (
        "import mermaid from 'mermaid'; import fs from 'fs';"
        "await mermaid.parse('sequenceDiagram\\n  A->>B: x\\n');"  # loads the sequence diagram's parser
        "const d = await mermaid.mermaidAPI.getDiagramFromText(fs.readFileSync(0, 'utf8'));"
        "const notes = d.db.getMessages().map(m => m.message);"
        "console.log(JSON.stringify({actors: [...d.db.getActors().values()].map(a => a.description), notes}));"
    )
    proc = subprocess.run(["node", "--input-type=module", "-e", script], input=text, capture_output=True,
                          text=True, cwd=root, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr + text
    parsed = json.loads(proc.stdout)

    def drawn(label: str) -> str:
        # Mermaid turns its entity codes into HTML entities (ﬂ°° is "&#", ﬂ° "&", ¶ß ";"); the browser decodes them.
        return html.unescape(label.replace("ﬂ°°", "&#").replace("ﬂ°", "&").replace("¶ß", ";"))

    return {key: [drawn(label) for label in labels] for key, labels in parsed.items()}


def test_mermaid_shows_escapes_and_markup_as_text(traced: Traced, mermaid_dir: Path) -> None:  # noqa: F811
    everything = []
    for rid, events in traced.groups.items():
        text = mermaid(events)
        assert_clean(text, f"the Mermaid export of {rid}")
        assert "<" not in text and ">" not in text.replace("->>", "").replace("-->>", "")
        drawn = drawn_by_mermaid(mermaid_dir, text)
        everything += drawn["actors"] + drawn["notes"]
    shown = "\n".join(everything)
    assert_clean(shown, "the Mermaid diagram")
    assert r"\x1b]0;PWNED\x07" in shown and r"\u202e" in shown and r"\x9b" in shown
    assert "match /nowhere/[/x]/[link=http://evil]x[/link]<script>" in everything  # drawn as it was sent


def test_html_shows_escapes_and_no_tags(traced: Traced) -> None:
    from html.parser import HTMLParser

    page = html_page(group(traced.events), title="nasty")
    assert_clean(page, "the HTML export")
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page

    class Texts(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.texts: list[str] = []
            self.tags: set[str] = set()

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            self.tags.add(tag)

        def handle_data(self, data: str) -> None:
            self.texts.append(data)

    parser = Texts()
    parser.feed(page)
    shown = "".join(parser.texts)
    page_tags = "html head meta title style body h1 h2 p em section small table tr td span b div details summary pre"
    assert parser.tags <= set(page_tags.split())  # the page's own tags: none came from the data
    assert_escaped(shown, "the HTML page's text")
    assert "[link=http://evil]x[/link]" in shown and "<script>alert(1)</script>" in shown


# -- the TUI ---------------------------------------------------------------------------


def rendered(widget: Widget) -> str:
    """What ``widget`` draws, every line of it, joined with spaces (a wrapped word stays whole)."""
    width, height = widget.size
    strips = widget.render_lines(Region(0, 0, width, height))
    return " ".join("".join(seg.text for seg in strip).rstrip() for strip in strips)


@pytest.mark.anyio
async def test_the_tui_shows_escapes_and_never_markup(traced: Traced) -> None:
    app = TracerApp(ReplayController(traced.events, title="nasty"))
    async with app.run_test(size=(240, 60)) as pilot:
        await pilot.pause()
        seen: dict[str, list[str]] = {"history": [], "pipeline": [], "waterfall": [], "detail": []}
        for rid, events in traced.groups.items():
            row = app.store.order.index(rid) + 2  # below the border and the header row
            await pilot.click(History, offset=(2, row))
            assert app.selected == rid
            await pilot.press("home")
            for n in range(len(events)):
                assert app.cursor == n
                seen["detail"].append(rendered(app.query_one(DetailPane)))
                seen["waterfall"].append(rendered(app.query_one(Waterfall)))
                await pilot.press("right")
            seen["pipeline"].append(rendered(app.query_one(Pipeline)))
            seen["history"].append(rendered(app.query_one(History)))
        svg = app.export_screenshot()  # what `e` saves as screen.svg
        app.post_message(StepPaused(next(iter(traced.groups.values()))[0]))  # held at the echo's start
        await pilot.pause()
        status = rendered(app.query_one("#status"))
        await pilot.press("q")

    for pane, texts in seen.items():
        text = " ".join(texts)
        assert_clean(text, f"the {pane} pane")
        assert r"\x1b]0;PWNED" in text, f"the {pane} pane does not show the escaped path"
    detail = " ".join(seen["detail"])
    assert_escaped(detail, "the detail pane")
    assert "[link=http://evil]x[/link]" in detail and "[/x]" in detail and "[bold]" in detail
    assert "<script>alert(1)</script>" in detail
    assert r"\x1b]0;PWNED\x07" in " ".join(seen["pipeline"])  # the request's title line
    assert_clean(svg, "the screenshot")
    assert_clean(status, "the status bar")
    assert r"‖ r1 is waiting before GET /echo/\x1b]0;PWNED\x07\x1b[2J\u202e\x9b[bold]" in status


def test_trace_plain_shows_the_clients_text_as_escapes_in_its_own_and_uvicorns_lines(tmp_path: Path) -> None:
    """``trace --plain`` prints events, and uvicorn logs the app's exception with its message: both are
    the client's text, and neither reaches the terminal raw."""
    (tmp_path / "hostile.py").write_text(
        "from fastapi import FastAPI\n"
        "app = FastAPI()\n"
        "@app.get('/boom/{text:path}')\n"
        "async def boom(text: str):\n"
        "    raise ValueError('refused ' + text)\n", encoding="utf-8")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "lifecycle_tracer", "trace", "hostile:app", "--plain", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=tmp_path,
                            env=env, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = re.search(r"http://\S+", first)
        assert url is not None, first + proc.stderr.read() if proc.stderr else first
        status = httpx.get(url.group(0) + "/boom/" + quote(CONTROLS, safe=""), timeout=WAIT).status_code
        assert status == 500
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=WAIT)
    shown = first + out + err
    assert "refused" in err and "ValueError" in err  # uvicorn's traceback is still there, escaped
    for raw in ("\x1b", "\x07", "\x9b", "\u202e", "\u2066", "\u200f"):
        assert raw not in shown, f"{raw!r} reached the terminal"
    assert "\\x1b]0;PWNED\\x07" in err and "\\x1b]0;PWNED\\x07" in out


def test_an_apps_import_error_is_one_sentence_with_its_control_characters_escaped(tmp_path: Path) -> None:
    (tmp_path / "badimp.py").write_text('raise RuntimeError("boom \\x1b]0;IMPTITLE\\x07 [bold]x[/bold]")\n', "utf-8")
    done = subprocess.run([sys.executable, "-m", "lifecycle_tracer", "trace", "badimp:app", "--plain", "--port", "0"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Importing 'badimp' failed" in done.stderr, done.stderr
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr and "\\x1b]0;IMPTITLE" in done.stderr
    assert "[bold]x[/bold]" in done.stderr and "Traceback" not in done.stderr
