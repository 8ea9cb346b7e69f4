"""Headers as an event shows them: ``[[name, value], ...]`` with secret values hidden.

Secret headers are named by the one name rule (``names.py``) plus the names
the app declares (an ``APIKeyHeader``'s name); Cookie and Set-Cookie keep
their cookie names; a URL in a header keeps all but its secret parameters.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from .cookies import redact_cookie_header, redact_set_cookie
from .names import is_secret_name
from .text import REDACTED, Learn, redact_raw, redact_url

PREVIEW_CHARS = 200
# Always secret, whatever the name rule says.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
_NO_NAMES: frozenset[str] = frozenset()


def truncate(text: str, limit: int = PREVIEW_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… (+{len(text) - limit + 1} chars)"


def is_secret_header(name: str, extra: Collection[str] = _NO_NAMES) -> bool:
    lower = name.lower()
    return lower in SECRET_HEADERS or is_secret_name(lower) or lower in extra


def redact_value(name: str, value: str, learn: Learn = None) -> str:
    """One secret header's value, hidden; the part that teaches (the scheme, the cookie names) is kept."""
    lower = name.lower()
    if lower == "cookie":
        return redact_cookie_header(value, learn)
    if lower == "set-cookie":
        return redact_set_cookie(value, learn)
    if learn is not None:
        learn(value)
    if lower == "sec-websocket-protocol":
        return _subprotocols(value, learn)
    if lower in ("authorization", "proxy-authorization", "authentication"):
        scheme, _, rest = value.partition(" ")
        if rest:  # the scheme ("Bearer", "Basic") is not a secret and teaches
            if learn is not None:
                learn(rest)
            return f"{scheme} {REDACTED}"
    return REDACTED


# A subprotocol name is short ("graphql-ws", "v2.chat"); a longer item is a token carried
# there because browsers cannot set headers on a WebSocket (Kubernetes, some gateways).
MAX_SUBPROTOCOL = 24


def _subprotocols(value: str, learn: Learn) -> str:
    items, after_scheme = [], False
    for item in value.split(","):
        name = item.strip()
        if after_scheme or len(name) > MAX_SUBPROTOCOL:
            if learn is not None:
                learn(name)
                learn(name.rpartition(".")[2])
            name = REDACTED
        elif name.lower() in _TOKEN_SCHEMES:  # ["bearer", TOKEN]: what follows the scheme is the token
            after_scheme = True
        items.append(name)
    return ", ".join(items)


_TOKEN_SCHEMES = frozenset({"bearer", "token", "access_token", "auth", "authorization", "jwt", "apikey", "api-key"})


def header_pairs(
    raw: Iterable[tuple[bytes, bytes]] | None, redact: Any, extra: Collection[str] = _NO_NAMES
) -> list[list[str]]:
    """ASGI header pairs as ``[[name, value], ...]`` with secrets hidden.

    ``redact`` is false (show everything), true, or a ``RequestSecrets`` that
    learns each hidden value and brings the app's own secret names.
    """
    out: list[list[str]] = []
    if not raw:
        return out
    learn = getattr(redact, "learn", None)
    extra = getattr(redact, "extra", extra)
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
        if redact:
            if secret or (extra and name.lower() in extra):
                value = redact_value(name, value, learn)
            elif name.lower() == "sec-websocket-protocol":
                value = _subprotocols(value, learn)
            else:
                value = value_secrets(name, value, learn, extra)
        out.append([name, value if len(value) <= PREVIEW_CHARS else truncate(value)])
    return out


_HEADER_NAMES: dict[bytes, tuple[str, bool]] = {}
# Schemes that start a credential, and nothing else, when they start a header's value ("X-Upstream: Bearer x").
_CREDENTIAL_SCHEMES = frozenset({"bearer", "basic", "digest", "dpop", "negotiate", "ntlm", "gnap", "hoba"})
_CHALLENGES = frozenset({"www-authenticate", "proxy-authenticate"})  # "Basic realm=...": a challenge, no secret


def value_secrets(name: str, value: str, learn: Learn, extra: Collection[str]) -> str:
    """A header not secret by name, with the secrets inside its value hidden: a URL's (a Location, a
    Referer), a credential after its scheme, ``name=value`` pairs (``token="x"`` in a challenge, JSON)."""
    scheme, space, rest = value.partition(" ")
    if space and rest.strip() and scheme.lower() in _CREDENTIAL_SCHEMES and name.lower() not in _CHALLENGES:
        if learn is not None:
            learn(rest)
        return f"{scheme} {REDACTED}"
    if "?" in value or "@" in value or "#" in value:
        value = redact_url(value, learn, extra)
    if "=" in value or ":" in value:
        value = redact_raw(value, learn, extra)
    return value


def _header_text(raw: Any) -> str:
    """A header name or value the app sent as something other than bytes (a str, which servers accept)."""
    if isinstance(raw, str):
        return str.__str__(raw)
    if isinstance(raw, bytes | bytearray | memoryview):
        return bytes(raw).decode("latin-1")
    return f"<{type(raw).__name__}>"
