"""JSON Lines: ``JsonLinesSink`` writes a recording, ``read_jsonl`` reads one back."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import IO

from ..events import TraceEvent
from ..recording import read_events
from .offthread import OffThreadSink

_TAIL_BYTES = 1024 * 1024
_SESSION = re.compile(rb'"request_id"\s*:\s*"s(\d{1,9})\.')
# A --record left running on a long `trace` must not fill the disk; this is some 7,000 requests of ~15 KB.
DEFAULT_MAX_BYTES = 100_000_000


class JsonLinesSink(OffThreadSink):
    """Writes each event as one JSON object per line.

    Encoding and writing happen on the sink's writer thread (see
    ``OffThreadSink``); the file is flushed whenever that thread has caught
    up, and by ``flush()``. ``close()`` closes the file if the sink opened it
    (given a path) and leaves a file object it was handed open.

    Given a path that already holds a recording, the sink appends and
    writes this session's request ids under a session mark (``s2.r1``,
    ``s2.startup1``; ``session`` says which), and says so once on stderr:
    every tracer counts ``r1, r2, ...`` from one, and the file must not hold
    two different requests under one id.

    The file grows to ``max_bytes`` at most (100 MB unless given; ``None``
    for no limit), counting what it held before; a sink handed a file object
    counts only what it writes. The event that would pass the limit and all
    later ones are not written, so the file ends on a whole line, and
    stderr is told once; ``full`` is then true.
    """

    def __init__(self, target: str | Path | IO[str], max_bytes: int | None = DEFAULT_MAX_BYTES) -> None:
        self.session = 1
        self.max_bytes = max_bytes
        self.full = False
        self._size = 0  # bytes in the file; counted only under a limit
        if isinstance(target, str | Path):
            self._file: IO[str] = open(target, "a", encoding="utf-8")  # noqa: SIM115
            self._owned = True
            self._size = self._file.tell()
            self.session = _next_session(target, self._size)
        else:
            self._file = target
            self._owned = False
        self._prefix = f"s{self.session}." if self.session > 1 else ""
        if self._prefix:
            print(f"Appending to {target}: this session's requests are {self._prefix}r1, {self._prefix}r2, …",
                  file=sys.stderr, flush=True)
        self._name = str(target) if self._owned else getattr(target, "name", "The recording")
        super().__init__()

    def _write(self, event: TraceEvent) -> None:
        if self.full:
            return
        data = event.to_dict()
        if self._prefix:
            data["request_id"] = self._prefix + data["request_id"]
        line = json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"
        size = len(line)
        if not line.isascii():
            try:
                size = len(line.encode("utf-8"))
            except UnicodeEncodeError:  # a lone surrogate a client sent ("\ud800"): UTF-8 cannot hold it
                line = json.dumps(data, separators=(",", ":")) + "\n"
                size = len(line)
        if self.max_bytes is not None:
            if self._size + size > self.max_bytes:
                self.full = True
                print(f"{self._name} reached its {_amount(self.max_bytes)} limit; later requests are not recorded.",
                      file=sys.stderr, flush=True)
                return
            self._size += size
        self._file.write(line)

    def _sync(self) -> None:
        self._file.flush()

    def _close_target(self) -> None:
        if self._owned:
            self._file.close()


def _amount(n: int) -> str:
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if n >= size and n % (size // 10) == 0:
            return f"{n / size:g} {unit}"
    return f"{n:,} bytes"


def _next_session(path: str | Path, size: int) -> int:
    """1 for an empty file; else one past the latest session mark in the file's tail (sessions append in order)."""
    if size <= 0:
        return 1
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, size - _TAIL_BYTES))
            tail = fh.read(_TAIL_BYTES)
    except OSError:  # opened for appending, but not for reading: a second session all the same
        return 2
    return max((int(m) for m in _SESSION.findall(tail)), default=1) + 1


def read_jsonl(path: str | Path) -> list[TraceEvent]:
    """Every event of a recording, in file order; ``ValueError`` names the file and line of a damaged one.

    This holds the whole file in memory: ``lifecycle_tracer.recording.read_requests``
    reads request by request.
    """
    return list(read_events(path))
