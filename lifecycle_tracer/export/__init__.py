"""Exports of a recorded trace: a Mermaid sequence diagram and an HTML waterfall."""

from .common import group, pick_request, redacted
from .html import html_page
from .mermaid import mermaid

__all__ = ["group", "html_page", "mermaid", "pick_request", "redacted"]
