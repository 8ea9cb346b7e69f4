"""Secrets in the Cookie and Set-Cookie headers: every value hidden, the names and attributes kept."""

from __future__ import annotations

from .names import is_secret_name
from .text import REDACTED, Learn


def redact_cookie_header(value: str, learn: Learn = None) -> str:
    """``a=1; b=2`` → ``a=[redacted]; b=[redacted]``: a cookie's name teaches, its value is the session."""
    out = []
    for part in value.split(";"):
        name, eq, val = part.partition("=")
        secret = (val if eq else name).strip()
        if learn is not None and secret:
            # A value under a secret name is masked wherever it shows up again; any other
            # cookie only when it is long enough to be an id ("dark" or "json" would hide text).
            learn(secret, weak=not (eq and is_secret_name(name.strip())))
        if eq:
            out.append(f"{name}={REDACTED}")
        else:
            out.append(f" {REDACTED}" if part.startswith(" ") else REDACTED if secret else part)
    return ";".join(out)


def redact_set_cookie(value: str, learn: Learn = None) -> str:
    """``sid=abc; Path=/; HttpOnly`` → ``sid=[redacted]; Path=/; HttpOnly``."""
    first, semi, attrs = value.partition(";")
    name, eq, val = first.partition("=")
    if not eq:
        return REDACTED
    if learn is not None:
        learn(val.strip(), weak=not is_secret_name(name.strip()))
    return f"{name}={REDACTED}{semi}{attrs}"
