"""One key exports the current trace four ways, into one folder whose path is shown."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ..export import html_page, mermaid
from ..sinks import JsonLinesSink


def export_all(app: Any, base: Path) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = base / f"lifecycle-tracer-export-{stamp}"
    n = 1
    while folder.exists():
        n += 1
        folder = base / f"lifecycle-tracer-export-{stamp}-{n}"
    folder.mkdir(parents=True)
    groups = {rid: list(view.events) for rid, view in app.store.requests.items()}
    sink = JsonLinesSink(folder / "trace.jsonl")
    for events in groups.values():
        for ev in events:
            sink.emit(ev)
    sink.close()
    selected = groups.get(app.selected or "") or next((e for e in groups.values() if e), [])
    if selected:
        (folder / "request.mmd").write_text(mermaid(selected), encoding="utf-8")
    (folder / "trace.html").write_text(html_page(groups, title="lifecycle-tracer export"), encoding="utf-8")
    app.save_screenshot(filename="screen.svg", path=str(folder))
    return folder
