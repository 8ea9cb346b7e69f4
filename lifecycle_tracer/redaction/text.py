"""Secrets inside text: query strings and URLs (and their userinfo anywhere), and raw text that
failed to parse (a malformed JSON body, a WebSocket frame, a streamed chunk). Cookies: ``cookies.py``.

Each function returns the text with every secret value replaced by
``REDACTED`` and hands each value it hid to ``learn`` (see ``values.py``), so
the same value is masked wherever else it shows up in the request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
from urllib.parse import quote, quote_plus, unquote_plus

from .names import is_secret_name, words

REDACTED = "[redacted]"
Learn = Callable[..., None] | None
_NO_NAMES: frozenset[str] = frozenset()


def _secret(name: str, extra: Collection[str]) -> bool:
    return is_secret_name(name) or (bool(extra) and name.lower() in extra)


def redact_query(query: str, learn: Learn = None, extra: Collection[str] = _NO_NAMES) -> str:
    """``a=1&token=abc`` → ``a=1&token=[redacted]``; names are compared decoded, the rest is kept as sent."""
    if "=" not in query:
        return query
    parts = query.split("&")
    changed = False
    for i, part in enumerate(parts):
        name, eq, value = part.partition("=")
        if eq and value and _secret(unquote_plus(name), extra):
            if learn is not None:
                learn(value)
                learn(unquote_plus(value))
            parts[i] = f"{name}={REDACTED}"
            changed = True
        elif eq and value:
            inner = _inner_secrets(value, learn, extra)
            if inner != value:
                parts[i], changed = f"{name}={inner}", True
    return "&".join(parts) if changed else query


def _inner_secrets(value: str, learn: Learn, extra: Collection[str]) -> str:
    """A query value that is itself a URL or pairs (``next=https://u:pw@h``, ``redir=/cb%23token%3Dx``),
    its secrets hidden in the value as sent, whatever its escaping; the whole value if they cannot be found.
    """
    decoded = unquote_plus(value)
    if not ("@" in decoded or "=" in decoded or ":" in decoded or ";" in decoded):
        return value
    found: list[str] = []

    def keep(secret: str, weak: bool = False) -> None:
        found.append(secret)
        if learn is not None:
            learn(secret, weak=weak)

    pairs = decoded.replace(";", "&")  # "a=1;token=x": either separator
    if redact_raw(pairs, keep, extra) == pairs:
        return value
    for secret in sorted(found, key=len, reverse=True):
        for form in (secret, quote(secret, safe=""), quote_plus(secret)):
            if form:
                value = value.replace(form, REDACTED)
    return value if all(s not in unquote_plus(value) for s in found) else REDACTED


def redact_url(url: str, learn: Learn = None, extra: Collection[str] = _NO_NAMES) -> str:
    """A URL (a Location, a Referer) with secret query and fragment parameters and its userinfo hidden.

    ``https://ann:pw@host`` keeps the user; ``https://TOKEN@host`` (a token as the user,
    as Git hosts take them) hides it.
    """
    rest, hashmark, fragment = url.partition("#")
    head, q, query = rest.partition("?")
    if "@" in head and "://" in head:
        scheme, _, after = head.partition("://")
        userinfo, at, host = after.partition("@")
        if at and "/" not in userinfo:
            user, colon, password = userinfo.partition(":")
            secret = password if colon else user
            if learn is not None and secret:
                learn(secret)
            head = f"{scheme}://{user}:{REDACTED}@{host}" if colon else f"{scheme}://{REDACTED}@{host}"
    shown = head + (f"?{redact_query(query, learn, extra)}" if q else "")
    return shown + (f"#{redact_query(fragment, learn, extra)}" if hashmark else "")


# A name, quoted or not, then ':' or '=': "password": "x", 'pin'='1', token=abc, "otp": 123. Only the
# name and separator are matched at first, so a pair whose value holds another pair
# ("failed: password=x") does not swallow it.
_KEY = re.compile(r"""(?P<name>[A-Za-z_][\w.\-]{0,63})["']?\s*[:=]\s*""")
_VALUE = re.compile(r""""(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?|[^\s,&;}\]"'<>]+""")
# Not "code", "ticket" or "assertion": secret only as a whole name, and in free text the name is the word before
# the colon, so "exit code: 1" and "support ticket: 42" would lose their numbers.
_MAYBE = re.compile(r"passw|pass|pwd|pin|otp|secret|token|jwt|session|credential|cvv|cvc|cookie|auth|key|sig|"
                    r"bearer|dpop|hmac", re.I)


