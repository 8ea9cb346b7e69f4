"""JSON-safe previews of arbitrary values (secrets are hidden by ``redaction``).

Events carry previews, never live objects: a preview is small, JSON-safe and
cannot keep a request's data alive after the request ends.
"""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from typing import Any

from pydantic import BaseModel as _BaseModel

from .redaction import PREVIEW_CHARS, REDACTED, header_pairs, is_secret_name, redact_json_text, redact_raw, truncate

MAX_ITEMS = 20
MAX_DEPTH = 8
# Items looked at in one preview, all levels together: depth alone would allow 20**8.
MAX_NODES = 400


def preview(value: Any, depth: int = 0, redact: Any = False, budget: list[int] | None = None) -> Any:
    """A JSON-safe, size-bounded copy of ``value`` for an event's detail.

    Only builtin containers and scalars, Pydantic models' and dataclasses'
    field values, and Starlette's own request objects are looked into; any
    other object is shown as ``<TypeName>``. The tracer never calls the app's
    own code (``__repr__``, ``__iter__``, properties) to describe a value.
    With ``redact``, values under secret-looking keys (password, token,
    api_key, ...) are replaced, at any depth, including inside JSON bytes;
    a ``RequestSecrets`` given as ``redact`` learns each value it hid.
    """
    tp = type(value)
    if tp is str:
        if redact and ("=" in value or ":" in value):  # 'password=x' inside a string value
            value = redact_raw(value, getattr(redact, "learn", None), getattr(redact, "extra", ()))
        return value if len(value) <= PREVIEW_CHARS else truncate(value)
    if tp is int or tp is bool or value is None:
        return value
    if tp is float:
        return value if value - value == 0 else repr(value)  # nan and inf are not JSON
    if budget is None:
        budget = [MAX_NODES]
    if (tp is list or tp is tuple or tp is dict) and budget[0] - len(value) < 0:
        if budget[0] <= 0:
            return f"<{tp.__name__}>"
        return _preview_slow(value, tp, depth, redact, budget)  # shows what the budget allows
    if (tp is list or tp is tuple) and len(value) <= MAX_ITEMS and depth < MAX_DEPTH:
        budget[0] -= len(value)
        return [preview(v, depth + 1, redact, budget) for v in value]
    if tp is dict and len(value) <= MAX_ITEMS and depth < MAX_DEPTH:
        budget[0] -= len(value)
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = k if type(k) is str else _key_text(k)
            vt = type(v)
            if redact and _hide(key, v, redact):
                out[key] = REDACTED
            elif (vt is str and len(v) <= PREVIEW_CHARS and not (redact and ("=" in v or ":" in v))
                  or vt is int or vt is bool or vt is float and v - v == 0 or v is None):
                out[key] = v
            else:
                out[key] = preview(v, depth + 1, redact, budget)
        return out
    return _preview_slow(value, tp, depth, redact, budget)


def _hide(key: str, value: Any, redact: Any) -> bool:
    """Whether the value under ``key`` is a secret; if so, the request's secrets learn it."""
    if not is_secret_name(key):
        return False
    learn = getattr(redact, "learn", None)
    if learn is not None:
        _learn(value, learn, 0)
    return True


def _learn(value: Any, learn: Any, depth: int) -> None:
    tp = type(value)
    if tp is str or tp is int or tp is float:
        learn(value)
    elif tp is dict and depth < MAX_DEPTH:
        for v in list(value.values())[:MAX_ITEMS]:
            _learn(v, learn, depth + 1)
    elif (tp is list or tp is tuple) and depth < MAX_DEPTH:
        for v in value[:MAX_ITEMS]:
            _learn(v, learn, depth + 1)
    else:
        fields = _fields_of(value)
        if fields is not None and depth < MAX_DEPTH:
            _learn(fields, learn, depth + 1)


def learn_values(value: Any, secrets: Any) -> None:
    """Teach a request's secrets a hidden value: all of it if it is text or a number, else its secret-named fields.

    A security scheme's credentials object holds a scheme ("Bearer") and a
    user name beside the secret; only the secret is to be masked elsewhere.
    """
    learn = getattr(secrets, "learn", None)
    if learn is None:
        return
    tp = type(value)
    if tp is str or tp is int or tp is float:
        learn(value)
    elif tp is dict or tp is list or tp is tuple:
        _learn(value, learn, 0)
    else:
        preview(value, redact=secrets)  # hides, and so learns, the fields with secret names


TEXT_SCAN_LIMIT = 4096  # past this, only the start is searched (a preview shows 200 characters)


def preview_text(value: Any, redact: Any) -> Any:
    """A preview of text that may hold secrets by name anywhere in it (a frame, a chunk, a raw body).

    The whole text is searched before it is cut to a preview's length: cut
    first, a JSON frame no longer parses and a secret object under a secret
    key would show past the cut.
    """
    if redact and isinstance(value, str | bytes | bytearray | memoryview):
        if isinstance(value, str):
            text = str.__str__(value)[:TEXT_SCAN_LIMIT]
        else:
            raw = bytes(value[:TEXT_SCAN_LIMIT])
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                return preview(value, redact=redact)  # not text: shown as bytes, searched as such
        hidden = redact_json_text(text, getattr(redact, "learn", None), getattr(redact, "extra", ()))
        return preview(hidden, redact=redact)
    return preview(value, redact=redact)


