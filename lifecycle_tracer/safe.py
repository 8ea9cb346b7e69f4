"""JSON-safe previews of arbitrary values, and redaction of secrets.

Events carry previews, never live objects: a preview is small, JSON-safe and
cannot keep a request's data alive after the request ends.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel as _BaseModel

PREVIEW_CHARS = 200
MAX_ITEMS = 20
MAX_DEPTH = 4

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


def preview(value: Any, depth: int = 0, redact: bool = False) -> Any:
    """A JSON-safe, size-bounded copy of ``value`` for an event's detail.

    With ``redact``, values under secret-looking keys (password, token,
    api_key, ...) are replaced, at any depth, including inside JSON bytes.
    """
    tp = type(value)
    if tp is str:
        return value if len(value) <= PREVIEW_CHARS else truncate(value)
    if tp is int or tp is bool or value is None:
        return value
    if tp is float:
        return value if value - value == 0 else repr(value)  # nan and inf are not JSON
    if depth < MAX_DEPTH and hasattr(tp, "__pydantic_fields__") and hasattr(value, "__dict__"):
        value = value.__dict__  # a model's field values, without a full model_dump
        tp = dict
    if (tp is list or tp is tuple) and len(value) <= MAX_ITEMS and depth < MAX_DEPTH:
        return [preview(v, depth + 1, redact) for v in value]
    if tp is bytes and len(value) <= PREVIEW_CHARS * 4:
        if redact and _SECRETISH_BYTES.search(value) and value[:1] in (b"{", b"["):
            try:
                return preview(json.loads(value), depth, redact)
            except ValueError:
                pass
        try:
            return truncate(value.decode("utf-8"))
        except UnicodeDecodeError:
            return truncate(repr(value))
    if tp is dict and len(value) <= MAX_ITEMS and depth < MAX_DEPTH:
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = k if type(k) is str else str(k)
            vt = type(v)
            if redact and _secret_key(key):
                out[key] = REDACTED
            elif vt is str and len(v) <= PREVIEW_CHARS or vt is int or vt is bool or vt is float and v - v == 0 or v is None:
                out[key] = v
            else:
                out[key] = preview(v, depth + 1, redact)
        return out
    return _preview_slow(value, depth, redact)


_secret_cache: dict[str, bool] = {}


def _secret_key(key: str) -> bool:
    hit = _secret_cache.get(key)
    if hit is None:
        hit = bool(_SECRETISH.search(key))
        if len(_secret_cache) < 4096:
            _secret_cache[key] = hit
    return hit


def _preview_slow(value: Any, depth: int, redact: bool) -> Any:
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
        out = {}
        for i, (k, v) in enumerate(value.items()):
            if i >= MAX_ITEMS:
                out["…"] = f"{len(value) - MAX_ITEMS} more"
                break
            key = str(k)
            out[key] = REDACTED if redact and _secret_key(key) else preview(v, depth + 1, redact)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        shown = [preview(v, depth + 1, redact) for v in items[:MAX_ITEMS]]
        if len(items) > MAX_ITEMS:
            shown.append(f"… {len(items) - MAX_ITEMS} more")
        return shown
    # Never call a method of a user's object to preview it: a Mock records the
    # call (and the app can see it), a property may do I/O. Models only.
    if isinstance(value, _BaseModel):
        try:
            return preview(value.model_dump(mode="json"), depth + 1, redact)
        except Exception:
            pass
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Field by field, so secret-looking fields are redacted like any other.
        return preview({f.name: getattr(value, f.name, None) for f in dataclasses.fields(value)}, depth + 1, redact)
    try:
        text = repr(value)
    except Exception:
        return f"<{type(value).__name__}>"
    if redact and _SECRETISH.search(text):
        # An object whose repr mentions a password or token may be printing it.
        return f"<{type(value).__name__}: hidden, it may hold a secret>"
    return truncate(text)


def exc_message(exc: BaseException) -> str:
    """``str(exc)`` for a detail; an exception whose ``__str__`` fails must not escape."""
    try:
        return truncate(str(exc))
    except Exception:
        return f"<{type(exc).__name__}: str() failed>"


def exc_type(exc: BaseException) -> str:
    """An exception's full name: fastapi's and starlette's HTTPException are different classes."""
    tp = type(exc)
    return tp.__qualname__ if tp.__module__ == "builtins" else f"{tp.__module__}.{tp.__qualname__}"


def type_name(value: Any) -> str:
    """The class name a learner recognises (``Session``, ``HTTPException``), without its module."""
    return type(value).__qualname__


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
        hit = names.get(key)
        if hit is None:
            name = key.decode("latin-1")
            hit = (name, is_secret_header(name))
            if len(names) < 4096:
                names[bytes(key)] = hit
        name, secret = hit
        value = val.decode("latin-1")
        if redact and secret:
            value = redact_value(name, value)
        out.append([name, value if len(value) <= PREVIEW_CHARS else truncate(value)])
    return out


_HEADER_NAMES: dict[bytes, tuple[str, bool]] = {}


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
