"""A dark, a light, and a high-contrast theme for projectors."""

from __future__ import annotations

from textual.app import App
from textual.theme import Theme

HIGH_CONTRAST = Theme(
    name="lifecycle-high-contrast",
    primary="#FFFF00",
    secondary="#00FFFF",
    accent="#FF00FF",
    warning="#FFAA00",
    error="#FF3333",
    success="#33FF33",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#1A1A1A",
    dark=True,
)

# Cycled by the theme key, in this order.
THEMES = {"textual-dark": None, "textual-light": None, "lifecycle-high-contrast": HIGH_CONTRAST}


def register_themes(app: App[object]) -> None:
    app.register_theme(HIGH_CONTRAST)
