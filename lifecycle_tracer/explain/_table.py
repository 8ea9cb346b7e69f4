"""The one table of sentence writers, keyed by (stage, kind)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Say = Callable[[str, dict[str, Any]], str]
TABLE: dict[tuple[str, str], Say] = {}


def says(stage: str, *kinds: str) -> Callable[[Say], Say]:
    def register(fn: Say) -> Say:
        for kind in kinds:
            TABLE[(stage, kind)] = fn
        return fn

    return register
