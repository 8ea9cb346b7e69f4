"""``view``: show what apps instrumented with ``LiveSink`` send, in the TUI or printed."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from rich.console import Console
from rich.text import Text

from ..events import TraceEvent
from ..visible import visible
from .exits import EXIT_OK, fail

HOW = ("In the app: `from lifecycle_tracer import instrument, LiveSink`, then "
       "`instrument(app, sink=LiveSink())`, and run it as you do (uvicorn, fastapi dev, --workers).")


def view(*, plain: bool, host: str, port: int, token: str | None, record: Path | None, tui: bool,
         follow: str | None = None, web: bool = False) -> int:
    """Listen for apps (``LiveSink``), or follow a shared session (``follow``: its HOST:PORT, with ``token``)."""
    from ..viewer import Viewer, ViewerError
    from .inputs import BadInput, check_follow, check_listen_port, check_record, exposure_warning

    try:
        check_listen_port(port)
        check_record(record)
        if follow is not None:
            check_follow(follow)
        if follow is not None and not token:
            raise BadInput("--follow needs the session's --token, which its screen shows beside the address.")
        if web and follow is None:
            raise BadInput("--web serves a follower of a shared session: pass --follow HOST:PORT --token T.")
    except BadInput as exc:
        return fail(str(exc))
    if web:
        from ..tui.launch import serve_web

        # Each browser tab follows on its own; a wrong token or address is said here, once, before serving.
        probe = Viewer(lambda _: None, lambda _: None)
        try:
            probe.follow(str(follow), str(token))
        except ViewerError as exc:
            return fail(str(exc))
        finally:
            probe.stop()
        os.environ["LIFECYCLE_TRACER_TOKEN"] = str(token)  # for each tab's viewer: not in its argv, which ps shows
        return serve_web(["view", "--follow", str(follow)], port=None)
    warning = exposure_warning(host, what="viewer") if follow is None else None
    if tui and not plain:
        from ..tui.launch import run_tui
        from ..tui.live import LiveController

        controller = LiveController(host=host, port=port, token=token, record=record, follow=follow)
        try:
            controller.connect()
        except ViewerError as exc:
            return fail(str(exc))
        if warning:
            controller.title += f" — reachable beyond this machine on {host}"
        return run_tui(controller)
    console = Console(highlight=False)
    printer = PlainPrinter(console, record)
    viewer = Viewer(printer.event, printer.note, host=host, port=port, token=None if follow else token)
    try:
        if follow is not None:
            viewer.follow(follow, str(token))
        else:
            viewer.start()
    except ViewerError as exc:
        return fail(str(exc))
    if warning:
        Console(stderr=True).print(Text(warning, style="bold yellow"))
    if follow is None:
        console.print(Text(f"Listening for apps on {host}:{viewer.port}; Ctrl+C stops.", style="bold"))
        console.print(Text(HOW, style="dim"))
    if follow is None and viewer.token and not token:
        console.print(Text(f"Apps must send the token: set LIFECYCLE_TRACER_TOKEN={viewer.token} and "
                           f"LIFECYCLE_TRACER_VIEWER=THIS-HOST:{viewer.port} in the app's environment.",
                           style="bold yellow"))
    try:
        # Following, the session's end is the viewer's; listening, only Ctrl+C is.
        (viewer.followed_ended if follow is not None else threading.Event()).wait()
    except KeyboardInterrupt:
        pass
    finally:
        viewer.stop()
        printer.close()
    return EXIT_OK


MAX_PENDING = 1000  # requests begun and not ended; past it the oldest is printed as it stands


class PlainPrinter:
    """Prints each request once it has ended, whole, under a rule naming it; notes as they come."""

    def __init__(self, console: Console, record: Path | None) -> None:
        from ..sinks import JsonLinesSink

        self.console = console
        self.lock = threading.RLock()  # trace --plain prints what waited for the server under it
        self.pending: dict[str, list[TraceEvent]] = {}
        self.recording = JsonLinesSink(record) if record else None

    def event(self, event: TraceEvent) -> None:
        if self.recording is not None:
            self.recording.emit(event)
        with self.lock:
            evs = self.pending.setdefault(event.request_id, [])
            evs.append(event)
            if event.stage == "request" and event.kind == "end":
                del self.pending[event.request_id]
                self._print(evs)
            elif len(self.pending) > MAX_PENDING:  # an app stopped mid-request, or its events were dropped
                oldest = next(iter(self.pending))
                self._print(self.pending.pop(oldest), ended=False)

    def _print(self, evs: list[TraceEvent], ended: bool = True) -> None:
        from ..sinks.console import end_outcome, nested
        from ..timeline import ran_ns, request_ns

        first, last = evs[0], evs[-1]
        if ended:
            took = (request_ns(last.detail) or ran_ns(evs)) / 1e6
            title = f"{first.request_id}: {first.name} → {end_outcome(last.detail) or 'ended'}  ({took:.1f} ms)"
        else:
            title = f"{first.request_id}: {first.name} → no end arrived (these are the events that did)"
        self.console.rule(Text(visible(title)))
        for line in nested(evs):
            self.console.print(line)

    def flush_unfinished(self) -> None:
        """Print the requests whose end has not arrived (the viewer is stopping), oldest first."""
        with self.lock:
            while self.pending:
                self._print(self.pending.pop(next(iter(self.pending))), ended=False)

    def note(self, text: str) -> None:
        with self.lock:
            self.console.print(Text(visible(text), style="dim"))

    def close(self) -> None:
        self.flush_unfinished()
        if self.recording is not None:
            self.recording.close()

