"""One redaction policy, applied at the source (the hooks, while they build an event's facts).

- ``names``: which names carry a secret (headers, query and form fields, JSON keys, path parameters, cookies).
- ``text``: secrets inside query strings, URLs, cookies and raw text.
- ``headers``: header pairs as events show them.
- ``values``: a value hidden once in a request is masked everywhere in that request.
- ``recorded``: the same rules once more, for recordings made with ``--show-secrets``.
"""

from .cookies import redact_cookie_header, redact_set_cookie
from .headers import PREVIEW_CHARS, SECRET_HEADERS, header_pairs, is_secret_header, redact_value, truncate
from .names import is_secret_name
from .recorded import redact_request
from .text import REDACTED, hide_keys, redact_json_text, redact_query, redact_raw, redact_url
from .values import RequestSecrets

__all__ = [
    "PREVIEW_CHARS",
    "REDACTED",
    "SECRET_HEADERS",
    "RequestSecrets",
    "header_pairs",
    "hide_keys",
    "is_secret_header",
    "is_secret_name",
    "redact_cookie_header",
    "redact_json_text",
    "redact_query",
    "redact_raw",
    "redact_request",
    "redact_set_cookie",
    "redact_url",
    "redact_value",
    "truncate",
]
