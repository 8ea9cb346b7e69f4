"""``export --format perfetto|otlp|har``: the formats other tools open, written a request at a time.

``t_ns`` is the monotonic clock, which counts from an arbitrary moment (on
Linux, the boot). OTLP and HAR need unix times: a request's start holds the
wall clock it read (``wall_ns``), which places that request. Recordings made
before it was kept have one wall-clock fact, the file's modification time
(when its last line was written), and their requests are placed by it, the
last line's ``t_ns`` being that time; the output says so, and a copy that did
not keep the time (``cp`` without ``-p``) moves every time with it. Perfetto
shows the recorded clock as it is.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from ..events import TraceEvent
from ..export.har import har_file
from ..export.otlp import otlp_file
from ..export.perfetto import perfetto_file
from ..recording import MAX_LINE_BYTES
from .recorded import NoRequest

SUFFIXES = {"perfetto": ".perfetto.json", "otlp": ".otlp.json", "har": ".har"}
_TAIL_BLOCK = 64 * 1024

Requests = Iterable[tuple[str, list[TraceEvent]]]


def write_format(fmt: str, file: Path, groups: Requests, target: Path, version: str, *,
                 need_request: bool = True) -> None:
    """Write ``groups`` as ``fmt`` to ``target``; ``NoRequest`` when it holds no request but the lifespan's."""
    seen = 0

    def counted() -> Iterator[tuple[str, list[TraceEvent]]]:
        nonlocal seen
        for rid, evs in groups:
            seen += evs[0].detail.get("type") != "lifespan"
            yield rid, evs

    def check() -> None:
        if need_request and not seen:
            raise NoRequest("The trace holds no request to export.")

    if fmt == "perfetto":
        chunks = perfetto_file(counted(), title=f"lifecycle-tracer: {file.name}")
    else:
        offset, clock = clock_offset(file)
        if fmt == "otlp":
            chunks = otlp_file(counted(), service=file.stem, version=version, offset_ns=offset, clock=clock)
        else:
            chunks = har_file(counted(), version=version, offset_ns=offset, comment=f"Exported by lifecycle-tracer "
                              f"from {file.name}, as the server saw each request. {clock}")
    write_atomically(target, chunks, check)


def clock_offset(file: Path) -> tuple[int, str]:
    """Unix ns minus recorded ns, and a sentence saying where that came from."""
    try:
        info = file.stat()
        last = _last_t_ns(file, info.st_size) if stat.S_ISREG(info.st_mode) else None
    except OSError:
        last = None
    if last is None:
        return 0, (f"Times are the recording's monotonic clock, not wall-clock time: {file.name} holds no "
                   "wall-clock time and is not a file whose modification time could place it.")
    written = datetime.fromtimestamp(info.st_mtime_ns / 1e9, UTC).isoformat(timespec="seconds")
    return info.st_mtime_ns - last, (
        "Each request is placed in time by the wall clock it read when it began; a request recorded before "
        f"lifecycle-tracer kept that reading is placed by {file.name}'s modification time ({written}), "
        "taken as the moment its last event was written.")


def _last_t_ns(file: Path, size: int) -> int | None:
    """The ``t_ns`` of the file's last line, read from its end; None if that line is not a readable event."""
    block = _TAIL_BLOCK
    with open(file, "rb") as fh:
        while True:
            fh.seek(max(size - block, 0))
            tail = fh.read(block).rstrip()
            cut = tail.rfind(b"\n")
            if cut >= 0 or block >= size or block > MAX_LINE_BYTES:
                break
            block *= 4
    try:
        data = json.loads(tail[cut + 1:])
    except ValueError:  # damaged: reading the whole file says where, in its own words
        return None
    t_ns = data.get("t_ns") if isinstance(data, dict) else None
    return t_ns if type(t_ns) is int and t_ns >= 0 else None


def write_atomically(target: Path, chunks: Iterable[str], check: Callable[[], None]) -> None:
    """Write the chunks beside ``target`` and move them over it once all are written and ``check`` passes.

    A recording found damaged half-way leaves no half file and no lost old one
    (as ``recorded.write_html`` does); a device or a pipe is written straight.
    """
    final = target.resolve() if target.is_symlink() else target
    direct = final.exists() and not final.is_file()
    temp = final if direct else final.with_name(f".{final.name}.{os.getpid()}.part")
    try:
        # A lone surrogate (a path a client sent as bad UTF-8) cannot be UTF-8: it becomes "?" rather than an error.
        with open(temp, "w", encoding="utf-8", errors="replace") as out:
            for chunk in chunks:
                out.write(chunk)
        check()
        if not direct:
            os.replace(temp, final)
    finally:
        if not direct and temp.exists():
            temp.unlink()
