"""JSON-safe previews of arbitrary values, and redaction of secrets.

Events carry previews, never live objects: a preview is small, JSON-safe and
cannot keep a request's data alive after the request ends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

PREVIEW_CHARS = 200
MAX_ITEMS = 20
MAX_DEPTH = 4

SECRET_HEADERS = frozenset(
    {"authorization", "cookie", "set-cookie", "x-api-key", "proxy-authorization"}
)
# Header and parameter names that look like they carry a secret.
_SECRETISH = re.compile(r"(api[-_]?key|token|secret|password|passwd|authorization|cookie)", re.I)
REDACTED = "[redacted]"


def truncate(text: str, limit: int = PREVIEW_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… (+{len(text) - limit + 1} chars)"


def preview(value: Any, depth: int = 0, redact: bool = False) -> Any:
    """A JSON-safe, size-bounded copy of ``value`` for an event's detail.

    With ``redact``, values under secret-looking keys (password, token,
    api_key, ...) are replaced, at any depth, including inside JSON bytes.
    """
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else repr(value)
    if isinstance(value, str):
        return truncate(value)
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        if redact and raw[:1] in (b"{", b"[") and len(raw) <= 65536:
            try:
                return preview(json.loads(raw), depth, redact)
            except ValueError:
                pass
        try:
            return truncate(raw.decode("utf-8"))
        except UnicodeDecodeError:
            return truncate(repr(raw))
    if depth >= MAX_DEPTH:
        return truncate(repr(value))
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for i, (k, v) in enumerate(value.items()):
            if i >= MAX_ITEMS:
                out["…"] = f"{len(value) - MAX_ITEMS} more"
                break
            key = str(k)
            out[key] = REDACTED if redact and is_secretish(key) else preview(v, depth + 1, redact)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        shown = [preview(v, depth + 1, redact) for v in items[:MAX_ITEMS]]
        if len(items) > MAX_ITEMS:
            shown.append(f"… {len(items) - MAX_ITEMS} more")
        return shown
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return preview(dump(mode="json"), depth + 1, redact)
        except Exception:
            pass
    try:
        return truncate(repr(value))
    except Exception:
        return f"<{type(value).__name__}>"


def type_name(value: Any) -> str:
    tp = type(value)
    if tp.__module__ in ("builtins", None):
        return tp.__qualname__
    return f"{tp.__module__}.{tp.__qualname__}"


def qualname(obj: Any) -> str:
    """A readable name for a callable: functions by qualname, instances by class."""
    name = getattr(obj, "__qualname__", None)
    if isinstance(name, str):
        return name
    func = getattr(obj, "func", None)  # functools.partial
    if func is not None and func is not obj:
        return qualname(func)
    return type(obj).__qualname__


def is_secret_header(name: str) -> bool:
    lower = name.lower()
    return lower in SECRET_HEADERS or "api-key" in lower or "apikey" in lower


def is_secretish(name: str) -> bool:
    return bool(_SECRETISH.search(name))


def redact_value(name: str, value: str) -> str:
    if name.lower() in ("authorization", "proxy-authorization"):
        scheme, _, rest = value.partition(" ")
        if rest:  # the scheme ("Bearer", "Basic") is not a secret and teaches
            return f"{scheme} {REDACTED}"
    return REDACTED


def header_pairs(
    raw: Iterable[tuple[bytes, bytes]] | None, redact: bool
) -> list[list[str]]:
    """ASGI header pairs as ``[[name, value], ...]`` with secrets redacted."""
    out: list[list[str]] = []
    if not raw:
        return out
    for key, val in raw:
        name = key.decode("latin-1")
        value = val.decode("latin-1")
        if redact and is_secret_header(name):
            value = redact_value(name, value)
        out.append([name, truncate(value)])
    return out
