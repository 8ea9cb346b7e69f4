"""One validation event per check FastAPI made, from what FastAPI itself handled.

Every parameter, parameter model and body field goes through FastAPI's
``_validate_value_with_model_field(field=, value=, values=, loc=)``: ``value``
is exactly what FastAPI read from the request (its "missing" marker when it
found nothing), ``loc`` names where and under which name it looked, and the
result is the converted value or the errors. The wrapper records those.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from ..redaction import REDACTED, is_secret_name
from ..safe import learn_values, preview, type_name
from .dependencies import close
from .source import type_label
from .trace import RequestTrace, current, report_fault

_FILE_KINDS = {"form": "form", "file": "file"}


def _missing_markers(du: Any) -> tuple[Any, ...]:
    """What FastAPI hands to the check when the request had no value: its Undefined, and None on older releases."""
    from pydantic_core import PydanticUndefined

    try:
        text = inspect.getsource(du._validate_value_with_model_field)
    except (OSError, TypeError):
        text = ""
    return (PydanticUndefined, None) if "value is None" in text else (PydanticUndefined,)


# Per declared field: (location kind, name, declared type, secret-looking name).
_FIELD_INFO: dict[int, tuple[Any, tuple[str | None, str, str, bool]]] = {}


def _field_info(field: Any) -> tuple[str | None, str, str, bool]:
    hit = _FIELD_INFO.get(id(field))
    if hit is not None and hit[0] is field:
        return hit[1]
    info = getattr(field, "field_info", None)
    special = _FILE_KINDS.get(type(info).__name__.lower())
    name = str(getattr(field, "name", "?"))
    declared = type_label(getattr(info, "annotation", None))
    alias = getattr(field, "alias", None)
    secretish = is_secret_name(name) or (isinstance(alias, str) and is_secret_name(alias))
    facts = (special, name, declared, secretish)
    if len(_FIELD_INFO) > 20000:
        _FIELD_INFO.clear()
    _FIELD_INFO[id(field)] = (field, facts)
    return facts


def _is_default(field: Any, value: Any) -> bool:
    try:
        default = field.default
        return value is default or (type(value) is type(default) and value == default)
    except Exception:
        return False


def install(du: Any) -> None:
    """Wrap FastAPI's one check of a value against a declared field."""
    orig = du._validate_value_with_model_field
    missing = _missing_markers(du)

    @functools.wraps(orig)
    def _validate_value_with_model_field(*args: Any, **kwargs: Any) -> Any:
        trace = current.get()
        if trace is None:
            return orig(*args, **kwargs)
        trace.checking = True
        try:
            result = orig(*args, **kwargs)
        finally:
            trace.checking = False
        if not args:
            try:
                close(trace)  # FastAPI checks a dependant's own inputs once its dependencies are done
                report(trace, kwargs["field"], kwargs["value"], kwargs["loc"], result, missing)
            except Exception as exc:
                report_fault("validation", exc)
        return result

    du._validate_value_with_model_field = _validate_value_with_model_field
    orig_body = du.request_body_to_args

    @functools.wraps(orig_body)
    async def request_body_to_args(*args: Any, **kwargs: Any) -> Any:
        trace = current.get()
        if trace is not None:
            # The body FastAPI hands over: raw bytes when it did not parse it as JSON
            # (the request's Content-Type is not application/json), else the parsed value.
            body = kwargs.get("received_body", args[1] if len(args) > 1 else None)
            trace.body_bytes = isinstance(body, bytes | bytearray)
        return await orig_body(*args, **kwargs)

    du.request_body_to_args = request_body_to_args
    orig_missing = getattr(du, "get_missing_field_error", None)
    if orig_missing is None:  # pragma: no cover - depends on the installed FastAPI
        return

    @functools.wraps(orig_missing)
    def get_missing_field_error(*args: Any, **kwargs: Any) -> Any:
        error = orig_missing(*args, **kwargs)
        trace = current.get()
        if trace is not None and not trace.checking:
            # FastAPI rejected a field without checking a value: the body it would
            # look the field up in is not a JSON object.
            try:
                loc = tuple(kwargs.get("loc", args[0] if args else ()))
                alias = str(loc[-1]) if len(loc) > 1 else "body"
                trace.validated = True
                trace.emit("validation", "point", alias, {
                    "location": str(loc[0]) if loc else "body", "field": alias, "alias": alias, "whole": False,
                    "declared_type": None, "sent": False, "raw": None, "ok": False, "not_an_object": True,
                    "body_not_parsed": trace.body_bytes,
                    "errors": [{"loc": [p if type(p) is int else str(p) for p in loc], "msg": "Field required",
                                "type": "missing", "input": None}]})
            except Exception as exc:
                report_fault("validation", exc)
        return error

    du.get_missing_field_error = get_missing_field_error


