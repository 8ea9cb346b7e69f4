"""Reading a recording back: checked events, grouped into requests, in bounded memory.

A recording is a file anyone can hand to ``replay`` or ``export``: damaged,
cut off, hand-edited, or not a recording at all. Every problem becomes one
``RecordingError`` naming the file (and the line), and nothing is read whole:
a line is read with a length limit before it is parsed, its nesting is
bounded before ``json`` recurses into it, and requests are handed on as they
end while at most ``HOLD_EVENTS`` events wait in memory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from .events import TraceEvent

MAX_LINE_BYTES = 8 * 1024 * 1024  # the tracer's longest lines (a route table, a validation report) are far shorter
MAX_DEPTH = 64  # the tracer's facts nest a few levels (previews stop at 4); displays walk them recursively
HOLD_EVENTS = 20_000  # about 50 MB of events; a recording up to this size is grouped exactly as a whole
DAMAGED = "the file is damaged or not a lifecycle-tracer recording"

_GZIP, _OPENERS = b"\x1f\x8b", (b"[", b"{")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


class RecordingError(ValueError):
    """A recording that cannot be read; the message is one sentence naming the file."""


def read_events(path: str | Path) -> Iterator[TraceEvent]:
    """The file's events in file order, each one checked (``TraceEvent.from_dict``).

    A missing file or a folder is reported here; anything inside the file
    as the events are read.
    """
    path = Path(path)
    if not path.exists():
        raise RecordingError(f"There is no file {path}; record one with `lifecycle-tracer run LESSON --record {path}`.")
    if path.is_dir():
        raise RecordingError(f"{path} is a folder; give the JSON Lines file written with --record.")
    return _read(path)


def _read(path: Path) -> Iterator[TraceEvent]:
    try:
        with open(path, "rb") as fh:
            yield from _parse(path, fh)
    except OSError as exc:
        raise RecordingError(f"Could not read {path}: {exc.strerror or exc}.") from exc


def _parse(path: Path, fh: BinaryIO) -> Iterator[TraceEvent]:
    readline = fh.readline
    n = 0
    while raw := readline(MAX_LINE_BYTES + 1):
        n += 1
        if n == 1:
            if raw.startswith(_GZIP):
                raise RecordingError(f"{path} is gzip-compressed, not a JSON Lines recording; unpack it first (gunzip).")
            raw = raw.removeprefix(b"\xef\xbb\xbf")  # a byte-order mark an editor added
        if len(raw) > MAX_LINE_BYTES:
            raise _damaged(path, n, f"the line is longer than {MAX_LINE_BYTES // 2**20} MiB")
        if not raw.strip():
            continue
        yield _event(path, n, raw)


def parse_line(source: str, n: int, raw: bytes, request_prefix: str = "") -> TraceEvent:
    """One line of a live stream (``viewer.py``), checked as a recording's line is.

    ``request_prefix`` goes before the request id (the sending process's tag).
    """
    return _event(source, n, raw, request_prefix, "the stream is damaged or not from a LiveSink", arrays=True)


def _event(path: Path | str, n: int, raw: bytes, prefix: str = "", damaged: str = DAMAGED,
           arrays: bool = False) -> TraceEvent:
    data = _quick(raw)
    if data is _SLOW:
        data = _careful(path, n, raw, damaged)
    if arrays and type(data) is list and 7 <= len(data) <= 8:  # LiveSink's event: its fields in order
        if prefix and type(data[0]) is str:
            data[0] = prefix + data[0]
        try:
            return TraceEvent.from_fields(*data)
        except ValueError as exc:
            raise _damaged(path, n, str(exc), damaged) from None
    if prefix and isinstance(data, dict) and isinstance(data.get("request_id"), str):
        data["request_id"] = prefix + data["request_id"]
    try:
        return TraceEvent.from_dict(data)
    except ValueError as exc:
        raise _damaged(path, n, str(exc), damaged) from None


_SLOW = object()
_DIGITS_AS_0 = bytes.maketrans(b"123456789", b"000000000")
# orjson reads an integer exactly from -2**63 to 2**64 - 1: any of up to 19 digits, unless negative.
# Past that it reads a float. A 20-digit run, or a minus and 19 digits, may be past it.
_LONG_NUMBER, _LONG_NEGATIVE = b"0" * 20, b"-" + b"0" * 19


def _quick(raw: bytes) -> Any:
    """The line read by orjson (about three times faster than json: a live stream is thousands of lines
    a second), or ``_SLOW`` for any line it may read differently from json or refuse. orjson reads an
    integer past 64 bits as a float, which changes a fact, so a number that may be past it goes the careful
    way (a request's ``wall_ns``, 19 digits, does not), as do deep nesting and anything orjson refuses
    (a NUL byte or any control character, bad UTF-8, NaN), where json says what is wrong."""
    if raw.count(_OPENERS[0]) + raw.count(_OPENERS[1]) > MAX_DEPTH:
        return _SLOW
    digits = raw.translate(_DIGITS_AS_0)
    if _LONG_NUMBER in digits or _LONG_NEGATIVE in digits:
        return _SLOW
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _SLOW


def _careful(path: Path | str, n: int, raw: bytes, damaged: str) -> Any:
    """The line read by json, each way it can be wrong said in words."""
    nul = b"\x00" in raw  # JSON writes it as \u0000: a raw one is binary data
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or nul:
        if n == 1:
            raise RecordingError(f"{path} is not a text file (it holds binary data); "
                                 "give the JSON Lines file written with --record.")
        raise _damaged(path, n, "the line holds a NUL byte" if nul else "the line is not UTF-8 text", damaged)
    if raw.count(_OPENERS[0]) + raw.count(_OPENERS[1]) > MAX_DEPTH and _depth(raw) > MAX_DEPTH:
        raise _damaged(path, n, f"the line nests more than {MAX_DEPTH} levels deep", damaged)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        cut = "" if raw.endswith(b"\n") else " (the last line is cut off: was the recording interrupted?)"
        raise _damaged(path, n, f"the line is not JSON ({exc.msg.lower()}, column {exc.colno}){cut}", damaged) from None
    except RecursionError:  # not reached past the depth check; kept so that no input can make a traceback
        raise _damaged(path, n, f"the line nests more than {MAX_DEPTH} levels deep", damaged) from None
    except ValueError:  # a number of more digits than int() takes
        raise _damaged(path, n, "the line holds a number too long to read", damaged) from None


def _depth(raw: bytes) -> int:
    """How deeply the JSON text nests, brackets inside strings not counted; stops counting past the limit."""
    depth = deepest = 0
    for byte in _STRING.sub(b"", raw).translate(None, _NOT_BRACKET):
        if byte in (0x5B, 0x7B):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    break
        else:
            depth -= 1
    return deepest


def _damaged(path: Path | str, n: int, what: str, damaged: str = DAMAGED) -> RecordingError:
    return RecordingError(f"{path}:{n}: {what}; {damaged}.")


def read_requests(path: str | Path, hold: int = HOLD_EVENTS) -> Iterator[tuple[str, list[TraceEvent]]]:
    """The file's requests as ``(request_id, events in seq order)``, each handed on once it can be.

    While the file holds at most ``hold`` events this is its requests in the
    order they first appear, as ``export.group`` makes them. Past that, the
    request that ended first is handed on (or, when none has ended, the
    oldest as it stands), so memory stays bounded whatever the file holds.
    A second start of a request id starts a new request: files appended to
    before ids were unique per session hold ``r1`` once per session.
    """
    return group_stream(read_events(path), Path(path), hold)


def group_stream(events: Iterable[TraceEvent], path: Path, hold: int = HOLD_EVENTS) -> Iterator[tuple[str, list[TraceEvent]]]:
    """``read_requests`` for events already read from ``path`` (named in the error for a file of none)."""
    groups: dict[int, list[TraceEvent]] = {}  # by a key of their own, in order of first appearance
    latest: dict[str, int] = {}  # request id -> key of its latest group still held
    started: set[int] = set()  # keys of groups holding their request's start
    ended: dict[int, None] = {}  # keys of groups whose request ended, in the order they ended
    held = count = 0

    def release(key: int) -> tuple[str, list[TraceEvent]]:
        nonlocal held
        evs = groups.pop(key)
        ended.pop(key, None)
        started.discard(key)
        held -= len(evs)
        rid = evs[0].request_id
        if latest.get(rid) == key:
            del latest[rid]
        return rid, sorted(evs, key=lambda e: e.seq)

    for ev in events:
        count += 1
        rid, is_request = ev.request_id, ev.stage == "request"
        key = latest.get(rid)
        if key is None or (key in started and is_request and ev.kind == "start"):
            key = latest[rid] = count
            groups[key] = []
        groups[key].append(ev)
        held += 1
        if is_request:
            if ev.kind == "start":
                started.add(key)
            elif ev.kind == "end":
                ended[key] = None
        while held > hold:
            yield release(next(iter(ended)) if ended else next(iter(groups)))
    if not count:
        raise RecordingError(f"{path} holds no events; a recording has one JSON object per line.")
    while groups:
        yield release(next(iter(groups)))
