"""Exit codes and the one-sentence error every bad input ends in."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

EXIT_OK, EXIT_CHECKS_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    """Print one sentence on stderr. Its words often hold someone else's (an app's exception, a peer's
    reason): control characters in them are shown as escapes, and markup as text."""
    from ..visible import visible

    Console(stderr=True, highlight=False, soft_wrap=True).print(Text("Error: ", style="bold red")
                                                                + Text(visible(message)))
    return code


def run_tui_or_fail(controller: Any, **options: Any) -> int:
    """Run the TUI; what stopped its controller from serving (``controller.failure``) is one sentence."""
    from ..server import BindError, ServerStartError
    from ..tui.launch import run_tui

    code = run_tui(controller, **options)
    failure = controller.failure
    if failure is None:
        return code
    if isinstance(failure, BindError | ServerStartError):
        return fail(str(failure))
    return fail(f"Serving the app failed: {type(failure).__name__}: {failure}.")
