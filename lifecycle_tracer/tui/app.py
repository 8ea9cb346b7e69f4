"""The TUI: watch, step through and explore requests as they happen."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.actions import SkipAction
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from ..broadcast import Tee, follow_command
from ..course.format import Outcome
from ..events import TraceEvent
from ..explain.waiting import waiting
from ..visible import visible
from .bridge import UISink
from .controllers import Controller
from .explore_actions import ExploreActions
from .inspect_actions import InspectActions
from .keys import BINDINGS, load_keymap
from .lesson_actions import LessonActions
from .lesson_pane import LessonPane
from .logs import LogActions
from .messages import EventsArrived, StepPaused
from .palette import app_commands
from .panes import DetailPane, History, Pipeline, Waterfall
from .reload_actions import ReloadActions
from .store import DEFAULT_MAX_REQUESTS, TraceStore
from .themes import register_themes
from .view_actions import ViewActions

FRAME = 1 / 30  # the UI absorbs events at most once a frame
# In a burst (more than BURST new requests within LIVE_REDRAW seconds) the panes that follow live are
# drawn every LIVE_REDRAW seconds, not every frame: nobody reads 100 requests a second, and each frame
# drawn is CPU taken from the app being traced. Keys still act and draw at once.
LIVE_REDRAW, BURST = 0.2, 20


class TracerApp(LessonActions, ExploreActions, ReloadActions, LogActions, InspectActions, ViewActions,
                App[None]):
    CSS_PATH = "tracer.tcss"
    TITLE = "lifecycle-tracer"
    ENABLE_COMMAND_PALETTE = True
    # Keys avoid what tmux and terminals take (Ctrl+J/S/O, Ctrl+B); every one can be remapped.
    BINDINGS: ClassVar[list[BindingType]] = BINDINGS

    def __init__(self, controller: Controller, *, max_requests: int = DEFAULT_MAX_REQUESTS,
                 step_mode: bool = False, export_dir: Path | None = None, share: Any = None) -> None:
        super().__init__()
        self.controller = controller
        self.share = share  # a BroadcastSink: attendees follow this session with view --follow
        self.store = TraceStore(max_requests)
        self.sink = UISink()
        self.selected: str | None = None
        self.cursor: int | None = None  # None follows the live end of the request
        self.step_index = 0
        self.answers: dict[int, int] = {}
        self.revealed: set[int] = set()
        self.hints: dict[int, int] = {}
        self.nudged: set[int] = set()  # steps whose Enter already asked for a prediction
        self.outcomes: dict[int, list[Outcome]] = {}
        self.busy = False
        self.paused: TraceEvent | None = None
        self.follow_latest = True  # show each new request as it arrives, until the learner picks one
        self._burst = [0.0, 0]  # the current LIVE_REDRAW window: when it began, the requests new in it
        self._draw_due = False
        self.start_in_step_mode = step_mode
        self.export_dir = export_dir or Path.cwd()
        self.ready = False
        self.title = visible(controller.title)
        if share is not None:
            self.title = visible(f"{controller.title} · attendees: {follow_command(share)}")

    # -- layout ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(icon="≡")  # Textual's ⭘ has no glyph in common browser fonts (--web)
        with Vertical(id="left"):
            if self.controller.lesson is not None:
                with VerticalScroll(id="lesson-scroll"):
                    yield LessonPane(id="lesson")
            yield History(self.store, id="history")
        with Vertical(id="center"):
            yield Static("", id="status")
            yield Pipeline(id="pipeline")
            with VerticalScroll(id="waterfall-scroll"):
                yield Waterfall(id="waterfall")
        with VerticalScroll(id="right"):
            yield DetailPane(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        register_themes(self)
        keymap = load_keymap()
        if keymap:
            self.set_keymap(keymap)
        self.sink.attach(self)
        initial = self.controller.initial_events()
        if initial:
            self._absorb(initial)
        if self.controller.stepper is not None:
            self.controller.stepper.on_pause = lambda ev: self.post_message(StepPaused(ev))
            if self.start_in_step_mode:
                self.controller.stepper.enable()
        self.refresh_all()
        # ↑ ↓ move between requests from the start; Tab reaches the panes that scroll (the lesson, the detail).
        self.query_one(History).focus()
        self.start_controller()

    @work(thread=True, exclusive=True, group="controller")
    def start_controller(self) -> None:
        try:
            self.controller.start(self.sink if self.share is None else Tee(self.sink, self.share))
        except Exception as exc:  # e.g. the app's lifespan failed: the command says so once the screen is gone
            self.controller.failure = exc
            self.call_from_thread(self.exit, return_code=2)
            return
        self.call_from_thread(self._started)

    def _started(self) -> None:
        self.ready = True
        self.sub_title = visible(self.controller.subtitle)
        self.refresh_status()
        self.refresh_request()  # the picture's first words can name the server's URL now
        self.start_watching()

    def on_unmount(self) -> None:
        if self.share is not None:
            self.share.close()
        try:
            self.controller.stop()
        except Exception as exc:  # never hide what made the app stop
            self.log.error(f"stopping the controller failed: {exc}")

    def on_resize(self) -> None:
        self.refresh_request()

    # -- events from the server -----------------------------------------------

    def on_events_arrived(self, _: EventsArrived) -> None:
        # Wait for the next frame: everything that arrives meanwhile is drained
        # together (the sink posts no second message until we drain).
        self.set_timer(FRAME, self._drain_now)

    def _drain_now(self) -> None:
        self._absorb(self.sink.drain())

    def _absorb(self, batch: list[TraceEvent]) -> None:
        if not batch:
            return
        new, updated, _ = self.store.add(batch)
        now = time.monotonic()
        if now - self._burst[0] >= LIVE_REDRAW:
            self._burst[:] = [now, 0]
        self._burst[1] += len(new)
        if self._burst[1] > BURST:
            if not self._draw_due:
                self._draw_due = True
                self.set_timer(LIVE_REDRAW, self._draw_burst)
            return
        self._show_absorbed(new, updated)

    def _draw_burst(self) -> None:
        self._draw_due = False
        self._show_absorbed(None, None)

    def _show_absorbed(self, new: Collection[str] | None, updated: Collection[str] | None) -> None:
        """The panes brought up to date with the store; ``None``: whatever changed (a burst's draw)."""
        changed = False
        if self.selected is not None and self.selected not in self.store.requests:
            # The request being inspected fell out of the bounded history.
            self.selected, self.cursor, self.follow_latest = None, None, True
            changed = True
        if self.follow_latest or self.selected is None:
            latest = self.store.latest()
            if latest is not None and latest.request_id != self.selected:
                self.selected, self.cursor = latest.request_id, None
                changed = True
        found = self.query(History)
        if not found:  # the app is closing and its panes are gone; a late batch has nowhere to go
            return
        history = found.first()
        history.select(self.selected)
        history.sync(follow=self.follow_latest)
        if changed or new is None or updated is None or self.selected in new or self.selected in updated:
            self.refresh_request()
        if changed:
            self.refresh_status()

    def on_step_paused(self, message: StepPaused) -> None:
        self.paused = message.event
        self.selected = message.event.request_id
        self.cursor = None
        self.follow_latest = False  # stay on the held request
        self._absorb(self.sink.drain())
        self.refresh_request()
        self.refresh_status()

    def on_history_chosen(self, message: History.Chosen) -> None:
        # The learner picked a request: stay on it while others arrive.
        self.follow_latest = message.request_id == (self.store.order[-1] if self.store.order else None)
        if message.request_id != self.selected:
            self.selected = message.request_id
            self.cursor = None
            self.refresh_request()
            self.refresh_status()

    # -- drawing --------------------------------------------------------------

    def refresh_all(self) -> None:
        self.refresh_lesson()
        self.refresh_request()
        self.refresh_status()

    def current_events(self) -> list[TraceEvent]:
        view = self.store.get(self.selected)
        return view.events if view else []

    def cursor_index(self, events: list[TraceEvent]) -> int:
        if not events:
            return -1
        if self.cursor is None:
            return len(events) - 1
        return max(0, min(self.cursor, len(events) - 1))

    def refresh_request(self) -> None:
        events = self.current_events()
        idx = self.cursor_index(events)
        shown = events[: idx + 1] if idx >= 0 else []
        view = self.store.get(self.selected)
        title = f"{view.request_id}: {view.method} {view.path}" if view else ""
        pipeline = self.query_one(Pipeline)
        pipeline.empty = self.controller.no_request_words()
        pipeline.show(shown, title)
        self.query_one(Waterfall).show(events, idx)
        self.query_one(DetailPane).show(events[idx] if idx >= 0 else None)

    def refresh_status(self) -> None:
        parts = []
        stepper = self.controller.stepper
        if stepper is not None and stepper.enabled:  # where a held request waits, in words (explain/waiting.py)
            held = f"‖ {waiting(self.paused)}" if self.paused is not None else "STEP MODE on: the request waits at each stage"
            parts.append(f"{held}; Space moves it on, s leaves step mode")  # at 100x30 the sentence fits 3 lines
        elif self.paused is not None and stepper is None:
            parts.append(f"‖ {waiting(self.paused)}")
        if self.cursor is not None:
            parts.append(Pipeline.travel_words(self.current_events(), self.cursor))
        if not self.ready and self.controller.can_fire:
            parts.append("starting the app's server…")
        if getattr(self, "export_folder", None) is not None:
            parts.append(f"exports: {self.export_folder}")
        if self.share is not None:  # the title is cut at 100 columns; attendees need the whole command
            parts.append(f"attendees: {follow_command(self.share)} ({self.share.followers} following)")
        # Event names carry the request's path: plain text, never markup.
        self.query_one("#status", Static).update(Text(visible(" · ".join(parts))))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """With no lesson (your own app, a viewer, a replay of one) the lesson's keys leave the footer.

        A replay or a viewer sends nothing, so firing, composing and step mode leave its footer too.
        """
        if action == "reload":  # only a lesson has a file to reload
            return self.controller.can_reload
        if action in ("fire", "compose", "toggle_step_mode") and not self.controller.can_fire:
            return False
        if action == "toggle_step_mode" and self.controller.stepper is None:
            return False  # the app runs in another process (trace --reload): nothing here can hold it
        return not (action in self._LESSON_ACTIONS and self.controller.lesson is None)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from app_commands(self, screen)  # the app's own first: they are what the palette is opened for
        yield from super().get_system_commands(screen)

    def _in_dialog(self) -> None:
        """Let a priority key through to the dialog on top (the composer's inputs, the help)."""
        if len(self.screen_stack) > 1:
            raise SkipAction()
