"""The inspector (i) and the comparison of two requests (m marks one, d compares the selected one with it)."""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static, TabbedContent, TabPane

from ..events import TraceEvent
from ..visible import visible
from .compare import render as render_compare
from .inspector import failures
from .inspector_view import error_section, layers_section, request_section, response_section, title, trace_section

SECTIONS = (("request", "Request", request_section), ("response", "Response", response_section),
            ("layers", "Headers by layer", layers_section), ("trace", "Trace", trace_section),
            ("error", "Error", error_section))
FRAME_CSS = """
    align: center middle;
    & > Vertical { width: 96%; height: 94%; border: thick $primary; background: $surface; padding: 0 1; }
    .title { height: auto; }
    TabbedContent, ContentSwitcher, TabPane, VerticalScroll { height: 1fr; }
    TabPane { padding: 0; }
    .hint { height: 1; color: $text-muted; }
"""


class InspectorScreen(ModalScreen[None]):
    """One request as DevTools would show it, each part in a tab; it follows a request still under way."""

    DEFAULT_CSS = "InspectorScreen {" + FRAME_CSS + "}"
    BINDINGS = [Binding("escape,q,i", "dismiss", "Close"),
                *[Binding(str(n), f"show_tab('{key}')", label, show=False)
                  for n, (key, label, _) in enumerate(SECTIONS, 1)]]

    def __init__(self, events: list[TraceEvent]) -> None:
        super().__init__()
        self.events = events  # the store's own list: it grows while the request is under way
        self.drawn = -1

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(classes="title", id="inspector-title")
            with TabbedContent(id="inspector-tabs"):
                for n, (key, label, _) in enumerate(SECTIONS, 1):
                    found = failures(self.events) if key == "error" else []
                    if found:  # a handled one (a 422's RequestValidationError) is no failure of the app
                        label = "Error ✗" if any(f.handled is not True for f in found) else "Error (handled)"
                    with TabPane(f"{n} {label}", id=f"tab-{key}"), VerticalScroll():
                        yield Static(id=f"section-{key}")
            yield Static("1-5 or ← → switch tabs · Tab then ↑ ↓ scrolls · Esc closes", classes="hint")

    def on_mount(self) -> None:
        self.redraw()
        self.set_interval(0.25, self.redraw)  # a request under way keeps adding events

    def redraw(self) -> None:
        if len(self.events) == self.drawn:
            return
        self.drawn = len(self.events)
        events = list(self.events)
        self.query_one("#inspector-title", Static).update(title(events))
        for key, _, section in SECTIONS:
            self.query_one(f"#section-{key}", Static).update(section(events))

    def action_show_tab(self, key: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{key}"

    def section_text(self, key: str) -> RenderableType:
        """What a tab shows (tests read it without switching tabs)."""
        return dict((k, f) for k, _, f in SECTIONS)[key](list(self.events))


class CompareScreen(ModalScreen[None]):
    DEFAULT_CSS = "CompareScreen {" + FRAME_CSS + "}"
    BINDINGS = [Binding("escape,q,d", "dismiss", "Close")]

    def __init__(self, marked: list[TraceEvent], other: list[TraceEvent]) -> None:
        super().__init__()
        self.marked, self.other = marked, other

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(classes="title", id="compare-title")
            with VerticalScroll(id="compare-scroll"):
                yield Static(id="compare-table")

    def on_mount(self) -> None:
        self.query_one("#compare-title", Static).update(
            title(self.marked).append("   vs   ").append_text(title(self.other))
            .append("\n≠ marks a row where the two differ (durations aside) · ↑ ↓ scroll · Esc closes", style="dim"))
        self.call_after_refresh(self.draw)

    def on_resize(self) -> None:
        self.draw()

    def draw(self) -> None:
        width = self.query_one("#compare-scroll").size.width or self.app.size.width - 8
        self.query_one("#compare-table", Static).update(render_compare(list(self.marked), list(self.other), width - 2))


class InspectActions:
    """Mixed into TracerApp: ``store`` and ``selected`` live there; ``marked`` is this mixin's."""

    store: Any
    selected: str | None
    marked: str | None = None

    def action_inspect(self) -> None:
        self._in_dialog()
        view = self.store.get(self.selected)
        if view is None:
            self.notify("No request to inspect yet: fire one first (Enter, or c to compose).")
            return
        self.push_screen(InspectorScreen(view.events))

    def action_copy_request(self) -> None:
        """The selected request as curl (also put on the clipboard) and as httpx, with what the trace lacks."""
        from rich.console import Group
        from rich.syntax import Syntax

        from ..copyas import as_curl, as_httpx
        from .reading import ReadingScreen

        self._in_dialog()
        view = self.store.get(self.selected)
        if view is None:
            self.notify("No request to copy yet: fire one first.")
            return
        base = self.controller.base_url()
        curl, snippet = as_curl(view.events, base), as_httpx(view.events, base)
        if curl is None or snippet is None:
            self.notify("Only an HTTP request can be copied as a command (this one is not).")
            return
        self.copy_to_clipboard(curl)  # OSC 52: terminals that allow it put it on the clipboard
        self.push_screen(ReadingScreen(Group(
            Text(visible(f"{view.request_id} as curl (sent to your clipboard, where the terminal allows it)"),
                 style="bold"),
            Syntax(visible(curl, newlines=True), "bash", theme="ansi_dark", background_color="default", word_wrap=True),
            Text("\nas httpx", style="bold"),
            Syntax(visible(snippet, newlines=True), "python", theme="ansi_dark", background_color="default",
                   word_wrap=True),
        )))

    def action_mark(self) -> None:
        self._in_dialog()
        view = self.store.get(self.selected)
        if view is None:
            self.notify("No request to mark yet: fire one first.")
            return
        if self.marked == view.request_id:
            self.marked = None
            self.notify(visible(f"{view.request_id} is no longer marked."), markup=False)
            return
        self.marked = view.request_id
        self.notify(visible(f"{view.request_id} ({view.method} {view.path}) marked: select another request "
                            "([ ] or the history) and press d to compare them."), markup=False)

    def action_compare(self) -> None:
        self._in_dialog()
        marked = self.store.get(self.marked)
        if marked is None:
            self.notify("Press m on a request to mark it first, then select another one and press d."
                        if self.marked is None else "The marked request has left the history: mark another with m.")
            self.marked = None
            return
        other = self.store.get(self.selected)
        if other is None or other.request_id == marked.request_id:
            self.notify("That is the marked request: select another one ([ ] or the history) and press d.")
            return
        self.push_screen(CompareScreen(marked.events, other.events))
