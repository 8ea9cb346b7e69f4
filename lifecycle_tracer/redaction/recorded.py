"""Hide secrets again in events already recorded (replay and export of a ``--show-secrets`` recording).

The same rules as at the source, applied to a whole request at once: the
first pass hides by name and learns each hidden value, the second masks
those values in every event of the request, earlier ones included. The
recorded sentence is dropped, so the words are written again from the
hidden facts.
"""

from __future__ import annotations

from typing import Any

from .headers import is_secret_header, redact_value, value_secrets
from .names import is_secret_name
from .text import REDACTED, hide_keys, redact_json_text, redact_query, redact_url
from .values import RequestSecrets

_TEXT_KEYS = ("preview", "text", "bytes", "message", "raw", "input", "output")


def redact_request(details: list[dict[str, Any]], names: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """One request's event details and names, with secrets hidden."""
    secrets = RequestSecrets()
    hidden = [_hide(d, secrets) for d in details]
    return [secrets.mask(d) for d in hidden], [secrets.mask_str(n) for n in names]


def _hide(detail: dict[str, Any], secrets: RequestSecrets) -> dict[str, Any]:
    learn = secrets.learn
    field = detail.get("alias") or detail.get("field")
    if detail.get("location") == "cookie" or (isinstance(field, str) and is_secret_name(field)):
        # A validation event of a secret field: what was sent and what it became.
        for key in ("raw", "value"):
            if detail.get(key) not in (None, REDACTED):
                _learn_all(detail[key], learn)
        detail = {**detail, **{k: REDACTED for k in ("raw", "value") if detail.get(k) is not None}}
        if isinstance(detail.get("errors"), list):
            detail["errors"] = [{**e, "input": REDACTED} if isinstance(e, dict) else e for e in detail["errors"]]
    elif isinstance(detail.get("errors"), list):  # an error at a secret field's location carries its input
        detail = {**detail, "errors": [
            {**e, "input": REDACTED} if isinstance(e, dict) and isinstance(e.get("loc"), list)
            and any(isinstance(p, str) and is_secret_name(p) for p in e["loc"][1:]) else e
            for e in detail["errors"]]}
    out: dict[str, Any] = {}
    for key, value in detail.items():
        if key == "headers" and isinstance(value, list):
            out[key] = [_pair(p, secrets) for p in value]
        elif key == "query_string" and isinstance(value, str):
            out[key] = redact_query(value, learn)
        elif key == "location" and isinstance(value, str) and ("?" in value or "@" in value or "#" in value):
            out[key] = redact_url(value, learn)
        elif key in _TEXT_KEYS and isinstance(value, str):
            out[key] = redact_json_text(value, learn)
        elif isinstance(value, dict | list):
            out[key] = hide_keys(value, learn)
            if out[key] is value and isinstance(value, dict):
                out[key] = _hide(value, secrets)
        else:
            out[key] = value
    return out


def _pair(pair: Any, secrets: RequestSecrets) -> Any:
    if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
        return pair
    name, value = pair
    if value == REDACTED or value.endswith(f" {REDACTED}"):
        return pair
    if is_secret_header(name):
        return [name, redact_value(name, value, secrets.learn)]
    if name.lower() == "sec-websocket-protocol":
        return [name, redact_value(name, value, secrets.learn)]
    shown = value_secrets(name, value, secrets.learn, ())
    return pair if shown == value else [name, shown]


def _learn_all(value: Any, learn: Any) -> None:
    if isinstance(value, dict):
        for v in value.values():
            _learn_all(v, learn)
    elif isinstance(value, list):
        for v in value:
            _learn_all(v, learn)
    else:
        learn(value)
