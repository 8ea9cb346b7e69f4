"""Plain ASGI probes threaded between the layers of the real middleware stack.

``wrap_stack`` walks the stack Starlette built (each layer keeps the next in
``.app``) and puts a probe in front of every layer and of the router. Probes
only observe: they pass every scope, message and exception through unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..safe import exc_type, qualname
from .routing import RoutingCache
from .source import safe_source
from .trace import current, report_fault
from .wire import end_request, http_send, lifespan_channels, report_unhandled, start_request, ws_channels

if TYPE_CHECKING:
    from .tracer import Tracer

Scope = dict[str, Any]
_TRACED = ("http", "websocket")

# Layers Starlette and FastAPI add themselves; the learner did not write these.
BUILTIN_LAYERS = frozenset(
    {
        "ServerErrorMiddleware",
        "ExceptionMiddleware",
        "AsyncExitStackMiddleware",
        "ExceptionTelemetryMiddleware",
        "AppBodyLimitMiddleware",
    }
)
_LAYER_ROLE = {
    "ServerErrorMiddleware": "Starlette's outermost safety net, which turns crashes into a 500",
    "ExceptionMiddleware": "Starlette's layer that runs your exception handlers for errors raised inside it but not in a route, such as the router's 404 (routes run the handlers themselves)",
    "AsyncExitStackMiddleware": "FastAPI's layer that closes uploaded files after the response",
    "ExceptionTelemetryMiddleware": "FastAPI's layer that records errors passing through it for OpenTelemetry, when telemetry is set up",
    "AppBodyLimitMiddleware": "FastAPI's layer that enforces max_body_size, the app-wide request body limit, when you set one",
}


def layer_role(name: str) -> str:
    return _LAYER_ROLE.get(
        name, "a middleware you added; it wraps everything inside it, so it sees the request before those layers and the response after them"
    )


class LayerProbe:
    """Sits just outside one middleware layer and reports its start and end."""

    __slots__ = (
        "_done",
        "_function",
        "_passes_up",
        "_file",
        "_line",
        "_self_answered",
        "_start",
        "app",
        "builtin",
        "depth",
        "handler_name",
        "inside_server_errors",
        "name",
    )

    def __init__(self, app: Any, depth: int, inside_server_errors: Any = None) -> None:
        self.app = app
        self.depth = depth
        self.name = type(app).__name__
        self.builtin = self.name in BUILTIN_LAYERS
        # Set when the layer just outside this one is ServerErrorMiddleware:
        # an exception leaving this probe is then unhandled.
        self.inside_server_errors = inside_server_errors is not None
        self._passes_up = False  # set by wrap_stack when ExceptionMiddleware is further out
        handler = getattr(inside_server_errors, "handler", None)
        self.handler_name = qualname(handler) if handler is not None else None
        # Built once per layer, not once per request.
        self._start = f"{self.name} starts: {layer_role(self.name)}."
        self._function = None
        dispatch = getattr(app, "dispatch_func", None)
        if self.name == "BaseHTTPMiddleware" and dispatch is not None and getattr(dispatch, "__self__", None) is not app:
            # An @app.middleware("http") function: name it, every one would be "BaseHTTPMiddleware".
            self._function = qualname(dispatch)
            self._start = (
                f"{self._function} starts: your @app.middleware(\"http\") function, run by Starlette's "
                "BaseHTTPMiddleware; the code before call_next runs now, the rest on the way out."
            )
            self._done = f"{self._function} (your @app.middleware function) is done: the code after call_next has run."
            self._self_answered = (
                f"{self._function} returned a response itself without calling call_next, so nothing inside it ran."
            )
        self._done = f"{self.name} is done: its code after the inner layers has run."
        self._self_answered = f"{self.name} answered by itself without calling the rest of the app, so nothing inside it ran."
        # Where the layer's code is: a function middleware's own function, else the class's __call__.
        self._file, self._line = _layer_source(app)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        # One coroutine per layer, not two: this runs five or more times per request.
        trace = current.get()
        if trace is None or scope["type"] not in _TRACED:
            return await self.app(scope, receive, send)
        depth = self.depth
        hits = trace.layer_hits  # preallocated; a stack deeper than that is extended
        if len(hits) <= depth + 1:
            hits.extend([0] * (depth + 2 - len(hits)))
        hits[depth] += 1
        inner_before = hits[depth + 1]
        name = self.name
        trace.emit(
            "middleware",
            "start",
            name,
            {"depth": depth, "builtin": self.builtin, "file": self._file, "line": self._line,
             "function": self._function},
            self._start,
        )
        if trace.tracer.stepper is not None:
            await trace.checkpoint()
        try:
            await self.app(scope, receive, send)
        except BaseException as exc:
            detail = {"depth": depth, "called_next": hits[depth + 1] > inner_before, "raised": exc_type(exc)}
            if self._passes_up and type(exc).__name__ in ("HTTPException", "WebSocketException"):
                detail["passes_up"] = True
                explain = f"{type(exc).__name__} passes up through {name} to ExceptionMiddleware, whose handler will answer."
            else:
                explain = f"{type(exc).__name__} passed out through {name} without being caught."
            trace.emit("middleware", "end", name, detail, explain)
            if self.inside_server_errors:
                try:
                    report_unhandled(trace, exc, self.handler_name)
                except Exception as fault:
                    report_fault("unhandled exception", fault)
            raise
        called = hits[depth + 1] > inner_before
        trace.emit(
            "middleware",
            "end",
            name,
            {"depth": depth, "called_next": called},
            self._done if called else self._self_answered,
        )


class RequestProbe(LayerProbe):
    """The outermost probe: opens a request's trace and watches the wire."""

    __slots__ = ("tracer",)

    def __init__(self, app: Any, tracer: Tracer) -> None:
        super().__init__(app, 0)
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        typ = scope["type"]
        tracer = self.tracer
        if typ not in _TRACED or not tracer.enabled:
            if typ == "lifespan" and tracer.enabled and current.get() is None:
                try:
                    receive, send = lifespan_channels(tracer, receive, send)
                except Exception as exc:
                    report_fault("lifespan", exc)
            return await self.app(scope, receive, send)
        outer = current.get()
        if outer is not None:  # an instrumented app mounted in another one
            return await LayerProbe.__call__(self, scope, receive, send)
        trace = tracer._open(scope)
        token = current.set(trace)
        error: BaseException | None = None
        try:
            try:
                start_request(trace, scope)
                if typ == "http":
                    send = http_send(trace, send)
                else:
                    receive, send = ws_channels(trace, receive, send)
            except Exception as exc:
                report_fault("request start", exc)
            try:
                await LayerProbe.__call__(self, scope, receive, send)  # finds the trace just set
            except BaseException as exc:
                error = exc
                raise
            finally:
                try:
                    end_request(trace, error)
                except Exception as exc:
                    report_fault("request end", exc)
        finally:
            current.reset(token)


