"""Which names carry a secret: one rule for headers, query and form fields, JSON keys, path parameters and cookies.

A name is split into words (``X-Auth-Token`` → x, auth, token; ``accessToken``
→ access, token). It is secret when a word is one of ``SECRET_WORDS``, when
it contains one of ``SECRET_PARTS`` (names run together: ``sessionid``,
``csrftoken``), when two words make a secret together (``private key``), or
when, without an ``x-`` prefix, it is just ``key``. ``token_type`` names a
kind of token, not a token, and stays visible because it teaches.
"""

from __future__ import annotations

import re

SECRET_WORDS = frozenset({
    "password", "passwd", "pwd", "pass", "passphrase", "pin", "otp", "totp", "secret", "token", "jwt",
    "session", "credential", "credentials", "cvv", "cvc", "cookie", "authorization", "signature", "apikey",
})
SECRET_PARTS = ("token", "secret", "passw", "passphrase", "apikey", "credential", "session", "jwt", "cookie",
                "authorization", "privatekey")
SECRET_PAIRS = frozenset({("api", "key"), ("private", "key"), ("access", "key"), ("secret", "key"),
                          ("signing", "key"), ("encryption", "key"), ("master", "key")})
VISIBLE = frozenset({"token_type", "tokentype"})

_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_SPLIT = re.compile(r"[^a-z0-9]+")
_cache: dict[str, bool] = {}


def words(name: str) -> list[str]:
    return [w for w in _SPLIT.split(_CAMEL.sub(r"\1_\2", name).lower()) if w]


def _decide(name: str) -> bool:
    parts = words(name)
    joined = "_".join(parts)
    if joined in VISIBLE or not parts:
        return False
    if any(w in SECRET_WORDS for w in parts):
        return True
    if any(p in w for w in parts for p in SECRET_PARTS):
        return True
    if any(pair in SECRET_PAIRS for pair in zip(parts, parts[1:], strict=False)):
        return True
    return (parts[1:] if parts[0] == "x" else parts) == ["key"]


def is_secret_name(name: str) -> bool:
    """Whether a value under this name (any case, any separator) is hidden."""
    hit = _cache.get(name)
    if hit is None:
        hit = _decide(name)
        if len(_cache) < 8192:
            _cache[name] = hit
    return hit
