"""Request data made safe to show: characters that would steer a terminal or flip text become visible escapes.

A client chooses the path, query, headers and body, and the tracer shows
them to the developer. Written out raw, ``ESC ] 0 ;`` sets the window title,
``ESC [ 2 J`` clears the screen, ``ESC ] 8`` plants a hyperlink, and U+202E
makes the text read backwards. Every display shows data through
``visible()`` instead; the recording keeps the true characters.
"""

from __future__ import annotations

import re

from rich.text import Text

# C0 controls, DEL and C1 controls (0x9b is a one-byte CSI); bidi marks,
# embeddings, overrides and isolates; the Unicode line and paragraph
# separators (str.splitlines breaks on them); lone surrogates, which no
# UTF-8 terminal or file can even be written.
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
_HIDDEN_KEEP_NL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    return _SHORT.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(text: object, *, newlines: bool = False) -> str:
    """``text`` with every control, bidi and separator character written as an escape (``\\x1b``, ``\\u202e``).

    ``newlines=True`` keeps ``\\n`` as a line break, for text whose lines are layout.
    """
    s = text if isinstance(text, str) else str(text)
    pattern = _HIDDEN_KEEP_NL if newlines else _HIDDEN
    if pattern.search(s) is None:  # the usual case costs one scan
        return s
    return pattern.sub(_escape, s)


def vtext(text: object, style: str = "", *, newlines: bool = False) -> Text:
    """A rich ``Text`` of ``visible(text)``: plain text, never read as markup."""
    return Text(visible(text, newlines=newlines), style=style)
