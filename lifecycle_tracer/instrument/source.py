"""Where a callable's code lives (file and first line), for the detail pane."""

from __future__ import annotations

import inspect
import re
from functools import lru_cache
from typing import Any

from pydantic import BaseModel


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


_KIND: dict[int, tuple[Any, bool, bool]] = {}


def kind_of(call: Any) -> tuple[bool, bool]:
    """(is_generator, is_async) as declared, remembered per callable."""
    hit = _KIND.get(id(call))
    if hit is not None and hit[0] is call:
        return hit[1], hit[2]
    dunder = None if inspect.isfunction(call) else getattr(type(call), "__call__", None)  # noqa: B004
    target = dunder or call
    kind = (inspect.isgeneratorfunction(target) or inspect.isasyncgenfunction(target),
            inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target))
    if len(_KIND) > 20000:
        _KIND.clear()
    _KIND[id(call)] = (call, *kind)
    return kind


_MODULE_PATH = re.compile(r"\b(?:[A-Za-z_]\w*\.)+([A-Za-z_]\w*)")


def type_label(annotation: Any) -> str:
    """``list[Product]`` rather than ``list[app.models.Product]``."""
    if isinstance(annotation, type):
        return annotation.__name__
    text = str(annotation)
    for junk in ("<class '", "'>"):
        text = text.replace(junk, "")
    return _MODULE_PATH.sub(r"\1", text)


def mentions_model(annotation: Any, depth: int = 0) -> bool:
    """Whether a declared type contains a Pydantic model (whose undeclared fields get dropped)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    if depth > 5:
        return False
    return any(mentions_model(arg, depth + 1) for arg in getattr(annotation, "__args__", ()) or ())
