"""Modal screens: help (the request composer is in composer.py)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    """Every key, what it does, and how to change it; then what every mark in the panes means."""

    BINDINGS = [Binding("escape,q,f1,question_mark", "dismiss", "Close help")]

    def __init__(self, rows: list[tuple[str, str, str]], keymap_path: str) -> None:
        super().__init__()
        self.rows = rows
        self.keymap_path = keymap_path

    def compose(self) -> ComposeResult:
        table = Table("key", "what it does", "id (for remapping)", box=None, padding=(0, 2))
        for key, description, binding_id in self.rows:
            table.add_row(Text(key, style="bold"), description, Text(binding_id, style="dim"))
        from .legend import legend

        with VerticalScroll(id="help"):
            yield Static(Text("lifecycle-tracer: keys", style="bold"))
            yield Static(table)
            yield Static(Text("\nWhat the marks mean", style="bold"))
            yield Static(legend())
            yield Static(Text(
                "\nCtrl+P opens the command palette: every command here, found by name.\n"
                f"Remap any key in {self.keymap_path}, for example:\n  [keys]\n  fire = \"f\"\n  step_forward = \"j\"\n"
                "Press Esc to close.", style="dim"))

