"""One validation event per parameter, from what FastAPI's own helpers saw.

``request_params_to_args`` and ``request_body_to_args`` get the declared
fields and the raw input and return the converted values and the errors;
the wrappers in ``_hooks`` hand all three to ``param_events`` afterwards.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from ..safe import REDACTED, is_secretish, preview, type_name
from .trace import RequestTrace, current, report_fault

_MISSING = object()
_WHERE = {
    "path": "path parameter",
    "query": "query parameter",
    "header": "header",
    "cookie": "cookie",
    "body": "body field",
    "form": "form field",
    "file": "uploaded file",
}


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
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    if depth > 5:
        return False
    return any(mentions_model(arg, depth + 1) for arg in getattr(annotation, "__args__", ()) or ())


def _location(field: Any) -> str:
    info = getattr(field, "field_info", None)
    kind = type(info).__name__.lower()
    if kind in ("form", "file"):
        return kind
    where = getattr(getattr(info, "in_", None), "value", None)
    return where or "body"


def _aliases(field: Any, location: str) -> list[str]:
    names: list[str] = []
    for attr in ("validation_alias", "alias", "name"):
        value = getattr(field, attr, None)
        if isinstance(value, str) and value not in names:
            names.append(value)
    if location == "header":
        names += [n.replace("_", "-") for n in names if "_" in n]
    return names


def _raw(received: Any, aliases: list[str]) -> Any:
    if received is None:
        return _MISSING
    getlist = getattr(received, "getlist", None)
    for alias in aliases:
        try:
            if getlist is not None:
                items = getlist(alias)
                if len(items) > 1:
                    return list(items)
                if items:
                    return items[0]
            elif alias in received:
                return received[alias]
        except Exception:
            return _MISSING
    return _MISSING


def _errors_for(
    errors: list[Any], location: str, aliases: list[str], whole_body: bool, redact: bool
) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        if not isinstance(err, dict):
            continue
        loc = tuple(err.get("loc") or ())
        hit = (whole_body and loc[:1] == ("body",)) or (len(loc) > 1 and loc[1] in aliases)
        if hit:
            out.append(
                {
                    "loc": [str(p) if not isinstance(p, int) else p for p in loc],
                    "msg": str(err.get("msg", "")),
                    "type": str(err.get("type", "")),
                    "input": preview(err.get("input"), redact=redact),
                }
            )
    return out


# Per declared field: (location, aliases, name, declared type, secret-looking name).
# Fields live as long as their route; the field itself is kept so its id stays unique.
_FIELD_INFO: dict[int, tuple[Any, tuple[str, list[str], str, str, bool]]] = {}


def _field_info(field: Any) -> tuple[str, list[str], str, str, bool]:
    hit = _FIELD_INFO.get(id(field))
    if hit is not None and hit[0] is field:
        return hit[1]
    location = _location(field)
    aliases = _aliases(field, location)
    name = getattr(field, "name", aliases[0] if aliases else "?")
    declared = type_label(getattr(getattr(field, "field_info", None), "annotation", None))
    secretish = location == "cookie" or is_secretish(name) or any(is_secretish(a) for a in aliases)
    info = (location, aliases, name, declared, secretish)
    if len(_FIELD_INFO) > 20000:
        _FIELD_INFO.clear()
    _FIELD_INFO[id(field)] = (field, info)
    return info


def param_events(
    trace: RequestTrace,
    fields: Any,
    received: Any,
    values: dict[str, Any],
    errors: list[Any],
    whole_body: bool = False,
) -> None:
    redact = trace.redact
    for field in fields:
        location, aliases, name, declared, secretish = _field_info(field)
        if whole_body:
            raw = received if received is not None else _MISSING
        else:
            raw = _raw(received, aliases)
        secret = raw is not _MISSING and redact and secretish
        errs = _errors_for(errors, location, aliases, whole_body, redact)
        ok = not errs
        detail: dict[str, Any] = {
            "location": location,
            "field": name,
            "alias": aliases[0] if aliases else name,
            "declared_type": declared,
            "raw": None if raw is _MISSING else (REDACTED if secret else preview(raw, redact=redact)),
            "sent": raw is not _MISSING,
            "ok": ok,
        }
        if ok and name in values:
            value = values[name]
            detail["value"] = REDACTED if secret else preview(value, redact=redact)
            detail["value_type"] = type_name(value)
        if errs:
            if secret:
                for e in errs:
                    e["input"] = REDACTED
            detail["errors"] = errs
        trace.emit("validation", "point", name, detail, _explain(detail, location, name, raw, secret))


def _explain(detail: dict[str, Any], location: str, name: str, raw: Any, secret: bool) -> str:
    where = _WHERE.get(location, location)
    if location == "header":
        name = detail.get("alias") or name  # what the client sends: x-token, not x_token
    declared = detail["declared_type"]
    shown = "(value hidden)" if secret else _short(detail["raw"])
    if not detail["ok"]:
        errs = detail["errors"]
        err = errs[0]
        if raw is _MISSING:
            return f"The {where} '{name}' is required but was not sent, so FastAPI will answer 422 before the endpoint runs."
        if location == "body" and isinstance(raw, str | bytes) and declared not in ("str", "bytes"):
            return (
                f"The body was not read as JSON because the request has no application/json Content-Type, so it "
                f"cannot become the model {declared}; FastAPI will answer 422 before the endpoint runs."
            )
        if len(errs) > 1:
            listing = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in errs[:4])
            more = f" and {len(errs) - 4} more" if len(errs) > 4 else ""
            return (
                f"The {where} '{name}' does not fit {declared} ({len(errs)} errors: {listing}{more}), "
                "so FastAPI will answer 422 before the endpoint runs."
            )
        return (
            f"The {where} '{name}' is {shown}, which is not a valid {declared} "
            f"({err['msg']}), so FastAPI will answer 422 before the endpoint runs."
        )
    if raw is _MISSING:
        default = "(value hidden)" if secret else _short(detail.get("value"))
        return f"The {where} '{name}' was not sent, so FastAPI used its default, {default}."
    value_type = detail.get("value_type", "")
    if isinstance(raw, str) and value_type and value_type != "str" and not secret:
        return (
            f"FastAPI converted the {where} '{name}' from the text {shown} to the "
            f"{value_type} {_short(detail.get('value'))} because it is declared as {declared}."
        )
    if secret:
        return f"The {where} '{name}' was sent and is a valid {declared} (its value is hidden)."
    return f"The {where} '{name}' ({shown}) is a valid {declared}."


def _short(value: Any) -> str:
    text = repr(preview(value)) if isinstance(value, str) else str(preview(value))
    return text if len(text) <= 60 else text[:57] + "…"


def install(du: Any) -> None:
    """Wrap FastAPI's parameter and body helpers (called once by ``hooks.install``)."""
    orig_params = du.request_params_to_args
    orig_body = du.request_body_to_args

    @functools.wraps(orig_params)
    def request_params_to_args(fields: Any, received_params: Any, *args: Any, **kwargs: Any) -> Any:
        result = orig_params(fields, received_params, *args, **kwargs)
        if fields:
            trace = current.get()
            if trace is not None and trace.suppress_at is None:
                try:
                    values, errors = result
                    param_events(trace, fields, received_params, values, errors)
                except Exception as exc:
                    report_fault("parameter validation", exc)
        return result

    @functools.wraps(orig_body)
    async def request_body_to_args(*args: Any, **kwargs: Any) -> Any:
        result = await orig_body(*args, **kwargs)
        trace = current.get()
        if trace is not None and trace.suppress_at is None:
            try:
                fields = kwargs.get("body_fields", args[0] if args else ())
                body = kwargs.get("received_body", args[1] if len(args) > 1 else None)
                embed = kwargs.get("embed_body_fields", args[2] if len(args) > 2 else False)
                values, errors = result
                whole = (
                    len(fields) == 1
                    and not embed
                    and not getattr(getattr(fields[0], "field_info", None), "embed", False)
                )
                trace.validation_seen = True
                param_events(trace, fields, body, values, errors, whole_body=whole)
            except Exception as exc:
                report_fault("body validation", exc)
        return result

    du.request_params_to_args = request_params_to_args
    du.request_body_to_args = request_body_to_args
