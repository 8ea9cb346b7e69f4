"""Plain ASGI probes threaded between the layers of the real middleware stack.

``wrap_stack`` walks the stack Starlette built (each layer keeps the next in
``.app``) and puts a probe in front of every layer and of the router. Probes
only observe: they pass every scope, message and exception through unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..safe import exc_type, qualname
from .exceptions import WRAPPED_MARK, watch_handlers
from .layerheaders import response_change, watch
from .routing import RoutingObservation
from .servererrors import watch_error_handler
from .source import safe_source
from .trace import current, report_fault
from .wire import end_request, http_channels, lifespan_channels, report_unhandled, start_request, ws_channels

if TYPE_CHECKING:
    from .tracer import Tracer

Scope = dict[str, Any]
_TRACED = ("http", "websocket")
_OURS = ("starlette.", "fastapi.")


class LayerProbe:
    """Sits just outside one middleware layer and reports its start and end."""

    __slots__ = ("_end_details", "_start_detail", "_ws_start_detail", "app", "depth", "handler", "handler_name",
                 "inside_server_errors", "name")

    def __init__(self, app: Any, depth: int, added_by_app: bool = False, server_errors: Any = None) -> None:
        self.app = app
        self.depth = depth
        self.name = type(app).__name__
        # Set when the layer just outside this one is ServerErrorMiddleware: an
        # exception leaving this probe is then one no handler inside took.
        self.inside_server_errors = server_errors is not None
        handler = None if getattr(server_errors, "debug", False) else getattr(server_errors, "handler", None)
        self.handler = getattr(handler, "__wrapped__", handler)  # debug mode answers with its own page instead
        self.handler_name = qualname(self.handler) if self.handler is not None else None
        module = getattr(type(app), "__module__", "") or ""
        function = None
        dispatch = getattr(app, "dispatch_func", None)
        if dispatch is not None and getattr(dispatch, "__self__", None) is not app:
            function = qualname(dispatch)  # an @app.middleware("http") function
        file, line = _layer_source(app)
        # Facts of the layer itself, the same for every request: built once.
        self._start_detail = {
            "depth": depth,
            "builtin": not added_by_app and module.startswith(_OURS),
            "added_by_app": added_by_app,
            "module": module,
            "function": function,
            "file": file,
            "line": line,
        }
        if self.name == "ServerErrorMiddleware":  # who answers an exception nothing inside handled
            own = None if getattr(app, "debug", False) else getattr(app, "handler", None)
            own = getattr(own, "__wrapped__", own)
            self._start_detail["exception_handler"] = qualname(own) if own is not None else None
        # A WebSocket passes through the same layers; its start says so, since
        # some layers (ServerErrorMiddleware) act on HTTP requests only.
        self._ws_start_detail = {**self._start_detail, "websocket": True}
        # The end's facts take two shapes: with and without the inner layers called.
        self._end_details = ({"depth": depth, "called_next": False, "function": function},
                             {"depth": depth, "called_next": True, "function": function})

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        # One coroutine per layer, not two: this runs five or more times per request.
        trace = current.get()
        if trace is None or scope["type"] not in _TRACED:
            return await self.app(scope, receive, send)
        depth = self.depth
        hits = trace.layer_hits  # preallocated for 64 layers; wrap_stack stops at 63
        hits[depth] += 1
        inner_before = hits[depth + 1]
        name = self.name
        http = scope["type"] == "http"
        trace.emit("middleware", "start", name, self._start_detail if http else self._ws_start_detail)
        if trace.tracer.stepper is not None:
            await trace.checkpoint()
        sent, place = None, 0
        if http:  # what the layer does to the response on its way out
            sent, place = watch(trace, send)
            send = sent
        try:
            await self.app(scope, receive, send)
        except BaseException as exc:
            detail = {"depth": depth, "called_next": hits[depth + 1] > inner_before, "raised": exc_type(exc),
                      "raised_name": type(exc).__name__, "function": self._start_detail["function"]}
            change = response_change(trace, sent, place) if sent is not None else None
            if change is not None:
                detail["response_change"] = change
            trace.emit("middleware", "end", name, detail)
            if self.inside_server_errors:
                try:
                    report_unhandled(trace, exc, self.handler, self.handler_name)
                except Exception as fault:
                    report_fault("unhandled exception", fault)
            raise
        end = self._end_details[hits[depth + 1] > inner_before]
        change = response_change(trace, sent, place) if sent is not None else None
        trace.emit("middleware", "end", name, end if change is None else {**end, "response_change": change})
        if trace.tracer.stepper is not None:
            await trace.checkpoint()  # on the way out: before the layer outside this one goes on


class RequestProbe(LayerProbe):
    """The outermost probe: opens a request's trace and watches the wire."""

    __slots__ = ("tracer",)

    def __init__(self, app: Any, tracer: Tracer, added_by_app: bool = False) -> None:
        super().__init__(app, 0, added_by_app)
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
                    receive, send = http_channels(trace, receive, send)
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
    """Sits in front of the router and reports the decision it made.

    The router's own calls of ``route.matches()`` are recorded as it makes
    them (see ``routing.py``); the decision is emitted at the next event, or
    when the router itself answers or raises, with what it really did.
    """

    __slots__ = ("app", "depth")

    def __init__(self, app: Any, depth: int) -> None:
        self.app = app
        self.depth = depth

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        trace = current.get()
        if trace is None or scope["type"] not in _TRACED:
            return await self.app(scope, receive, send)
        trace.layer_hits[self.depth] += 1
        try:
            obs = RoutingObservation(trace, self.app, scope)
            send = obs.watch_send(send)
            if scope["type"] == "http":  # the response as the router sent it, for the layer outside
                send = watch(trace, send)[0]
        except Exception as exc:
            report_fault("routing", exc)
            return await self.app(scope, receive, send)
        try:
            await self.app(scope, receive, send)
        except BaseException as exc:
            obs.done(exc)
            raise
        obs.done(None)


