"""``instrument(app, sink=...)`` and the ``Tracer`` it returns."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

from ..events import TraceEvent
from . import compat, hooks
from .probes import unwrap_stack, wrap_stack
from .secretnames import AppSecrets
from .trace import RequestTrace, report_fault

_ATTR = "_lifecycle_tracer"
_ABSENT = object()  # an attribute the app's own __dict__ did not have


@runtime_checkable
class Sink(Protocol):
    """Anything with ``emit(event)``. It is called on the thread that produced the event."""

    def emit(self, event: TraceEvent) -> None: ...


class Tracer:
    """The tracing of one app: its sinks and its switches.

    ``enabled = False`` turns tracing off without uninstalling anything;
    requests then pass through the probes untouched.
    """

    def __init__(self, app: Any, sinks: Iterable[Sink], redact: bool = True) -> None:
        self.app = app
        self.redact = redact
        self.app_secrets = AppSecrets()  # the secret names the app's routes declare
        self.enabled = True
        # Step mode (see stepper.py); None or disabled costs one attribute read per boundary.
        self.stepper: Any = None
        self._sinks: tuple[Sink, ...] = tuple(sinks)
        self._failed: set[int] = set()
        self._ids: dict[str, itertools.count[int]] = {}
        self._lock = threading.Lock()
        self._dispatch = self._dispatcher()
        # What uninstrument() puts back: the app's own attributes as instrument() found them,
        # and the mounted apps this tracer instrumented (not those instrumented before).
        self._saved: dict[str, Any] = {}
        self._mounted: list[Any] = []

    @property
    def sinks(self) -> tuple[Sink, ...]:
        return self._sinks

    def add_sink(self, sink: Sink) -> None:
        with self._lock:
            if not any(s is sink for s in self._sinks):
                self._sinks = (*self._sinks, sink)
                self._dispatch = self._dispatcher()

    def remove_sink(self, sink: Sink) -> None:
        with self._lock:
            self._sinks = tuple(s for s in self._sinks if s is not sink)
            self._dispatch = self._dispatcher()

    def issued(self) -> dict[str, int]:
        """How many ids of each prefix (``r``, ``startup``...) have been handed out: ``{"r": 5}`` after ``r5``."""
        # An itertools.count shows its next value only in its repr, "count(6)".
        return {prefix: int(repr(counter)[6:-1]) - 1 for prefix, counter in list(self._ids.items())}

    def _open(self, scope: dict[str, Any], prefix: str = "r") -> RequestTrace:
        counter = self._ids.get(prefix)
        if counter is None:
            counter = self._ids.setdefault(prefix, itertools.count(1))
        return RequestTrace(self, f"{prefix}{next(counter)}", scope)

    def _dispatcher(self) -> Any:
        """A function handing one event to every sink, rebuilt when the sinks change.

        It is called ~30 times a request, so the usual one-sink case calls
        that sink's ``emit`` directly; a sink that raises is logged once.
        """
        sinks = self._sinks
        failed = self._failed

        def fault(sink: Any, exc: Exception) -> None:
            if id(sink) not in failed:
                failed.add(id(sink))
                report_fault(f"sink {type(sink).__name__}", exc)

        if not sinks:
            return _nothing
        if len(sinks) == 1:
            sink = sinks[0]
            emit = sink.emit

            def one(event: TraceEvent) -> None:
                try:
                    emit(event)
                except Exception as exc:
                    fault(sink, exc)

            return one

        def many(event: TraceEvent) -> None:
            for sink in sinks:
                try:
                    sink.emit(event)
                except Exception as exc:  # noqa: PERF203 - a sink's failure must not stop the others
                    fault(sink, exc)

        return many


def _nothing(event: TraceEvent) -> None:
    return None


def instrument(app: Any, *, sink: Sink | None = None, redact: bool = True) -> Tracer:
    """Trace every request through ``app``; return its ``Tracer``.

    Call it at any time: before or after routes, routers and middleware are
    added, or once the app has served requests. A second call on the same app
    returns the same tracer (adding ``sink`` if it is new) and wraps nothing twice.
    ``redact`` is the tracer's, so it holds for all its sinks: a second call that
    turns it off while other sinks are attached warns.
    """
    compat.check()
    existing: Tracer | None = app.__dict__.get(_ATTR)
    if existing is not None:
        others = [s for s in existing.sinks if s is not sink]
        if existing.redact and not redact and others:
            # One tracer per app, so one setting for all its sinks: say who now gets the secrets.
            import warnings

            names = ", ".join(type(s).__name__ for s in others)
            warnings.warn(f"instrument(app, redact=False) on an app already traced with secrets hidden shows "
                          f"them to every sink of its tracer, this one's and those already attached ({names}).",
                          RuntimeWarning, stacklevel=2)
        if sink is not None:
            existing.add_sink(sink)
        existing.redact = redact
        return existing
    if not hasattr(app, "build_middleware_stack") or not hasattr(app, "router"):
        raise TypeError(f"instrument() needs a FastAPI or Starlette app, not {type(app).__name__}")
    hooks.install()
    tracer = Tracer(app, [sink] if sink is not None else [], redact=redact)
    tracer._saved = {attr: app.__dict__.get(attr, _ABSENT) for attr in ("build_middleware_stack", "middleware_stack")}
    original_build = app.build_middleware_stack

    def build_middleware_stack() -> Any:
        stack = original_build()
        try:
            _instrument_mounts(app, tracer)
            return wrap_stack(stack, app, tracer)
        except Exception as exc:
            report_fault("instrument", exc)
            return stack

    app.build_middleware_stack = build_middleware_stack
    if getattr(app, "middleware_stack", None) is not None:
        # Already serving: thread probes through the live stack rather than
        # rebuilding it, so middleware instances keep their state.
        _instrument_mounts(app, tracer)
        app.middleware_stack = wrap_stack(app.middleware_stack, app, tracer)
    app.__dict__[_ATTR] = tracer
    return tracer


def tracer_of(app: Any) -> Tracer | None:
    """The ``Tracer`` that ``instrument`` installed on ``app``, or None if it is not instrumented."""
    return getattr(app, "__dict__", {}).get(_ATTR)


def uninstrument(app: Any) -> bool:
    """Undo ``instrument(app)``: the app is left as it was before; return whether it was instrumented.

    The app gets back its own ``build_middleware_stack`` and the
    ``middleware_stack`` it had then: ``None`` if it had not served yet (it
    builds a fresh, untraced one on its next request), else that same object,
    with the probes taken out from between its layers and its exception
    handlers unwrapped. Apps mounted inside it that this instrumenting traced
    are undone too. The tracer is disabled, so a request through a stack
    someone kept a reference to emits nothing; one already under way when this
    is called still finishes its trace.

    The process-wide hooks ``instrument`` puts into FastAPI's and Starlette's
    modules stay: outside a traced request each is one context-variable read
    and a call of the original, so requests of untraced apps go through them
    untouched, and undoing them could break another app still instrumented.

        tracer = instrument(app, sink=Recorder())
        ...
        uninstrument(app)   # app.middleware_stack is the original object again
    """
    tracer: Tracer | None = app.__dict__.pop(_ATTR, None)
    if tracer is None:
        return False
    tracer.enabled = False
    for attr, value in tracer._saved.items():
        if attr == "middleware_stack" and value is not _ABSENT and value is not None:
            unwrap_stack(value, app)
        if value is _ABSENT:
            app.__dict__.pop(attr, None)
        else:
            setattr(app, attr, value)
    for sub in tracer._mounted:
        uninstrument(sub)
    return True


def _instrument_mounts(app: Any, tracer: Tracer) -> None:
    """Probe the layers of apps mounted inside this one: their requests belong to this app's trace."""
    try:
        stack = [getattr(app, "router", None)]
        seen = 0
        while stack and seen < 1000:
            node = stack.pop()
            seen += 1
            for route in getattr(node, "routes", None) or ():
                sub = getattr(route, "app", None)
                if sub is not None and hasattr(sub, "build_middleware_stack") and hasattr(sub, "router"):
                    new = _ATTR not in sub.__dict__
                    instrument(sub, redact=tracer.redact)
                    if new:
                        tracer._mounted.append(sub)
                elif getattr(route, "routes", None):
                    stack.append(route)
    except Exception as exc:
        report_fault("mounted apps", exc)