# A URL's scheme and userinfo anywhere in text: postgresql://app:pw@db, https://TOKEN@host.
_USERINFO = re.compile(r"""(?<![\w+.\-])([A-Za-z][A-Za-z0-9+.\-]{0,31}://)([^\s/?#@"'<>\[\]{}]+)@""")


def _hide_userinfo(text: str, learn: Learn) -> str:
    """``postgresql://app:pw@db`` → ``postgresql://app:[redacted]@db``, as ``redact_url`` shows a URL's."""

    def shown(m: re.Match[str]) -> str:
        user, colon, password = m[2].partition(":")
        if REDACTED in m[2]:
            return m[0]
        if learn is not None:
            if colon:
                learn(password)
            else:  # a token as the user (Git hosts), or only a user name ("ssh://git@host"): weak
                learn(user, weak=True)
        return f"{m[1]}{user}:{REDACTED}@" if colon else f"{m[1]}{REDACTED}@"

    return _USERINFO.sub(shown, text)


def redact_raw(text: str, learn: Learn = None, extra: Collection[str] = _NO_NAMES) -> str:
    """Hide the value of every ``name: value`` or ``name=value`` pair whose name is secret, in any text.

    A URL's userinfo is hidden too, wherever it is (a DSN in an exception's message).
    """
    if "://" in text and "@" in text:
        text = _hide_userinfo(text, learn)
    if not _MAYBE.search(text) and not extra:
        return text
    out: list[str] = []
    done = 0  # text[:done] is in out
    for m in _KEY.finditer(text):
        if m.start() < done or not _secret(m["name"], extra):
            continue
        value_end = _bracketed_end(text, m.end())
        value = None if value_end else _VALUE.match(text, m.end())
        if value_end:  # an object or list under a secret name: all of it, to its end or the text's
            inner = text[m.end():value_end]
            if learn is not None:
                for piece in re.findall(r"[\w.~+/=-]{6,}", inner):
                    learn(piece, weak=True)
            out.append(text[done:m.end()])
            out.append(REDACTED)
            done = value_end
            continue
        if value is None:
            continue
        raw = value[0]
        quote = raw[:1] if raw[:1] in "\"'" else ""
        if not quote and (cred := _credential(m["name"], raw, text, value.end())):
            shown, end = cred
            out.append(text[done:m.end()])
            out.append(shown)
            done = end
            if learn is not None:
                learn(text[m.end():end])
                if raw.lower() in AUTH_SCHEMES:  # the credential alone, as headers.py learns it
                    learn(text[value.end():end])
                    for param in _PARAM_VALUE.findall(text, value.end(), end):  # Digest's response="..."
                        learn(param, weak=True)
                else:  # either word may be the credential; the second may also be plain text
                    learn(raw)
                    learn(text[value.end():end], weak=True)
            continue
        closed = bool(quote) and len(raw) > 1 and raw.endswith(quote)
        inner = raw[1:-1] if closed else raw[len(quote):]
        if learn is not None and inner and inner.lower() not in AUTH_SCHEMES:  # "Bearer" would mask every scheme
            learn(inner)
            scheme, space, rest = inner.partition(" ")
            if space and scheme.lower() in AUTH_SCHEMES:  # 'Authorization': 'Bearer x' in a repr
                learn(rest)
        out.append(text[done:m.end()])
        out.append(f"{quote}{REDACTED}{quote if closed else ''}")
        done = value.end()
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


