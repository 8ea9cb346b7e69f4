"""The keys that change what is shown or sent: compose, export, theme, the large layout, help."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.binding import Binding

from ..course.format import Request
from ..visible import visible
from .keys import keymap_path
from .messages import ComposedSent
from .panes import Pipeline
from .themes import THEMES


class ViewActions:
    """Mixed into TracerApp; the state it uses (controller, store, selected, ...) lives there."""

    controller: Any
    store: Any
    selected: str | None
    cursor: int | None
    export_dir: Any

    def action_compose(self) -> None:
        if not self.controller.can_fire:
            self.notify("A replay cannot send requests.")
            return
        from .composer import Composer, prefill_from, route_choices

        selected = self.store.get(self.selected) if self.selected else None
        prefill = prefill_from(selected.events) if selected is not None else None
        self.push_screen(Composer(prefill, route_choices(getattr(self.controller, "app", None))), self._on_composed)

    def _on_composed(self, request: Request | None) -> None:
        if request is not None:
            self.cursor = None
            self.send_composed(request)

    @work(thread=True, group="requests")
    def send_composed(self, request: Request) -> None:
        try:
            response = self.controller.fire(request)
            status: Any = response.status_code
        except Exception as exc:
            status = f"failed: {exc}"
        self.post_message(ComposedSent(request.describe(), status))

    def on_composed_sent(self, message: ComposedSent) -> None:
        self.notify(visible(f"{message.description} → {message.status}"), markup=False)
        self._absorb(self.sink.drain())

    def action_export(self) -> None:
        from .exporting import export_all

        try:
            folder, said = export_all(self, self.export_dir)
        except OSError as exc:
            self.notify(visible(f"Export failed: {exc}"), severity="error", markup=False)
            return
        self.notify(visible(said), timeout=8, markup=False)
        self.last_export = folder
        self.refresh_status()

    def action_cycle_theme(self) -> None:
        names = list(THEMES)
        current = self.theme if self.theme in names else names[-1]
        self.theme = names[(names.index(current) + 1) % len(names)]
        self.notify(f"Theme: {self.theme}")

    def action_toggle_large(self) -> None:
        self.screen.toggle_class("-large")
        self.call_after_refresh(self.refresh_all)

    def action_help(self) -> None:
        from .screens import HelpScreen

        rows = []
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            if binding.action == "reload" and not self.controller.can_reload:
                continue
            key = self._key_for(binding)
            rows.append((key, binding.description, binding.id or ""))
        self.push_screen(HelpScreen(rows, str(keymap_path())), lambda _: self.query_one(Pipeline).legend_seen())

    def _key_for(self, binding: Binding) -> str:
        keymap = getattr(self, "_keymap", {}) or {}
        keys = keymap.get(binding.id or "", binding.key)
        return ", ".join(self.get_key_display(Binding(k.strip(), "")) for k in keys.split(","))