def _layer_source(app: Any) -> tuple[str | None, int | None]:
    target = getattr(app, "dispatch_func", None) or getattr(type(app), "__call__", None)  # noqa: B004
    try:
        return safe_source(target) if target is not None else (None, None)
    except Exception:
        return None, None


def _user_classes(app: Any) -> set[Any]:
    """The middleware classes the app's own code added (``add_middleware`` and ``@app.middleware``)."""
    out = set()
    for entry in getattr(app, "user_middleware", ()) or ():
        cls = getattr(entry, "cls", None)
        if cls is not None:
            out.add(cls)
    return out


def wrap_stack(stack: Any, app: Any, tracer: Tracer) -> Any:
    """Thread probes through an already built middleware stack."""
    router = app.router
    layers: list[Any] = []
    node = stack
    while node is not None and node is not router and len(layers) < 62:
        if isinstance(node, LayerProbe | RouterProbe):
            return stack  # already wrapped
        layers.append(node)
        node = getattr(node, "app", None)
    if not layers:
        return stack
    user = _user_classes(app)
    for layer in layers:
        if hasattr(layer, "_exception_handlers") and hasattr(layer, "_status_handlers"):
            watch_handlers(layer)  # ExceptionMiddleware: the handlers routes and the router raise to
    for i in range(len(layers) - 1):
        outer = layers[i]
        server_errors = outer if type(outer).__name__ == "ServerErrorMiddleware" else None
        if server_errors is not None:
            watch_error_handler(server_errors)
        outer.app = LayerProbe(layers[i + 1], i + 1, type(layers[i + 1]) in user, server_errors)
    if node is router:
        layers[-1].app = RouterProbe(router, len(layers))
    else:
        report_fault("middleware stack", RuntimeError(f"{type(layers[-1]).__name__} hides its inner app"))
    return RequestProbe(stack, tracer, type(stack) in user)


def unwrap_stack(stack: Any, app: Any) -> None:
    """Undo ``wrap_stack`` on a stack it threaded probes through in place (``uninstrument``)."""
    router = app.router
    node = stack
    for _ in range(64):  # wrap_stack stops at 62 layers
        if node is None or node is router:
            return
        _unwrap_handlers(node)
        inner = getattr(node, "app", None)
        if isinstance(inner, LayerProbe | RouterProbe):
            node.app = inner = inner.app
        node = inner


def _unwrap_handlers(layer: Any) -> None:
    """Give ExceptionMiddleware and ServerErrorMiddleware back the handlers they were built with."""
    for attr in ("_exception_handlers", "_status_handlers"):
        handlers = getattr(layer, attr, None)
        if isinstance(handlers, dict):
            for key, handler in list(handlers.items()):
                if getattr(handler, WRAPPED_MARK, False):
                    handlers[key] = handler.__wrapped__
    handler = getattr(layer, "handler", None)
    if type(layer).__name__ == "ServerErrorMiddleware" and getattr(handler, WRAPPED_MARK, False):
        layer.handler = handler.__wrapped__