class RouterProbe:
    """Sits in front of the router: reports which route matched, and why."""

    __slots__ = ("app", "cache", "depth")

    def __init__(self, app: Any, depth: int) -> None:
        self.app = app
        self.depth = depth
        self.cache = RoutingCache()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        trace = current.get()
        if trace is None or scope["type"] not in _TRACED:
            return await self.app(scope, receive, send)
        hits = trace.layer_hits
        while len(hits) <= self.depth:
            hits.append(0)
        hits[self.depth] += 1
        try:
            detail, explain = self.cache.describe(self.app, scope)
            name = detail.get("route") or detail.pop("label", None) or f"{detail.get('status_hint', 404)}: no route"
            trace.emit("routing", "point", name, detail, explain)
        except Exception as exc:
            report_fault("routing", exc)
        if trace.tracer.stepper is not None:
            await trace.checkpoint()
        await self.app(scope, receive, send)


def _layer_source(app: Any) -> tuple[str | None, int | None]:
    target = getattr(app, "dispatch_func", None) or getattr(type(app), "__call__", None)  # noqa: B004
    try:
        return safe_source(target) if target is not None else (None, None)
    except Exception:
        return None, None


def wrap_stack(stack: Any, router: Any, tracer: Tracer) -> Any:
    """Thread probes through an already built middleware stack."""
    layers: list[Any] = []
    node = stack
    while node is not None and node is not router and len(layers) < 100:
        if isinstance(node, LayerProbe | RouterProbe):
            return stack  # already wrapped
        layers.append(node)
        node = getattr(node, "app", None)
    if not layers:
        return stack
    exception_mw_seen = False
    for i in range(len(layers) - 1):
        outer = layers[i]
        parent_is_server_errors = type(outer).__name__ == "ServerErrorMiddleware"
        exception_mw_seen = exception_mw_seen or type(outer).__name__ == "ExceptionMiddleware"
        probe = LayerProbe(layers[i + 1], i + 1, outer if parent_is_server_errors else None)
        probe._passes_up = exception_mw_seen
        outer.app = probe
    if node is router:
        layers[-1].app = RouterProbe(router, len(layers))
    else:
        report_fault("middleware stack", RuntimeError(f"{type(layers[-1]).__name__} hides its inner app"))
    return RequestProbe(stack, tracer)
