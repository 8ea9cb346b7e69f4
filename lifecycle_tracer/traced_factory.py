"""The app ``trace`` hands uvicorn in its child process: the user's app, instrumented to stream to the viewer.

uvicorn imports this module in every process its reloader starts (``--factory
--reload``), so each edit of the user's code gives a fresh interpreter with a
fresh import of their app, as ``uvicorn --reload`` and ``fastapi dev`` do.
What to load comes from the environment ``trace`` sets; the events go to its
viewer over a ``LiveSink``, so the TUI and its history outlive every restart.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

TARGET, APP_DIR, REDACT = "LIFECYCLE_TRACER_TARGET", "LIFECYCLE_TRACER_APP_DIR", "LIFECYCLE_TRACER_REDACT"
STEP = "LIFECYCLE_TRACER_STEP"  # "1": the viewer may hold and release requests (sinks/live_step.py)
VIEWER = "LIFECYCLE_TRACER_TRACE_VIEWER"  # trace's own viewer, on loopback (it asks no token)


def app_factory() -> Any:
    from .cli.apploader import AppLoadError, load_app
    from .instrument.tracer import instrument
    from .serverlog import guard_uvicorn_logs, mask_std_streams
    from .sinks.live import LiveSink

    target = os.environ[TARGET]
    redact = os.environ.get(REDACT, "1") == "1"
    if redact:  # the app's own print(), logging and warnings lines, masked as the tracer's are
        mask_std_streams()
    try:
        app = load_app(target, Path(os.environ[APP_DIR]))
    except AppLoadError as exc:
        # One sentence where the reloader's traceback would go; it waits for the next save.
        print(f"lifecycle-tracer: {exc} Fix it and save: the app is loaded again.", file=sys.stderr, flush=True)
        raise SystemExit(3) from None
    # uvicorn has configured its loggers by now: its lines (an app's traceback) reach the viewer
    # with the request's secrets masked, as they are in one process, and safe for a terminal.
    guard_uvicorn_logs()
    sink = LiveSink(os.environ[VIEWER], token="", name=target, steps=os.environ.get(STEP) == "1")
    tracer = instrument(app, sink=sink, redact=redact)
    # Before uvicorn serves: a request that began before the viewer was reached would not be sent,
    # and the first request after a restart is often the one the user is waiting to see.
    sink.wait_connected(2.0)
    if sink.control is not None:
        tracer.stepper = sink.control.stepper
    return app
