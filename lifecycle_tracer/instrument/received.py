"""What the client got back, kept small: the start of the response body, and where an unhandled exception came from.

The body is kept as its first ``BODY_PREVIEW_BYTES`` bytes, across all its
messages, and its secrets are hidden as a streamed chunk's preview hides
them (``redact_json_text``, as ``safe.preview_text`` does), only without
cutting it to a chunk preview's 200 characters: an inspector shows the
whole of a small body and says when a large one was cut.
"""

from __future__ import annotations

import traceback
from typing import Any

from ..redaction import redact_json_text
from ..safe import TEXT_SCAN_LIMIT

# The span a chunk's preview is searched over for secrets: no more is kept or searched here either.
BODY_PREVIEW_BYTES = TEXT_SCAN_LIMIT
MAX_FRAMES = 40
# Every secret name (redaction/names.py) contains one of these: a body with none of them
# has nothing to hide by name, and the JSON parse and the text scan can be left out.
SECRET_HINTS = ("pass", "pw", "pin", "otp", "secret", "token", "jwt", "session", "credential", "cvv", "cvc",
                "cookie", "auth", "key", "sig", "code", "sid", "bearer", "dpop", "hmac", "ticket", "assertion")


def keep_head(head: bytearray, body: Any) -> None:
    """Add the part of one body message that still fits in the kept start of the body."""
    room = BODY_PREVIEW_BYTES - len(head)
    if room > 0 and body:
        head += body[:room]


def body_facts(head: bytes, total: int, redact: Any) -> dict[str, Any]:
    """``preview`` (the body as text, secrets hidden) and ``preview_cut``; ``binary`` when it is not UTF-8 text."""
    cut = total > len(head)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not (cut and exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"):
            return {"binary": True}
        text = head[: exc.start].decode("utf-8", errors="replace")  # the cut fell inside a character
    if redact:
        extra = getattr(redact, "extra", ())
        if extra or _may_hide(text):  # JSON by key at any depth, else name=value anywhere in the text
            text = redact_json_text(text, getattr(redact, "learn", None), extra)
    return {"preview": text, "preview_cut": cut}


def _may_hide(text: str) -> bool:
    low = text.lower()
    return any(hint in low for hint in SECRET_HINTS)


def frames(exc: BaseException) -> dict[str, Any]:
    """The exception's traceback as ``[file, line, function]``, innermost last (no source, no locals)."""
    found = [[f.f_code.co_filename, line, f.f_code.co_name] for f, line in traceback.walk_tb(exc.__traceback__)]
    out: dict[str, Any] = {"frames": found[-MAX_FRAMES:]}
    if len(found) > MAX_FRAMES:
        out["frames_left_out"] = len(found) - MAX_FRAMES  # the outermost ones
    return out
