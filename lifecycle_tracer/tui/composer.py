"""The request composer: edit and resend the selected request, pick one of the app's routes, or send WebSocket messages."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from ..course.format import Request, WebSocketRequest
from ..redaction.text import REDACTED
from ..visible import visible

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "WEBSOCKET")
# Headers the client sets for itself on every request: prefilling them would only send them twice.
_CLIENT_OWN = frozenset({"host", "content-length", "connection", "accept-encoding", "user-agent", "accept",
                         "transfer-encoding", "upgrade", "sec-websocket-key", "sec-websocket-version",
                         "sec-websocket-extensions"})


def prefill_from(events: list[Any]) -> dict[str, Any] | None:
    """Method, path, query and headers of a recorded request, to edit and send again.

    Values the trace hid (secrets) are left out rather than sent as the text "[redacted]".
    """
    if not events or events[0].stage != "request" or events[0].detail.get("type") == "lifespan":
        return None
    d = events[0].detail
    method = "WEBSOCKET" if d.get("type") == "websocket" else str(d.get("method") or "GET")
    headers, hidden = [], 0
    for pair in d.get("headers") or []:
        if not (isinstance(pair, list | tuple) and len(pair) == 2):
            continue
        name, value = str(pair[0]), str(pair[1])
        if name.lower() in _CLIENT_OWN:
            continue
        if REDACTED in value:
            hidden += 1
            continue
        headers.append(f"{name}: {value}")
    return {"method": method if method in METHODS else "GET", "path": str(d.get("path") or "/"),
            "query": str(d.get("query_string") or ""), "headers": "\n".join(headers), "hidden": hidden}


def route_choices(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every route the app declares, mounts and included routers flattened, docs last."""
    found: list[tuple[str, str]] = []

    def walk(routes: Any, prefix: str) -> None:
        for route in list(routes or ()):
            kind = type(route).__name__
            if kind == "_IncludedRouter":  # FastAPI >= 0.163 keeps the router; its prefix is added at include time
                added = getattr(getattr(route, "include_context", None), "prefix", "") or ""
                walk(getattr(getattr(route, "original_router", None), "routes", ()), prefix + added)
            elif kind == "Mount":
                walk(getattr(route, "routes", ()), prefix + (getattr(route, "path", "") or ""))
            elif isinstance(getattr(route, "path", None), str):
                methods = getattr(route, "methods", None)
                if methods:
                    found.extend((m, prefix + route.path) for m in sorted(methods) if m != "HEAD")
                elif "WebSocket" in kind:
                    found.append(("WEBSOCKET", prefix + route.path))

    walk(getattr(app, "routes", ()), "")
    docs = ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
    return sorted(dict.fromkeys(found), key=lambda mp: (mp[1] in docs, found.index(mp)))


class Composer(ModalScreen[Request | WebSocketRequest | None]):
    """Compose any request and fire it at the app; F5 (or Ctrl+G) sends from any box."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"),
                Binding("f5,ctrl+g", "send", "Send", priority=True)]

    def __init__(self, prefill: dict[str, Any] | None = None, routes: list[tuple[str, str]] | None = None) -> None:
        super().__init__()
        self.prefill = prefill or {}
        self.routes = routes or []

    def compose(self) -> ComposeResult:
        p = self.prefill
        with Vertical(id="composer"):
            yield Label("Edit and resend the selected request" if p else "Compose a request", id="composer-title")
            if self.routes:
                yield Select([(visible(f"{m} {path}"), (m, path)) for m, path in self.routes],
                             prompt="…or pick one of the app's routes", id="route")
            with Horizontal(classes="row"):
                yield Select([(m, m) for m in METHODS], value=p.get("method", "GET"), allow_blank=False, id="method")
                yield Input(placeholder="/items/3", value=visible(p.get("path", "/")), id="path")
            yield Input(placeholder="query: a=1&b=two", value=visible(p.get("query", "")), id="query")
            hidden = p.get("hidden")
            yield Label("Headers, one per line (Name: value)"
                        + (f"; {hidden} hidden secret header(s) left out" if hidden else ""))
            yield TextArea(visible(p.get("headers", "")), id="headers")
            yield Label("JSON body (optional); for WEBSOCKET, one message per line", id="body-label")
            yield TextArea(id="body", language="json")
            yield Static("", id="json-state")
            yield Static("", id="composer-error")
            with Horizontal(classes="row"):
                yield Button("Send (F5)", variant="primary", id="send")
                yield Button("Cancel", id="cancel")

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "route" and isinstance(event.value, tuple):
            method, path = event.value
            self.query_one("#method", Select).value = method
            self.query_one("#path", Input).value = path

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if event.text_area.id != "body":
            return
        text = event.text_area.text.strip()
        state = self.query_one("#json-state", Static)
        if not text or self.query_one("#method", Select).value == "WEBSOCKET":
            state.update("")
            return
        try:
            json.loads(text)
        except ValueError as exc:
            where = f" (line {exc.lineno}, column {exc.colno}: {exc.msg})" if isinstance(exc, json.JSONDecodeError) else ""
            state.update(Text(f"✗ not valid JSON{where}: it is sent as is, to see what FastAPI answers.",
                              style="yellow"))
        else:
            state.update(Text("✓ valid JSON", style="green"))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "send":
            self.action_send()
        else:
            self.dismiss(None)

    def on_input_submitted(self) -> None:
        self.action_send()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_send(self) -> None:
        try:
            self.dismiss(self.build())
        except ValueError as exc:
            self.query_one("#composer-error", Static).update(Text(str(exc), style="bold red"))

    def build(self) -> Request | WebSocketRequest:
        method = str(self.query_one("#method", Select).value)
        path = self.query_one("#path", Input).value.strip() or "/"
        if not path.startswith("/"):
            raise ValueError("The path must start with /, e.g. /items/3.")
        query_text = self.query_one("#query", Input).value.strip()
        query: dict[str, Any] = {}
        for key, value in parse_qsl(query_text, keep_blank_values=True):
            query.setdefault(key, []).append(value)
        headers: dict[str, str] = {}
        for n, line in enumerate(self.query_one("#headers", TextArea).text.splitlines(), 1):
            if not line.strip():
                continue
            name, sep, value = line.partition(":")
            if not sep or not name.strip():
                raise ValueError(f"Header line {n} needs the form Name: value.")
            headers[name.strip()] = value.strip()
        body_text = self.query_one("#body", TextArea).text
        if method == "WEBSOCKET":  # a WebSocket's query can only ride in its path
            messages = [line for line in body_text.splitlines() if line.strip()]
            return WebSocketRequest(path + (f"?{query_text}" if query_text else ""), send=messages, headers=headers)
        body_text = body_text.strip()
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