def _secret_loc(loc: Any, redact: Any) -> bool:
    """Whether an error's location names a secret field (["body", "pin"]): its input is that secret."""
    return bool(redact) and isinstance(loc, tuple | list) and any(type(p) is str and is_secret_name(p) for p in loc[1:])


def report(trace: RequestTrace, field: Any, value: Any, loc: Any, result: Any, missing: tuple[Any, ...]) -> None:
    redact = trace.redact
    special, name, declared, secretish = _field_info(field)
    loc = tuple(loc)
    location = special or (str(loc[0]) if loc else "body")
    converted, errors = result
    sent: bool | None = not any(value is m for m in missing)
    if sent and len(loc) == 1 and location != "body" and isinstance(value, dict) and not value:
        sent = False  # a parameter model FastAPI found none of its names for: it checks an empty dict
    elif sent and len(missing) > 1 and len(loc) == 1 and location != "body":
        sent = None  # older FastAPI fills a parameter model's missing names with their defaults first
    elif sent and len(missing) > 1 and location != "body" and _is_default(field, value):
        # Older FastAPI hands the check the field's default when the request has no
        # value, so a value equal to the default cannot tell us which it was.
        sent = None
    secret = redact and (secretish or location == "cookie")
    if secret and redact is not True:  # what was hidden here is hidden everywhere else in the request
        learn_values(value, redact)
        learn_values(converted, redact)
    detail: dict[str, Any] = {
        "location": location,
        "field": name,
        "alias": str(loc[1]) if len(loc) > 1 else None,
        "whole": len(loc) == 1,  # the whole body, or a parameter model filled from many names
        "declared_type": declared,
        "sent": sent,
        "raw": (REDACTED if secret else preview(value, redact=redact)) if sent else None,
        "raw_type": type_name(value) if sent else None,
        "ok": not errors,
    }
    if errors:
        errs = []
        for err in list(errors)[:20]:
            if not isinstance(err, dict):
                continue
            e: dict[str, Any] = {
                "loc": [p if type(p) is int else str(p) for p in err.get("loc") or ()],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
                "input": REDACTED if secret or _secret_loc(err.get("loc"), redact) else preview(err.get("input"), redact=redact),
            }
            ctx = err.get("ctx")
            if isinstance(ctx, dict):
                e["ctx"] = preview({str(k): v for k, v in list(ctx.items())[:5]}, redact=redact)
            errs.append(e)
        detail["errors"] = errs
        detail["error_count"] = len(errors)
    else:
        detail["value"] = REDACTED if secret else preview(converted, redact=redact)
        detail["value_type"] = type_name(converted)
    if secret:
        detail["hidden"] = True
    if location == "body" and trace.body_bytes:
        detail["body_not_parsed"] = True
    if not sent and value is None and len(missing) > 1 and location == "body":
        detail["null_or_missing"] = True  # older FastAPI reads a JSON null as "no value"
    trace.validated = True
    trace.emit("validation", "point", name, detail)
