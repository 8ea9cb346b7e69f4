"""What ``replay`` and ``export`` do with a recording, request by request: nothing holds the whole file."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path

from rich.console import Console
from rich.text import Text

from ..events import TraceEvent
from ..export import html_page, mermaid, redacted
from ..recording import read_requests
from ..timeline import ran_ns, request_ns
from ..visible import visible

Requests = Iterable[tuple[str, list[TraceEvent]]]


class NoRequest(LookupError):
    """The request asked for is not in the recording; the message says which ones are."""


MAX_TUI_EVENTS = 100_000  # what the TUI replay holds at most, besides its --history count of requests
_NAMED_IDS = 20  # a "no such request" message lists this many ids


def requests(file: Path, show_secrets: bool) -> Iterator[tuple[str, list[TraceEvent]]]:
    """The recording's requests, secrets hidden again unless asked (checks on the path happen at once)."""
    groups = read_requests(file)
    return groups if show_secrets else ((rid, redacted(evs)) for rid, evs in groups)


def print_plain(groups: Requests, console: Console) -> None:
    from ..sinks import nested

    for rid, evs in groups:
        first, last = evs[0], evs[-1]
        took = (request_ns(last.detail) or ran_ns(evs)) / 1e6  # without step mode's holds
        # A Text, not a str: rule() would read a path like "[/x]" or "[link=...]" as markup.
        console.rule(Text(visible(f"{rid}: {first.name} → {last.detail.get('status_code')}  ({took:.1f} ms)")))
        for line in nested(evs):
            console.print(line)


def latest(groups: Requests, max_requests: int) -> tuple[list[TraceEvent], int, int]:
    """The events of the last ``max_requests`` requests (at most ``MAX_TUI_EVENTS``), how many were kept and seen."""
    kept: deque[list[TraceEvent]] = deque()
    held = seen = 0
    for _, evs in groups:
        seen += 1
        kept.append(evs)
        held += len(evs)
        while len(kept) > max_requests or (held > MAX_TUI_EVENTS and len(kept) > 1):
            held -= len(kept.popleft())
    return [ev for evs in kept for ev in evs], len(kept), seen


def pick(groups: Requests, request_id: str | None) -> list[TraceEvent]:
    """One request's events: the one asked for, or the first that is not the lifespan; ``NoRequest`` says why not."""
    chosen: list[TraceEvent] | None = None
    named: list[str] = []
    seen = 0
    for rid, evs in groups:  # read to the end all the same: a damaged file is reported whatever is asked of it
        seen += 1
        if len(named) < _NAMED_IDS:
            named.append(rid)
        if chosen is None and (rid == request_id if request_id is not None else evs[0].detail.get("type") != "lifespan"):
            chosen = evs
    if chosen is not None:
        return chosen
    if request_id is None:
        raise NoRequest("The trace holds no request to export.")
    more = f", … ({seen} in all)" if seen > len(named) else ""
    raise NoRequest(f"There is no request {request_id!r} in the trace; it has {', '.join(named)}{more}.")


def mermaid_of(groups: Requests, request_id: str | None, show_secrets: bool) -> str:
    events = pick(groups, request_id)
    return mermaid(events if show_secrets else redacted(events))


def write_html(groups: Requests, target: Path, title: str) -> None:
    """The HTML page, written one request's section at a time.

    Each section is cut out of ``html_page`` for that request alone (its data
    is escaped, so ``<section>`` marks only its bounds): the page comes out
    as ``html_page`` of all requests would make it. A regular file is
    written beside the target and moved over it at the end, so a recording
    found damaged half-way leaves no half page and no lost old file.
    """
    final = target.resolve() if target.is_symlink() else target
    direct = final.exists() and not final.is_file()  # a device or a pipe: write straight to it
    temp = final if direct else final.with_name(f".{final.name}.{os.getpid()}.part")
    tail = ""
    try:
        with open(temp, "w", encoding="utf-8") as out:
            for n, (rid, evs) in enumerate(groups):
                page = html_page({rid: evs}, title=title)
                start, end = page.index("<section>"), page.rindex("</section>") + len("</section>")
                out.write(page[:start] if n == 0 else "\n")
                out.write(page[start:end])
                tail = page[end:]
            out.write(tail)
        if not direct:
            os.replace(temp, final)
    finally:
        if not direct and temp.exists():
            temp.unlink()
