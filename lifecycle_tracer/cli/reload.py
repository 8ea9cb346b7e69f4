"""``trace`` in the TUI, and ``trace --reload`` printed (the child process is ``reloader.py``'s).

In the TUI, step mode is carried over the channel (``viewer_step.py``), and
an app restarted by --reload is told that step mode is on.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from ..reloader import start_child, stop_child


def trace_tui(target: str, *, app: Any, reload: bool, port: int, host: str, app_dir: Path, record: Path | None,
              show_secrets: bool, history: int, warning: str | None, share: str | None = None) -> int:
    """``trace`` in the TUI: the app served in a child process (uvicorn's reloader with ``reload``)."""
    from ..tui.live import ChildAppController
    from ..viewer import ViewerError
    from .exits import fail, run_tui_or_fail
    from .share import share_session

    controller = ChildAppController(target, host=host, port=port, app_dir=app_dir, record=record,
                                    show_secrets=show_secrets, reload=reload, app=app)
    try:
        controller.connect()
    except ViewerError as exc:
        return fail(str(exc))
    if warning:
        controller.title += f" — reachable beyond this machine on {host}"
    try:
        sharing = share_session(share, controller.title)
    except ValueError as exc:
        return fail(str(exc))
    return run_tui_or_fail(controller, max_requests=history, share=sharing)


def trace_reload_plain(target: str, *, host: str, port: int, app_dir: Path, record: Path | None,
                       show_secrets: bool) -> int:
    from rich.console import Console
    from rich.text import Text

    from ..server import free_port, url_host
    from ..viewer import Viewer, ViewerError
    from .exits import fail
    from .view import PlainPrinter

    console = Console(highlight=False)
    printer = PlainPrinter(console, record)
    viewer = Viewer(printer.event, printer.note, port=free_port())
    try:
        viewer.start()
    except ViewerError as exc:
        return fail(str(exc))
    port = port or free_port(host)
    proc = start_child(target, host=host, port=port, app_dir=app_dir, viewer_port=viewer.port,
                       show_secrets=show_secrets, on_line=printer.note)
    console.print(Text(f"Tracing {target} at http://{url_host(host)}:{port}, reloaded on every save in "
                       f"{app_dir} — send it requests (browser, curl, httpie); Ctrl+C stops.", style="bold"))
    def stop(*_: object) -> None:
        raise KeyboardInterrupt  # SIGTERM too: the child must not outlive us

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        stop_child(proc)
        viewer.stop()
        printer.close()
    return 0
