"""Exit codes and the one-sentence error every bad input ends in."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

EXIT_OK, EXIT_CHECKS_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    Console(stderr=True, highlight=False, soft_wrap=True).print(Text("Error: ", style="bold red") + Text(message))
    return code
