"""Parameter, model and body checks."""

from __future__ import annotations

from typing import Any

from ._table import says
from ._words import short

_WHERE = {
    "path": "path parameter",
    "query": "query parameter",
    "header": "header",
    "cookie": "cookie",
    "body": "body field",
    "form": "form field",
    "file": "uploaded file",
}
_MODEL_WHERE = {"query": "query parameters", "header": "headers", "cookie": "cookies", "form": "form fields",
                "body": "body", "path": "path parameters"}


def _listing(errors: list[dict[str, Any]], skip: int) -> str:
    parts = []
    for e in errors[:4]:
        where = ".".join(str(p) for p in (e.get("loc") or [])[skip:]) or "value"
        parts.append(f"{where}: {e.get('msg')}")
    more = f" and {len(errors) - 4} more" if len(errors) > 4 else ""
    return "; ".join(parts) + more


@says("validation", "point")
def validation_point(name: str, d: dict[str, Any]) -> str:
    location = d.get("location", "body")
    where = _WHERE.get(location, location)
    if d.get("json_invalid"):
        return (f"The body is not valid JSON ({d.get('json_error') or 'decode error'} at position {d.get('position')}), "
                "so FastAPI rejected the request before checking any field.")
    if d.get("body_not_parsed") and location == "body" and not d.get("whole") and not d.get("sent"):
        return (f"FastAPI did not parse the body as JSON (the request's Content-Type is not application/json), "
                f"so it found no body field '{d.get('alias') or d.get('field')}' in it and reports it as missing.")
    if d.get("not_an_object"):
        return (f"The body is not a JSON object, so FastAPI could not look up the field '{d.get('alias')}' in it: "
                "it reports the field as missing.")
    errors = d.get("errors") or []
    declared = d.get("declared_type")
    alias = d.get("alias")
    field = d.get("field", name)
    label = f"'{alias}'" if alias else f"'{field}'"
    if alias and alias != field:
        label = f"'{alias}' (the parameter {field})"
    hidden = d.get("hidden")
    if d.get("whole"):
        what = f"the whole {_MODEL_WHERE.get(location, location)}" if location == "body" else (
            f"the {_MODEL_WHERE.get(location, location)} model '{field}'")
        if not d.get("sent"):
            if errors:
                return f"FastAPI found nothing in the request for {what} ({declared}), which is required."
            return f"FastAPI found nothing in the request for {what}, so it used the default, {short(d.get('value'))}."
        if d.get("raw_type") == "bytes" and errors:
            return (f"FastAPI did not parse the body as JSON (it arrived as raw bytes), so it cannot become {declared}: "
                    f"{_listing(errors, 1)}.")
        if errors:
            return f"FastAPI checked {what} against {declared}: {len(errors)} error{'s' if len(errors) != 1 else ''} ({_listing(errors, 1)})."
        return f"FastAPI checked {what} against {declared}, and it fits."
    if d.get("sent") is None and not d.get("whole"):
        return (f"FastAPI used {short(d.get('value'))} for the {where} {label}; it equals the default, and this "
                "FastAPI release does not say whether the request sent it.")
    if not d.get("sent"):
        if errors and d.get("null_or_missing"):
            return (f"The request has no value, or null, for the {where} {label}; this FastAPI release reads both "
                    "as missing, and the field is required.")
        if errors:
            return f"The {where} {label} is required, but the request has no value for it."
        if hidden:
            return f"The request has no {where} {label}, so FastAPI used its default (hidden)."
        return f"The request has no {where} {label}, so FastAPI used its default, {short(d.get('value'))}."
    shown = "(value hidden)" if hidden else short(d.get("raw"))
    if errors:
        if len(errors) > 1:
            return f"The {where} {label} does not fit {declared}: {len(errors)} errors ({_listing(errors, 2)})."
        return f"The {where} {label} is {shown}, which FastAPI rejected: {errors[0].get('msg')}."
    if hidden:
        return f"The {where} {label} was sent and is a valid {declared} (its value is hidden)."
    raw, value = d.get("raw"), d.get("value")
    if isinstance(raw, str) and d.get("value_type") not in (None, "str") and raw != value:
        return (f"FastAPI converted the {where} {label} from the text {shown} to the {d.get('value_type')} "
                f"{short(value)}, because it is declared as {declared}.")
    return f"The {where} {label} ({shown}) is a valid {declared}."
