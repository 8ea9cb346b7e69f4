"""Once a value is hidden anywhere in a request, it is hidden everywhere in that request.

A token read from a header can come back in the response body, a cookie can
be echoed, a key can end up in an exception's message. ``RequestSecrets``
collects every value the name rules hid (``learn``) and masks each of them
in every later event of the same request (``mask``), by value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any
from urllib.parse import quote, quote_plus

from .text import REDACTED

# Shorter values are not masked by value: "true", "dark" or "3600" would hide innocent text.
MIN_MASKED = 6
# A value hidden by a blanket rule (every cookie) rather than by its secret name is masked
# elsewhere only when it is long enough to be an id or a token ("admin" is not).
MIN_MASKED_WEAK = 12
MAX_VALUES = 256
_CUT = "… (+"  # how truncate() marks a preview cut short


class RequestSecrets:
    """The secret values seen so far in one request, and the app's own secret names (``extra``)."""

    __slots__ = ("_pattern", "extra", "values")

    def __init__(self, extra: Collection[str] = frozenset()) -> None:
        self.values: set[str] = set()
        self.extra = extra
        self._pattern: re.Pattern[str] | None = None

    def __bool__(self) -> bool:  # redaction is on, whether or not a value is known yet
        return True

    def learn(self, value: Any, weak: bool = False) -> None:
        if type(value) is not str:
            if not isinstance(value, int | float) or isinstance(value, bool):
                return
            value = str(value)
        value = value.strip()
        if len(value) < (MIN_MASKED_WEAK if weak else MIN_MASKED) or REDACTED in value:
            return
        if len(self.values) >= MAX_VALUES:
            return
        forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value, ensure_ascii=False)[1:-1],
                 json.dumps(value)[1:-1]}
        new = forms - self.values
        if new:
            self.values |= new
            self._pattern = None

    def _compiled(self) -> re.Pattern[str]:
        pattern = self._pattern
        if pattern is None:
            ordered = sorted(self.values, key=len, reverse=True)  # the longest form first
            pattern = self._pattern = re.compile("|".join(map(re.escape, ordered)))
        return pattern

    def mask_str(self, text: str) -> str:
        if not self.values or len(text) < MIN_MASKED:
            return text
        masked = self._compiled().sub(REDACTED, text)
        cut = masked.rfind(_CUT)
        if cut > 0 and masked.endswith(" chars)"):  # a preview cut short may end inside a secret
            masked = self._mask_cut_end(masked[:cut]) + masked[cut:]
        elif masked.endswith(" …"):
            masked = self._mask_cut_end(masked[:-2]) + " …"
        return masked

    def _mask_cut_end(self, body: str) -> str:
        """``body`` with a secret's beginning at its very end hidden (the rest was cut off)."""
        start = len(body)
        for value in self.values:
            head = value[:MIN_MASKED]
            i = body.find(head, max(len(body) - len(value), 0))
            while i != -1 and i < start:
                if value.startswith(body[i:]):
                    start = i
                    break
                i = body.find(head, i + 1)
        return body[:start] + REDACTED if start < len(body) else body

    def mask(self, value: Any) -> Any:
        """``value`` with every known secret masked; the same object when nothing changes.

        Copies rather than edits: a detail may hold facts the hooks cache and share.
        """
        if not self.values:
            return value
        tp = type(value)
        if tp is str:
            return self.mask_str(value)
        if tp is dict:
            out = None
            for k, v in value.items():
                m = self.mask(v)
                if m is not v:
                    if out is None:
                        out = dict(value)
                    out[k] = m
            return value if out is None else out
        if tp is list:
            items = [self.mask(v) for v in value]
            return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
        return value
