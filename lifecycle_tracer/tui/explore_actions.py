"""Exploring a request: step mode, time travel, moving between requests."""

from __future__ import annotations

from typing import Any

from .panes import History


class ExploreActions:
    """Mixed into TracerApp; the state it uses (selected, cursor, paused, ...) lives there."""

    controller: Any
    store: Any
    selected: str | None
    cursor: int | None
    paused: Any
    follow_latest: bool

    def action_toggle_step_mode(self) -> None:
        stepper = self.controller.stepper
        if stepper is None:
            self.notify("Step mode needs a live app (not a replay).")
            return
        if stepper.enabled:
            stepper.disable()
            self.paused = None
            self.notify("Step mode off: every paused request goes on.")
        else:
            stepper.enable()
            self.notify("Step mode on: the next request waits at each stage; Space moves it on.")
        self.refresh_status()

    def action_step_forward(self) -> None:
        self._in_dialog()
        stepper = self.controller.stepper
        if stepper is None or not stepper.enabled:
            self.action_travel(1)
            return
        if stepper.release(self.paused.request_id if self.paused else None):
            self.paused = None
            self.refresh_status()

    def action_travel(self, delta: int) -> None:
        self._in_dialog()
        events = self.current_events()
        if not events:
            return
        idx = self.cursor_index(events) + delta
        if not 0 <= idx < len(events):
            where = "last" if idx >= len(events) else "first"
            other = "Home goes to the first" if where == "last" else "End goes to the last"
            self.notify(f"This is the request's {where} event; {other}, and [ ] change the request.")
        self.cursor = max(0, min(idx, len(events) - 1))
        self.refresh_request()
        self.refresh_status()

    def action_travel_to(self, where: int) -> None:
        self._in_dialog()
        events = self.current_events()
        self.cursor = None if where < 0 else 0
        if where < 0 and self.selected == (self.store.order[-1] if self.store.order else None):
            self.follow_latest = True  # End on the newest request: follow live again
        if not events:
            return
        self.refresh_request()
        self.refresh_status()

    def action_follow_newest(self) -> None:
        """Select the newest request and keep selecting each new one as it arrives."""
        self._in_dialog()
        self.follow_latest = True
        self.cursor = None
        if self.store.order:
            self.selected = self.store.order[-1]
            self.query_one(History).select(self.selected)
            self.refresh_request()
        self.notify("Following the newest request; choosing another one (↑ ↓ [ ]) stops following.")
        self.refresh_status()

    def action_other_request(self, delta: int) -> None:
        ids = list(self.store.requests)
        if not ids:
            return
        idx = ids.index(self.selected) + delta if self.selected in ids else len(ids) - 1
        self.selected = ids[max(0, min(idx, len(ids) - 1))]
        self.cursor = None
        self.follow_latest = self.selected == ids[-1]
        self.query_one(History).select(self.selected)
        self.refresh_request()

