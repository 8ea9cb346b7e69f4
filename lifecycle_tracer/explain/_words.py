"""Small helpers the sentence modules share."""

from __future__ import annotations

from typing import Any


def short(value: Any, limit: int = 60) -> str:
    """A value as it reads in a sentence: text quoted, the rest as written, cut to ``limit``."""
    text = repr(value) if isinstance(value, str) else _plain(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, dict | list):
        import json

        try:
            return json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def ms(ns: Any) -> str:
    try:
        return f"{float(ns) / 1e6:.2f} ms"
    except (TypeError, ValueError):
        return "an unknown time"


def thread(detail: dict[str, Any]) -> str:
    """Where code ran, as observed."""
    if detail.get("threadpool") is True:
        return "in a worker thread of the threadpool"
    if detail.get("threadpool") is False:
        return "on the event loop"
    return ""
