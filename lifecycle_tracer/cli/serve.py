"""``trace --plain``: serve the user's app under uvicorn in this thread and print every event."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text


def trace_plain(app: Any, target: str, *, host: str, port: int, record: Path | None, show_secrets: bool,
                console: Console) -> int:
    """Serve until Ctrl+C; return the exit code, or raise ``ServerStartError``/``BindError`` if it never served."""
    import uvicorn

    from ..instrument.tracer import instrument
    from ..server import Server, url_host
    from ..sinks import ConsoleSink, JsonLinesSink, Recorder

    live = ConsoleSink(console, show_request=True)
    # Until the server listens, events wait here: a failed startup is then one sentence, not its
    # events with the traceback Starlette puts in them.
    startup = Recorder()
    tracer = instrument(app, sink=startup, redact=not show_secrets)
    sinks: list[Any] = [live]
    if record:
        sinks.insert(0, JsonLinesSink(record))  # closed first: the recording matters most if Ctrl+C comes again
        tracer.add_sink(sinks[0])

    def started(server: Server) -> None:
        # On the event loop, before it accepts a connection: no request's events can slip in between.
        url = f"http://{url_host(host)}:{server.port}"
        console.print(Text(f"Tracing {target} at {url} — send it requests (browser, curl, httpie); "
                           "Ctrl+C stops.", style="bold"))
        for event in startup.events:
            live.emit(event)
        tracer.add_sink(live)
        tracer.remove_sink(startup)

    server = Server(uvicorn.Config(app, host=host, port=port, log_level="warning"), on_started=started)
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl+C once it has shut down cleanly: that is the way to stop
        pass
    finally:  # print and write what is still queued
        tracer.remove_sink(startup)
        for sink in sinks:
            tracer.remove_sink(sink)
            sink.close()
    if server.failure is not None:
        raise server.failure
    return 0
