"""JSON Lines: ``JsonLinesSink`` writes a recording, ``read_jsonl`` reads one back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from ..events import TraceEvent
from .offthread import OffThreadSink


class JsonLinesSink(OffThreadSink):
    """Writes each event as one JSON object per line.

    Encoding and writing happen on the sink's writer thread (see
    ``OffThreadSink``); the file is flushed whenever that thread has caught
    up, and by ``flush()``. ``close()`` closes the file if the sink opened it
    (given a path) and leaves a file object it was handed open.
    """

    def __init__(self, target: str | Path | IO[str]) -> None:
        if isinstance(target, str | Path):
            self._file: IO[str] = open(target, "a", encoding="utf-8")  # noqa: SIM115
            self._owned = True
        else:
            self._file = target
            self._owned = False
        super().__init__()

    def _write(self, event: TraceEvent) -> None:
        self._file.write(json.dumps(event.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n")

    def _sync(self) -> None:
        self._file.flush()

    def _close_target(self) -> None:
        if self._owned:
            self._file.close()


def read_jsonl(path: str | Path) -> list[TraceEvent]:
    events = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    events.append(TraceEvent.from_dict(json.loads(line)))
                except (ValueError, TypeError, KeyError) as exc:
                    raise ValueError(f"{path}:{n}: not a trace event ({exc})") from exc
    return events
