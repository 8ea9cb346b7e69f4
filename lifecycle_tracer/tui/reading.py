"""A modal that shows something to read: an exercise's solution, the glossary."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class ReadingScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,o,g", "dismiss", "Close")]

    def __init__(self, body: Any) -> None:
        super().__init__()
        self.body = body

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):  # the help screen's frame: one look for every modal to read
            yield Static(self.body)
            yield Static(Text("\nPress Esc to close.", style="dim"))


def solution_body(title: str, code: str, replaces: str, source: str) -> Group:
    return Group(
        Text(f"One way to solve “{title}”", style="bold"),
        Text(f"from {source}", style="dim"),
        Syntax(code, "python", theme="ansi_dark", background_color="default", line_numbers=False),
        Text(f"\nIt replaces the code in {replaces}. Type it into your copy yourself: that is how it sticks.",
             style="dim"),
    )


def glossary_body() -> Group:
    from ..explain.glossary import GLOSSARY

    table = Table("term", "meaning", box=None, padding=(0, 2), show_header=False)
    for entry in GLOSSARY:
        also = Text(f"\n(also: {', '.join(entry.also)})", style="dim") if entry.also else Text("")
        table.add_row(Text(entry.term, style="bold"), Text(entry.meaning) + also)
    return Group(Text("Glossary: the words this tool uses", style="bold"), table)
