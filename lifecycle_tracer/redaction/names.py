"""Which names carry a secret: one rule for headers, query and form fields, JSON keys, path parameters and cookies.

A name is split into words (``X-Auth-Token`` → x, auth, token; ``accessToken``
→ access, token). It is secret when a word is one of ``SECRET_WORDS``, when
it contains one of ``SECRET_PARTS`` (names run together: ``sessionid``,
``csrftoken``), when two words make a secret together (``auth code``), or
when its last word is ``key`` (``Ocp-Apim-Subscription-Key``, ``x-key``)
and the word before it does not name an ordinary key (``sort_key``).

A name that describes a secret rather than holding one stays visible:
``token_type``, ``max_tokens``, ``password_min_length``, ``otp_enabled``,
``session_count``, ``tokenizer``, ``secretary``.
"""

from __future__ import annotations

import re

SECRET_WORDS = frozenset({
    "password", "passwd", "pwd", "pw", "pass", "passphrase", "passcode", "pin", "otp", "totp", "secret",
    "token", "jwt", "session", "credential", "credentials", "cvv", "cvc", "cookie", "authorization", "auth",
    "signature", "sig", "apikey", "code", "sid", "authentication", "bearer", "dpop", "hmac", "ticket", "assertion",
})
SECRET_PARTS = ("token", "secret", "passw", "passphrase", "passcode", "apikey", "credential", "session", "jwt",
                "cookie", "authorization", "privatekey")
SECRET_PAIRS = frozenset({("auth", "code"), ("authorization", "code"), ("verification", "code"),
                          ("reset", "code"), ("otp", "code"), ("security", "code"), ("client", "assertion"),
                          ("service", "ticket"), ("proxy", "ticket"), ("login", "ticket"), ("session", "ticket")})
# Words that are secret only as the whole name: "code" alone is OAuth's authorization
# code, but "status_code", "country_code" and "zip_code" are not secrets; "ticket" alone is
# CAS's service ticket, but "ticket_id" in a help desk is not.
WHOLE_ONLY = frozenset({"code", "ticket", "assertion"})
# A key word before "key" that names an ordinary key, not a credential.
ORDINARY_KEYS = frozenset({"sort", "primary", "foreign", "partition", "cache", "public", "idempotency", "group",
                           "order", "lookup", "row", "map", "dict", "hash", "index", "object", "s3", "bucket",
                           "range", "composite", "natural", "unique", "config", "setting", "translation", "i18n"})
# Words that describe a secret rather than hold one (password_min_length, otp_enabled).
DESCRIBING = frozenset({"type", "count", "length", "len", "min", "max", "enabled", "disabled", "strength",
                        "expires", "expiry", "expiration", "ttl", "lifetime", "timeout", "policy", "required",
                        "url", "uri", "endpoint", "format", "kind", "mode", "version", "size", "limit", "hint",
                        "rules", "in", "at", "used", "usage", "remaining", "reset", "method", "methods", "scheme",
                        "name", "location", "field", "param", "provider", "status", "valid", "changed"})
QUANTIFIERS = frozenset({"max", "min", "num", "total", "n", "count", "remaining", "used"})
NOT_SECRET_WORDS = frozenset({"tokenizer", "tokenize", "tokenized", "tokenization", "secretary", "secretariat",
                              "passenger", "passport", "compass", "bypass", "passive", "sessions"})
VISIBLE = frozenset({"token_type", "tokentype"})

_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_SPLIT = re.compile(r"[^a-z0-9]+")
_cache: dict[str, bool] = {}


def words(name: str) -> list[str]:
    return [w for w in _SPLIT.split(_CAMEL.sub(r"\1_\2", name).lower()) if w]


def _decide(name: str) -> bool:
    parts = words(name)
    if parts and parts[0] == "x":
        parts = parts[1:]
    if not parts or "_".join(parts) in VISIBLE:
        return False
    if len(parts) > 1 and "".join(parts) in SECRET_WORDS:  # one word the case split apart: "DPoP"
        return True
    # "password_min_length", "max_tokens": about a secret, not one. But "session_id" and
    # "reset_code" end in a secret's own word, and "x_auth_key" in "key".
    describes = len(parts) > 1 and (parts[-1] in DESCRIBING or parts[0] in QUANTIFIERS)
    if describes and parts[-1] not in SECRET_WORDS and parts[-1] != "key" and tuple(parts[-2:]) not in SECRET_PAIRS:
        return False
    if parts[-1] == "key" or (parts[-1] == "keys" and len(parts) > 1):  # "api_keys"; "keys" alone is a JWKS's
        return len(parts) == 1 or parts[-2] not in ORDINARY_KEYS
    if any(pair in SECRET_PAIRS for pair in zip(parts, parts[1:], strict=False)):
        return True
    if any(w in SECRET_WORDS and (w not in WHOLE_ONLY or len(parts) == 1) for w in parts):
        return True
    return any(p in w and w not in NOT_SECRET_WORDS for w in parts for p in SECRET_PARTS)


def is_secret_name(name: str) -> bool:
    """Whether a value under this name (any case, any separator) is hidden."""
    hit = _cache.get(name)
    if hit is None:
        hit = _decide(name)
        if len(_cache) < 8192:
            _cache[name] = hit
    return hit
