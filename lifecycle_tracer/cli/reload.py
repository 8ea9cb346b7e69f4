"""``trace --reload`` in the TUI or printed (the child process is ``reloader.py``'s).

In the TUI, step mode is carried over the channel (``viewer_step.py``), and
a restarted app is told that step mode is on.
"""

from __future__ import annotations

import signal
from pathlib import Path

from ..reloader import start_child, stop_child


def trace_reload(target: str, *, plain: bool, port: int, host: str, app_dir: Path, record: Path | None,
                  show_secrets: bool, history: int, warning: str | None, tui: bool, share: str | None = None) -> int:
    """The app in uvicorn's reloader, in a child process; this process shows what it streams back."""
    if tui:
        from ..tui.live import ChildAppController

        controller = ChildAppController(target, host=host, port=port, app_dir=app_dir, record=record,
                                        show_secrets=show_secrets, reload=True)
        try:
            controller.connect()
        except Exception as exc:  # ViewerError: one sentence
            from .exits import fail

            return fail(str(exc))
        if warning:
            controller.title += f" — reachable beyond this machine on {host}"
        from ..tui.launch import run_tui
        from .share import share_session

        try:
            sharing = share_session(share, controller.title)
        except ValueError as exc:
            from .exits import fail

            return fail(str(exc))
        return run_tui(controller, max_requests=history, share=sharing)
    return trace_reload_plain(target, host=host, port=port, app_dir=app_dir, record=record, show_secrets=show_secrets)


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
