"""``diff`` and ``copy``: two recorded requests side by side, and one as a command to send it again."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.text import Text

from ..events import TraceEvent
from ..recording import RecordingError
from ..visible import visible
from .exits import EXIT_OK, fail
from .recorded import NoRequest, Requests, requests

_NAMED_IDS = 20


def pick_each(groups: Requests, wanted: list[str]) -> list[list[TraceEvent]]:
    """The events of each request id in ``wanted``, read in one pass; ``NoRequest`` names the ones missing."""
    found: dict[str, list[TraceEvent]] = {}
    named: list[str] = []
    seen = 0
    for rid, evs in groups:  # to the end all the same: a damaged file is reported whatever is asked of it
        seen += 1
        if len(named) < _NAMED_IDS:
            named.append(rid)
        if rid in wanted and rid not in found:
            found[rid] = evs
    missing = [rid for rid in wanted if rid not in found]
    if missing:
        more = f", … ({seen} in all)" if seen > len(named) else ""
        has = ", ".join(named) + more if named else "no request at all"
        raise NoRequest(f"There is no request {' or '.join(repr(m) for m in missing)} in the trace; it has {has}.")
    return [found[rid] for rid in wanted]


def diff(file: Path, first: str, second: str, *, show_secrets: bool) -> int:
    """Print the two requests' lifecycles side by side, the rows that differ marked ≠."""
    from ..tui.compare import render, rows

    try:
        a, b = pick_each(requests(file, show_secrets), [first, second])
    except (RecordingError, NoRequest) as exc:
        return fail(str(exc))
    console = Console()
    console.print(render(a, b, console.width, marked=False))
    differ = sum(1 for row in rows(a, b) if row.differs)
    console.print(Text(f"{differ} row(s) differ, marked ≠ (durations are shown, not compared)."
                       if differ else "The two requests went through the same stages with the same results."))
    return EXIT_OK


def copy(file: Path, request: str, *, as_what: str, base: str | None, show_secrets: bool) -> int:
    """Print one recorded request as a curl command or an httpx snippet."""
    from ..copyas import as_curl, as_httpx

    try:
        (events,) = pick_each(requests(file, show_secrets), [request])
    except (RecordingError, NoRequest) as exc:
        return fail(str(exc))
    text = (as_httpx if as_what == "httpx" else as_curl)(events, base)
    if text is None:
        return fail(visible(f"{request} is not an HTTP request (a WebSocket or the lifespan): it cannot be copied "
                            "as a command."))
    print(visible(text, newlines=True))
    return EXIT_OK
