"""One key exports what the TUI holds seven ways. A session writes into one folder, each export a
numbered folder inside it; in a browser (--web) the HTML and JSON Lines are also downloaded."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

from ..export import html_page, mermaid
from ..sinks import JsonLinesSink


def session_folder(app: Any, base: Path) -> Path:
    """The session's export folder, made on the first export: one per session, not one per key press."""
    folder = getattr(app, "export_folder", None)
    if folder is not None and folder.is_dir():
        return folder
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = base / f"lifecycle-tracer-export-{stamp}"
    n = 1
    while folder.exists():
        n += 1
        folder = base / f"lifecycle-tracer-export-{stamp}-{n}"
    folder.mkdir(parents=True)
    app.export_folder = folder
    return folder


def export_all(app: Any, base: Path) -> tuple[Path, str]:
    """Write the export; the folder written and the sentence that says what is in it."""
    session = session_folder(app, base)
    n = 1
    while (session / str(n)).exists():
        n += 1
    folder = session / str(n)
    folder.mkdir()
    groups = {rid: list(view.events) for rid, view in app.store.requests.items()}
    sink = JsonLinesSink(folder / "trace.jsonl")
    for events in groups.values():
        for ev in events:
            sink.emit(ev)
    sink.close()
    chosen = app.selected if app.selected in groups else next((rid for rid, e in groups.items() if e), None)
    drawn = ""
    if chosen is not None and groups[chosen]:
        (folder / "request.mmd").write_text(mermaid(groups[chosen]), encoding="utf-8")
        drawn = f" (the Mermaid diagram draws {chosen} only: one request per diagram)"
    (folder / "trace.html").write_text(html_page(groups, title="lifecycle-tracer export"), encoding="utf-8")
    others = _other_formats(folder, groups)
    app.save_screenshot(filename="screen.svg", path=str(folder))
    requests = sum(1 for evs in groups.values() if evs and evs[0].detail.get("type") != "lifespan")
    said = f"Exported {requests} request(s) as JSON Lines, Mermaid, HTML and SVG{others} to {folder}{drawn}."
    if getattr(app, "is_web", False):
        # The files were written where the server runs. One download, not one per file: a browser that
        # blocks pop-ups lets only the first of several through.
        bundle = folder.with_name(f"{n}.zip")
        with zipfile.ZipFile(bundle, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(folder.iterdir()):
                zf.write(path, f"lifecycle-tracer-{n}/{path.name}")
        app.deliver_binary(bundle, save_filename=f"lifecycle-tracer-{n}.zip", open_method="download")
        said += f" Your browser downloads them all as lifecycle-tracer-{n}.zip."
    return folder, said


def _other_formats(folder: Path, groups: dict[str, list[Any]]) -> str:
    """Perfetto, OTLP and HAR beside the rest, for the tools that open them; said only if written."""
    from .. import __version__
    from ..cli.formats import SUFFIXES, write_format

    written = []
    for fmt, suffix in SUFFIXES.items():
        try:
            write_format(fmt, folder / "trace.jsonl", groups.items(), folder / f"trace{suffix}", __version__,
                         need_request=False)
            written.append(fmt)
        except Exception as exc:  # an export the other tools could not open is a lost file, never a lost session
            import logging

            logging.getLogger("lifecycle_tracer").warning("the %s export failed: %s", fmt, exc)
    names = {"perfetto": "Perfetto", "otlp": "OTLP", "har": "HAR"}
    return f", {', '.join(names[f] for f in written)}" if written else ""
