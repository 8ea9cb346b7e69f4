"""Modal screens: help and the request composer."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from ..course.format import Request

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD")


class HelpScreen(ModalScreen[None]):
    """Every key, what it does, and how to change it."""

    BINDINGS = [Binding("escape,q,f1,question_mark", "dismiss", "Close help")]

    def __init__(self, rows: list[tuple[str, str, str]], keymap_path: str) -> None:
        super().__init__()
        self.rows = rows
        self.keymap_path = keymap_path

    def compose(self) -> ComposeResult:
        table = Table("key", "what it does", "id (for remapping)", box=None, padding=(0, 2))
        for key, description, binding_id in self.rows:
            table.add_row(Text(key, style="bold"), description, Text(binding_id, style="dim"))
        with VerticalScroll(id="help"):
            yield Static(Text("lifecycle-tracer: keys", style="bold"))
            yield Static(table)
            yield Static(Text(
                f"\nRemap any key in {self.keymap_path}, for example:\n  [keys]\n  fire = \"f\"\n  step_forward = \"j\"\n"
                "Press Esc to close.", style="dim"))


class Composer(ModalScreen[Request | None]):
    """Compose any request and fire it at the app."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="composer"):
            yield Label("Compose a request", id="composer-title")
            with Horizontal(classes="row"):
                yield Select([(m, m) for m in METHODS], value="GET", allow_blank=False, id="method")
                yield Input(placeholder="/items/3", value="/", id="path")
            yield Input(placeholder="query: a=1&b=two", id="query")
            yield Label("Headers, one per line (Name: value)")
            yield TextArea(id="headers")
            yield Label("JSON body (optional)")
            yield TextArea(id="body", language="json")
            yield Static("", id="composer-error")
            with Horizontal(classes="row"):
                yield Button("Send", variant="primary", id="send")
                yield Button("Cancel", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "send":
            self.send()
        else:
            self.dismiss(None)

    def on_input_submitted(self) -> None:
        self.send()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def send(self) -> None:
        try:
            self.dismiss(self.build())
        except ValueError as exc:
            self.query_one("#composer-error", Static).update(Text(str(exc), style="bold red"))

    def build(self) -> Request:
        from urllib.parse import parse_qsl

        method = str(self.query_one("#method", Select).value)
        path = self.query_one("#path", Input).value.strip() or "/"
        if not path.startswith("/"):
            raise ValueError("The path must start with /, e.g. /items/3.")
        query: dict[str, Any] = {}
        for key, value in parse_qsl(self.query_one("#query", Input).value.strip(), keep_blank_values=True):
            query.setdefault(key, []).append(value)
        headers: dict[str, str] = {}
        for n, line in enumerate(self.query_one("#headers", TextArea).text.splitlines(), 1):
            if not line.strip():
                continue
            name, sep, value = line.partition(":")
            if not sep or not name.strip():
                raise ValueError(f"Header line {n} needs the form Name: value.")
            headers[name.strip()] = value.strip()
        body_text = self.query_one("#body", TextArea).text.strip()
        body, raw = None, None
        if body_text:
            try:
                body = json.loads(body_text)
            except ValueError:
                # Sent as is: seeing FastAPI answer malformed JSON is worth trying.
                raw = body_text
                headers.setdefault("content-type", "application/json")
        return Request(method, path, query={k: v if len(v) > 1 else v[0] for k, v in query.items()},
                       headers=headers, json=body, content=raw)
