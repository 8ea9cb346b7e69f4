"""``--share``: the session's broadcast, started from the command line with one sentence if it cannot be."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text


def share_session(address: str | None, controller: Any, show_secrets: bool = False) -> Any:
    """The session's ``BroadcastSink`` for --share, or None; ``ValueError`` with one sentence if it cannot.

    Shared beyond this machine, the TUI's title says so for as long as it runs (the warning on stderr is
    gone once the TUI takes the screen), and says when the followers see the secrets too.
    """
    if address is None:
        return None
    from ..broadcast import BroadcastError, start_share
    from .inputs import exposure_warning

    try:
        share = start_share(address, controller.title)
    except BroadcastError as exc:
        raise ValueError(str(exc)) from None
    if (warning := exposure_warning(share.host, "share", show_secrets)) is not None:
        Console(stderr=True).print(Text(warning, style="bold yellow"))
        controller.title += f" — shared beyond this machine on {share.host}" + (", secrets shown" if show_secrets
                                                                                  else "")
    return share
