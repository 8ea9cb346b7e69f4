"""``trace`` in the TUI, and ``trace --plain`` (the child process is ``reloader.py``'s).

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
        sharing = share_session(share, controller, show_secrets)
    except ValueError as exc:
        return fail(str(exc))
    return run_tui_or_fail(controller, max_requests=history, share=sharing)


def trace_child_plain(target: str, *, host: str, port: int, app_dir: Path, record: Path | None,
                      show_secrets: bool, reload: bool) -> int:
    """``trace --plain``: the app in a child process (uvicorn's reloader with ``reload``), printed here.

    Each request is printed whole once it has ended, as ``view --plain`` prints it, so requests served
    at the same time never interleave; printing never takes the server's interpreter lock.
    """
    from rich.console import Console
    from rich.text import Text

    from ..reloader import wait_serving
    from ..server import ServerStartError, free_port, url_host
    from ..viewer import Viewer, ViewerError
    from ..visible import visible
    from .exits import fail
    from .view import PlainPrinter

    console = Console(highlight=False)
    printer = PlainPrinter(console, record)
    diagnostics = Console(stderr=True, highlight=False)

    def note(text: str) -> None:  # the server's lines and the channel's, on stderr: stdout is the trace
        with printer.lock:
            diagnostics.print(Text(visible(text), style="dim"))

    # Until the server listens, its events wait here: the line saying where it serves comes first, and a
    # failed start is one sentence, not its events with the traceback Starlette puts in them.
    waiting: list[Any] | None = [] if not reload else None

    def event(ev: Any) -> None:
        with printer.lock:
            if waiting is not None:
                waiting.append(ev)
                return
        printer.event(ev)

    held_notes: list[str] = []

    def viewer_note(text: str) -> None:
        with printer.lock:
            if waiting is not None:
                held_notes.append(text)
                return
        note(text)

    viewer = Viewer(event, viewer_note, port=free_port())
    try:
        viewer.start()
    except ViewerError as exc:
        return fail(str(exc))
    port = port or free_port(host)
    output: list[str] = []

    def line(text: str) -> None:
        output.append(text)
        with printer.lock:
            if waiting is None:  # else shown once the server listens; a failed start is one sentence
                note(text)

    proc = start_child(target, host=host, port=port, app_dir=app_dir, viewer_port=viewer.port,
                       show_secrets=show_secrets, on_line=line, reload=reload)
    stopped = False

    def stop(*_: object) -> None:
        raise KeyboardInterrupt  # SIGTERM too: the child must not outlive us

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        if not reload:  # with --reload a failed start waits for the next save; without, it is the end
            wait_serving(proc, {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host), port, output)
        how = f", reloaded on every save in {app_dir}" if reload else ""
        with printer.lock:
            console.print(Text(f"Tracing {target} at http://{url_host(host)}:{port}{how} — send it requests "
                               "(browser, curl, httpie); Ctrl+C stops.", style="bold"))
            for ev in waiting or []:
                printer.event(ev)
            if waiting is not None:
                for text in held_notes + output:
                    note(text)
            waiting = None
        proc.wait()
    except KeyboardInterrupt:
        stopped = True
    except ServerStartError as exc:
        return fail(str(exc))
    finally:
        signal.signal(signal.SIGTERM, previous)
        stop_child(proc)
        viewer.stop()
        printer.close()
    if not stopped and proc.returncode:
        return fail(f"The app's server stopped by itself (exit code {proc.returncode}); see its lines above.",
                    1)
    return 0