def _key_text(key: Any) -> str:
    tp = type(key)
    if tp is int or tp is float or tp is bool or key is None:
        return str(key)
    if isinstance(key, Enum):
        return _enum_text(key)
    if isinstance(key, str):
        return str.__str__(key)
    return f"<{tp.__name__}>"


def _enum_text(value: Enum) -> str:
    return f"{type(value).__name__}.{object.__getattribute__(value, '_name_')}"


def _fields_of(value: Any) -> dict[str, Any] | None:
    """A model's or dataclass's field values, read without running its code."""
    try:
        if isinstance(value, _BaseModel):
            return dict(object.__getattribute__(value, "__dict__"))
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            names = [f.name for f in dataclasses.fields(value)]
            return {name: object.__getattribute__(value, name) for name in names}
    except Exception:
        return None
    return None


_STARLETTE = ("starlette.", "fastapi.")


def _preview_slow(value: Any, tp: type, depth: int, redact: Any, budget: list[int]) -> Any:
    if isinstance(value, Enum):
        return _enum_text(value)
    if isinstance(value, bool | int):
        return int.__repr__(value) if tp is not bool else bool(value)
    if isinstance(value, float):
        number = float(float.__float__(value))
        return number if number - number == 0 else repr(number)
    if isinstance(value, str):
        return truncate(str.__str__(value))
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value[: PREVIEW_CHARS * 4]) if tp is not memoryview else value[: PREVIEW_CHARS * 4].tobytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = repr(raw)
        if redact:  # raw bytes stay text: JSON by key, anything else (a form, a malformed object) by name=value
            text = redact_json_text(text, getattr(redact, "learn", None), getattr(redact, "extra", ()))
        return truncate(text) if len(value) <= PREVIEW_CHARS * 4 else truncate(text + " …", PREVIEW_CHARS)
    if depth >= MAX_DEPTH:
        return f"<{tp.__name__}>"
    if tp is dict or tp is list or tp is tuple or tp is set or tp is frozenset:
        items = list(value.items()) if tp is dict else list(value)
        shown = items[: min(MAX_ITEMS, max(budget[0], 0))]
        budget[0] -= len(shown)
        if tp is dict:
            out: dict[str, Any] = {}
            for k, v in shown:
                key = k if type(k) is str else _key_text(k)
                out[key] = REDACTED if redact and _hide(key, v, redact) else preview(v, depth + 1, redact, budget)
            if len(items) > MAX_ITEMS:
                out["…"] = f"{len(items) - MAX_ITEMS} more"
            return out
        listed = [preview(v, depth + 1, redact, budget) for v in shown]
        if len(items) > MAX_ITEMS:
            listed.append(f"… {len(items) - MAX_ITEMS} more")
        return listed
    fields = _fields_of(value)
    if fields is not None:
        return preview(fields, depth + 1, redact, budget)
    module = getattr(tp, "__module__", "") or ""
    if module.startswith(_STARLETTE):
        return _starlette_preview(value, tp, redact)
    return f"<{tp.__name__}>"


def _starlette_preview(value: Any, tp: type, redact: bool) -> Any:
    """Starlette's and FastAPI's own request objects, described by what they are."""
    try:
        from starlette.datastructures import Headers, ImmutableMultiDict, UploadFile
        from starlette.requests import HTTPConnection

        if isinstance(value, HTTPConnection):
            scope = value.scope
            what = scope.get("method", "WEBSOCKET") if scope.get("type") == "http" else "WEBSOCKET"
            return f"<{tp.__name__} {what} {scope.get('path', '')}>"
        if isinstance(value, UploadFile):
            return f"<UploadFile {value.filename!r}, {value.size} bytes>"
        if isinstance(value, Headers):
            return header_pairs(value.raw, redact)
        if isinstance(value, ImmutableMultiDict):
            return preview(dict(value.multi_items()[:MAX_ITEMS]), 1, redact)
    except Exception:
        pass
    return f"<{tp.__name__}>"


def exc_message(exc: BaseException, redact: Any = False) -> str | None:
    """An exception's message, when reading it runs none of the app's code.

    Starlette's and FastAPI's exceptions, and exceptions whose ``__str__`` is
    Python's own over plain arguments, are read; otherwise None (the message
    is left out rather than calling the app's ``__str__``). With ``redact``,
    ``name=value`` secrets in it are hidden as in any raw text.
    """
    message = _exc_message(exc, redact)
    if redact and message:
        return redact_json_text(message, getattr(redact, "learn", None), getattr(redact, "extra", ()))
    return message


def _exc_message(exc: BaseException, redact: Any) -> str | None:
    try:
        tp = type(exc)
        owner = next((c for c in tp.__mro__ if "__str__" in c.__dict__), BaseException)
        if owner is BaseException or owner is Exception:
            if all(type(a) in _PLAIN for a in exc.args):
                return truncate(BaseException.__str__(exc))
            return None
        if (getattr(owner, "__module__", "") or "").startswith(_STARLETTE):
            detail = exc.__dict__.get("detail")
            if type(detail) is str:
                return truncate(detail)
            if detail is not None:
                return truncate(json.dumps(preview(detail, redact=redact)))
            code = exc.__dict__.get("status_code", exc.__dict__.get("code"))
            return None if code is None else str(code)
    except Exception:
        pass
    return None


_PLAIN = (str, int, float, bool, type(None))


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


