"""Exports: the Mermaid diagram parses with Mermaid itself; the HTML page opens in a real browser."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lifecycle_tracer.export import group, html_page, mermaid, pick_request
from lifecycle_tracer.sinks import read_jsonl


@pytest.fixture(scope="module")
def lesson_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rich.console import Console

    from lifecycle_tracer.course.loader import find, load
    from lifecycle_tracer.course.plain import run_plain

    path = tmp_path_factory.mktemp("trace") / "lesson1.jsonl"
    import io

    assert run_plain(load(find("lesson1")), Console(file=io.StringIO()), record=path)
    return path


@pytest.fixture(scope="module")
def mermaid_dir() -> Path:
    """Mermaid's own parser (npm ``mermaid``), installed once into a cache folder."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to validate Mermaid exports with Mermaid's own parser; install Node.js 20+")
    root = Path(os.environ.get("LIFECYCLE_TRACER_NODE_CACHE", Path(tempfile.gettempdir()) / "lifecycle-tracer-node"))
    if not (root / "node_modules" / "mermaid").is_dir():
        root.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(root), "--no-audit", "--no-fund", "mermaid@11"],
                       check=True, capture_output=True, timeout=600)
    return root


def parse_mermaid(root: Path, text: str) -> tuple[bool, str]:
    script = (
        "import mermaid from 'mermaid'; import fs from 'fs';"
        "try { const r = await mermaid.parse(fs.readFileSync(0, 'utf8')); console.log('OK', r.diagramType); }"
        "catch (e) { console.log('ERR', e.message); process.exitCode = 1; }"
    )
    proc = subprocess.run(["node", "--input-type=module", "-e", script], input=text, capture_output=True,
                          text=True, cwd=root, timeout=120)
    return proc.returncode == 0, proc.stdout + proc.stderr


def test_mermaid_export_parses(lesson_trace: Path, mermaid_dir: Path) -> None:
    groups = group(read_jsonl(lesson_trace))
    for rid, events in groups.items():
        if events[0].detail.get("type") == "lifespan":
            continue
        text = mermaid(events)
        ok, out = parse_mermaid(mermaid_dir, text)
        assert ok, f"{rid}: {out}\n{text}"
        assert out.startswith("OK sequence")
    first = mermaid(pick_request(groups, None))
    assert "participant P1 as ServerErrorMiddleware" in first and "C->>P1: GET /hello/Ada" in first


def test_mermaid_validator_rejects_broken_syntax(mermaid_dir: Path) -> None:
    ok, out = parse_mermaid(mermaid_dir, "sequenceDiagram\n    C->>: nothing\n")
    assert not ok and "Parse error" in out


def test_mermaid_labels_cannot_break_the_syntax(mermaid_dir: Path) -> None:
    from lifecycle_tracer import TraceEvent

    nasty = 'evil; name: #x "q" <b>\n{y}'
    events = [
        TraceEvent("r1", 0, "request", "start", "GET /", 0, {"method": "GET", "path": "/a;b:c#d"}, "x"),
        TraceEvent("r1", 1, "middleware", "start", nasty, 1, {"depth": 0}, "x"),
        TraceEvent("r1", 2, "routing", "point", nasty, 2, {"matched": True, "route": "/{x}", "path": nasty}, "x"),
        TraceEvent("r1", 3, "endpoint", "start", nasty, 3, {"threadpool": True}, "x"),
        TraceEvent("r1", 4, "endpoint", "end", nasty, 4, {"returned": nasty}, "x"),
        TraceEvent("r1", 5, "middleware", "end", nasty, 5, {"called_next": True}, "x"),
        TraceEvent("r1", 6, "request", "end", "request", 6, {"status_code": 200}, "x"),
    ]
    ok, out = parse_mermaid(mermaid_dir, mermaid(events))
    assert ok, out


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture
def browser() -> Iterator[str]:
    found = _browser()
    if found is None:
        pytest.skip("no headless browser installed (CI installs Debian's chromium)")
    yield found


def test_html_export_opens_in_a_browser(lesson_trace: Path, browser: str, tmp_path: Path) -> None:
    events = read_jsonl(lesson_trace)
    page = tmp_path / "trace.html"
    page.write_text(html_page(group(events)), encoding="utf-8")
    profile = tmp_path / "profile"
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    requests = [rid for rid, evs in group(events).items()]
    assert dom.count("<section>") == len(requests)
    assert "ServerErrorMiddleware" in dom and "GET /hello/Ada" in dom
    assert "Uncaught" not in proc.stderr and "CONSOLE" not in proc.stderr
