"""``--share``: the session's broadcast, started from the command line with one sentence if it cannot be."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text


def share_session(address: str | None, name: str) -> Any:
    """The session's ``BroadcastSink`` for --share, or None; ``ValueError`` with one sentence if it cannot."""
    if address is None:
        return None
    from ..broadcast import BroadcastError, start_share
    from .inputs import exposure_warning

    try:
        share = start_share(address, name)
    except BroadcastError as exc:
        raise ValueError(str(exc)) from None
    if (warning := exposure_warning(share.host)) is not None:
        Console(stderr=True).print(Text(warning, style="bold yellow"))
    return share
