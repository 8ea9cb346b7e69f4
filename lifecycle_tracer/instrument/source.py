"""Where a callable's code lives (file and first line), for the detail pane."""

from __future__ import annotations

import inspect
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=4096)
def source_of(call: Any) -> tuple[str | None, int | None]:
    target = call
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        target = getattr(type(call), "__call__", call)  # noqa: B004 - a callable instance
    target = inspect.unwrap(target)
    try:
        return inspect.getsourcefile(target), inspect.getsourcelines(target)[1]
    except (TypeError, OSError):
        code = getattr(target, "__code__", None)
        if code is not None:
            return code.co_filename, code.co_firstlineno
        return None, None


def safe_source(call: Any) -> tuple[str | None, int | None]:
    try:
        return source_of(call)
    except Exception:  # unhashable callables, mocks whose __wrapped__ loops, C functions
        return None, None
