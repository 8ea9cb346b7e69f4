"""Start the TUI for each command, in the terminal or in a browser (--web)."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any

from .controllers import Controller


def in_browser_child() -> bool:
    """True when textual-serve started us to drive a browser tab."""
    return "TEXTUAL_DRIVER" in os.environ or os.environ.get("LIFECYCLE_TRACER_TUI") == "1"


def run_tui(controller: Controller, *, step_mode: bool = False, max_requests: int | None = None,
            share: Any = None) -> int:
    from .app import TracerApp
    from .store import DEFAULT_MAX_REQUESTS

    app = TracerApp(controller, step_mode=step_mode, max_requests=max_requests or DEFAULT_MAX_REQUESTS,
                    share=share)
    if os.environ.get("TEXTUAL_DRIVER") == "textual.drivers.web_driver:WebDriver":
        app.driver_class = _served_driver()
    app.run()
    return 0


def _served_driver() -> type:
    """Textual's WebDriver, except that the app quits when textual-serve goes away.

    textual-serve stops its child by writing "quit" on its stdin; if the server
    dies without doing so (killed, crashed), stdin just ends and the app would
    live on, holding the lesson's port. End of input now means quit.
    """
    from textual import messages
    from textual.drivers.web_driver import WebDriver

    class ServedDriver(WebDriver):
        def run_input_thread(self) -> None:
            super().run_input_thread()
            if not self.exit_event.is_set():  # end of input, not our own shutdown
                self._app.post_message(messages.ExitApp())

    return ServedDriver


def serve_web(argv: list[str], *, port: int | None, host: str = "127.0.0.1", max_sessions: int | None = None) -> int:
    """Serve the TUI in a browser with textual-serve; each visitor gets their own copy.

    The server is guarded (see ``web.GuardedServer``): only the printed
    address, with its per-launch token, opens the page and its sessions.
    """
    from ..server import free_port
    from .web import DEFAULT_SESSIONS, GuardedServer, exposure_warning

    web_port = free_port(host) if port is None else port
    # textual-serve runs the command through /bin/sh; exec lets the app replace the shell.
    command = "exec " + " ".join(shlex.quote(a) for a in [sys.executable, "-m", "lifecycle_tracer", *argv])
    os.environ["LIFECYCLE_TRACER_TUI"] = "1"
    if (warning := exposure_warning(host)) is not None:
        print(warning, file=sys.stderr, flush=True)
    GuardedServer(command, host=host, port=web_port, max_sessions=max_sessions or DEFAULT_SESSIONS,
                  title="lifecycle-tracer").serve()
    return 0


def lesson_controller(loaded: Any, *, port: int | None, record: Path | None, show_secrets: bool) -> Controller:
    from .controllers import LessonController

    return LessonController(loaded, port=port, record=record, show_secrets=show_secrets)