# HTTP authentication schemes (the IANA registry and the common unregistered ones): the word
# before the credential in "Authorization: Bearer x", kept because it teaches, as headers.py keeps it.
AUTH_SCHEMES = frozenset({"basic", "bearer", "digest", "token", "dpop", "gnap", "hoba", "mutual", "negotiate",
                          "ntlm", "oauth", "privatetoken", "scram-sha-1", "scram-sha-256", "vapid", "jwt", "apikey",
                          "api-key", "key", "sso-key", "ssws", "splunk", "aws4-hmac-sha256", "kerberos", "hawk"})
# What follows the scheme: a list of auth-params (Digest's username="ann", response="...") or one token.
_PARAM = r"""[\w!#$%&*+.^`|~-]+=(?:"(?:[^"\\\n]|\\.)*"?|[^\s,"]*)"""
_CREDENTIAL = re.compile(rf"""[ \t]+(?:{_PARAM}(?:[ \t]*,[ \t]*{_PARAM})*|[^\s,&;}}\]"'<>=][^\s,&;}}\]"'<>]*)""")
_PARAM_VALUE = re.compile(r"""=\s*"?([^",\s]+)""")
_SCHEME = re.compile(r"[A-Za-z][\w!#$%&'*+.^`|~-]*")


def _credential(name: str, scheme: str, text: str, start: int) -> tuple[str, int] | None:
    """How ``name: scheme credential`` is shown and where it ends, when ``scheme`` is followed by a credential.

    Under an Authorization name a known scheme is kept and the credential hidden. An unknown
    first word is hidden with what follows it: it may be the scheme ("Custom abc") or the
    credential itself ("S3CRET and more"), and free text cannot tell which. Under another secret
    name ("token: Bearer x") a known scheme is hidden with its credential: it may be the value.
    """
    known = scheme.lower() in AUTH_SCHEMES
    authorization = words(name)[-1:] == ["authorization"]
    if not known and not (authorization and _SCHEME.fullmatch(scheme)):
        return None
    cred = _CREDENTIAL.match(text, start)
    if cred is None:
        return None
    end = cred.end()
    while end > start and text[end - 1] in ".:)!?":  # the sentence's end, not the token's
        end -= 1
    if text[start:end].isspace() or end == start:
        return None
    return (f"{scheme} {REDACTED}" if known and authorization else REDACTED), end


def _bracketed_end(text: str, start: int) -> int:
    """Where the object or list opening at ``start`` closes (or the text ends); 0 if none opens there."""
    if start >= len(text) or text[start] not in "{[":
        return 0
    depth, i, quoted = 0, start, False
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(text)


def redact_json_text(text: str, learn: Learn = None, extra: Collection[str] = _NO_NAMES) -> str:
    """A frame or chunk that may be JSON: secret keys hidden at any depth, else hidden as raw text."""
    stripped = text.strip()
    if stripped[:1] in ("{", "[") and len(stripped) < 1_000_000:
        try:
            parsed = json.loads(stripped)
        except (ValueError, RecursionError):
            pass
        else:
            hidden = hide_keys(parsed, learn, extra)
            if hidden is not parsed:
                return json.dumps(hidden, ensure_ascii=False)
            return text
    return redact_raw(text, learn, extra)


def hide_keys(value: object, learn: Learn = None, extra: Collection[str] = _NO_NAMES, depth: int = 0) -> object:
    """Parsed JSON with every value under a secret key hidden, at any depth; ``value`` itself when none is."""
    if depth > 200:
        return value
    if isinstance(value, dict):
        out, changed = {}, False
        for k, v in value.items():
            if isinstance(k, str) and _secret(k, extra):
                if learn is not None and isinstance(v, str | int | float) and not isinstance(v, bool):
                    learn(str(v))
                out[k], changed = REDACTED, True
            else:
                out[k] = hide_keys(v, learn, extra, depth + 1)
                changed = changed or out[k] is not v
        return out if changed else value
    if isinstance(value, list):
        items = [hide_keys(v, learn, extra, depth + 1) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    if isinstance(value, str) and ("=" in value or ":" in value):  # 'login(password: "x")' inside a string
        hidden = redact_raw(value, learn, extra)
        return value if hidden == value else hidden
    return value
