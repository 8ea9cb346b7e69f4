"""Secrets: which names carry one, and the header pairs and details they are hidden in.

Redaction happens at the source (the hooks call these while building an
event's facts), so every sink and export is safe by default.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

PREVIEW_CHARS = 200

SECRET_HEADERS = frozenset(
    {"authorization", "cookie", "set-cookie", "x-api-key", "proxy-authorization"}
)
# Header and parameter names that look like they carry a secret.
# "token_type" (bearer) names a kind of token, not a token: it teaches and stays visible.
_SECRETISH = re.compile(r"(api[-_]?key|token(?!_type)|secret|password|passwd|authorization|cookie)", re.I)
_SECRETISH_BYTES = re.compile(_SECRETISH.pattern.encode(), re.I)
REDACTED = "[redacted]"


def truncate(text: str, limit: int = PREVIEW_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… (+{len(text) - limit + 1} chars)"


_secret_cache: dict[str, bool] = {}


def _secret_key(key: str) -> bool:
    hit = _secret_cache.get(key)
    if hit is None:
        hit = bool(_SECRETISH.search(key))
        if len(_secret_cache) < 4096:
            _secret_cache[key] = hit
    return hit


def is_secret_header(name: str) -> bool:
    lower = name.lower()
    return lower in SECRET_HEADERS or "api-key" in lower or "apikey" in lower


def is_secretish(name: str) -> bool:
    return _secret_key(name)


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
    names = _HEADER_NAMES
    for key, val in raw:
        hit = names.get(key) if type(key) is bytes else None
        if hit is None:
            name = _header_text(key)
            hit = (name, is_secret_header(name))
            if len(names) < 4096 and type(key) is bytes:
                names[key] = hit
        name, secret = hit
        value = val.decode("latin-1") if type(val) is bytes else _header_text(val)
        if redact and secret:
            value = redact_value(name, value)
        out.append([name, value if len(value) <= PREVIEW_CHARS else truncate(value)])
    return out


_HEADER_NAMES: dict[bytes, tuple[str, bool]] = {}


def _header_text(raw: Any) -> str:
    """A header name or value the app sent as something other than bytes (a str, which servers accept)."""
    if isinstance(raw, str):
        return str.__str__(raw)
    if isinstance(raw, bytes | bytearray | memoryview):
        return bytes(raw).decode("latin-1")
    return f"<{type(raw).__name__}>"


def redact_detail(value: Any, key: str = "") -> Any:
    """Redact an already recorded detail again (for replay and export).

    A trace recorded with ``--show-secrets`` keeps secrets; showing or
    exporting it without ``--show-secrets`` hides them once more.
    """
    if isinstance(value, dict):
        return {k: REDACTED if _secret_key(str(k)) and not isinstance(v, dict | list) else redact_detail(v, str(k))
                for k, v in value.items()}
    if isinstance(value, list):
        if key == "headers" and all(isinstance(p, list) and len(p) == 2 for p in value):
            return [[n, redact_value(n, v) if is_secret_header(str(n)) and v != REDACTED else v] for n, v in value]
        return [redact_detail(v, key) for v in value]
    return value
