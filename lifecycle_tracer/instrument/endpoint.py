"""The endpoint and serialization, as they really ran (background tasks: background.py)."""

from __future__ import annotations

import functools
from typing import Any

from fastapi.security.base import SecurityBase
from starlette.responses import Response

from ..redaction import REDACTED, is_secret_header, is_secret_name
from ..safe import exc_message, exc_type, learn_values, preview, qualname, type_name
from .background import wrap_background
from .source import kind_of, mentions_model, safe_source, type_label
from .threads import watch_iterate_in_threadpool, watch_run_in_threadpool, where
from .trace import RequestTrace, current, report_fault


def install(fr: Any, bg: Any) -> None:
    import starlette.responses as sresp

    watch_run_in_threadpool(fr)
    watch_run_in_threadpool(bg)
    watch_iterate_in_threadpool(sresp, _body_iterator)
    if hasattr(fr, "iterate_in_threadpool"):
        watch_iterate_in_threadpool(fr, _body_iterator)
    _wrap_endpoint(fr)
    _wrap_serialize(fr)
    wrap_background(bg)


_FACTS: dict[int, tuple[Any, tuple[str, str | None, int | None]]] = {}


def endpoint_facts(call: Any) -> tuple[str, str | None, int | None]:
    """Name and source location, read once per endpoint."""
    hit = _FACTS.get(id(call))
    if hit is not None and hit[0] is call:
        return hit[1]
    file, line = safe_source(call)
    facts = (qualname(call), file, line)
    if len(_FACTS) > 10000:
        _FACTS.clear()
    _FACTS[id(call)] = (call, facts)
    return facts


def _wrap_endpoint(fr: Any) -> None:
    orig = fr.run_endpoint_function

    @functools.wraps(orig)
    async def run_endpoint_function(*args: Any, **kwargs: Any) -> Any:
        trace = current.get()
        if trace is None:
            return await orig(*args, **kwargs)
        try:
            dependant = kwargs["dependant"]
            is_async = bool(kwargs.get("is_coroutine", True))
            name, file, line = endpoint_facts(dependant.call)
            detail: dict[str, Any] = {"is_async": is_async, "file": file, "line": line,
                                      "args": _args_preview(trace, dependant, kwargs.get("values") or {})}
            seen: dict[str, Any] = {}

            def started() -> None:
                seen.update(where(trace))
                trace.emit("endpoint", "start", name, {**detail, **seen})

            if is_async:
                started()
            else:
                trace.worker_hook = (None, started)  # the next threadpool call is the endpoint's
        except Exception as exc:
            report_fault("endpoint start", exc)
            return await orig(*args, **kwargs)
        if trace.tracer.stepper is not None and is_async:
            await trace.checkpoint()
        try:
            value = await orig(*args, **kwargs)
        except BaseException as exc:
            trace.worker_hook = None
            trace.emit("endpoint", "end", name, {"is_async": is_async, **seen, "raised": exc_type(exc),
                                                 "raised_name": type(exc).__name__, "message": exc_message(exc, trace.redact)})
            raise
        trace.worker_hook = None
        try:
            is_response = isinstance(value, Response)
            trace.emit("endpoint", "end", name, {
                "is_async": is_async, **seen, "returned": type_name(value), "is_response": is_response,
                "preview": None if is_response else preview(value, redact=trace.redact)})
            if is_response:
                trace.emit("serialization", "point", "skipped", {
                    "skipped": True, "response_class": type(value).__name__, "response_model": None,
                    "status_code": value.__dict__.get("status_code"),
                    "media_type": value.__dict__.get("media_type") or getattr(type(value), "media_type", None)})
        except Exception as exc:
            report_fault("endpoint end", exc)
        return value

    fr.run_endpoint_function = run_endpoint_function


def unwrapped_endpoint(trace: RequestTrace, dependant: Any) -> None:
    """Endpoints FastAPI calls without ``run_endpoint_function``: WebSockets and generators.

    A WebSocket endpoint runs for the whole conversation, a generator endpoint
    while its items are pulled, so there is no single end to report: one point
    says FastAPI called it, and the messages or chunks show the rest.
    """
    call = dependant.call
    is_ws = trace.scope.get("type") == "websocket"
    is_gen, is_async = kind_of(call)
    if not (is_ws or (is_gen and STREAMS_GENERATORS)):
        return  # an older FastAPI runs a generator function through run_endpoint_function
    name, file, line = endpoint_facts(call)
    detail: dict[str, Any] = {"is_async": is_async, "websocket": is_ws, "streaming": is_gen and not is_ws,
                              "file": file, "line": line}
    if is_ws or is_async:
        detail.update(where(trace))  # its code runs where FastAPI awaits it: this thread
    else:
        detail["threadpool"] = None  # not known yet: its body runs when its items are pulled
        trace.streaming = name
    trace.emit("endpoint", "point", name, detail)


def _body_iterator(trace: RequestTrace, iterator: Any) -> Any:
    """A sync iterator is about to be pulled in the threadpool: report where its first item was made."""
    name = trace.streaming
    trace.streaming = None

    def first() -> None:
        facts = where(trace)
        if name is not None:
            trace.emit("endpoint", "point", name, {"streaming": True, "iterating": True, "is_async": False, **facts})
        else:
            trace.emit("response", "point", "body iterator", {"iterator": type(iterator).__name__, **facts})

    return first


def _args_preview(trace: RequestTrace, dependant: Any, values: dict[str, Any]) -> dict[str, Any]:
    """What the endpoint receives, with cookies, secret headers and secret-looking names hidden."""
    hidden: set[str] = set()
    if trace.redact:
        hidden.update(f.name for f in getattr(dependant, "cookie_params", ()))
        # What a security scheme returns (a bearer token, an API key) is a secret.
        hidden.update(
            d.name for d in getattr(dependant, "dependencies", ()) if isinstance(d.call, SecurityBase) and d.name
        )
        for f in getattr(dependant, "header_params", ()):
            alias = str(getattr(f, "alias", f.name)).replace("_", "-")
            if is_secret_header(alias, trace.tracer.app_secrets.names) or is_secret_name(f.name):
                hidden.add(f.name)
    out: dict[str, Any] = {}
    redact = trace.redact
    for key, value in values.items():
        if key in hidden or (redact and is_secret_name(key)):
            learn_values(value, redact)
            out[key] = REDACTED
        else:
            out[key] = preview(value, redact=redact)
    return out


def _route_response_class(trace: RequestTrace) -> Any:
    # On FastAPI >= 0.163 a route reached through include_router runs with the
    # response class of its effective context (the include's default_response_class),
    # which FastAPI keeps in its own part of the scope; scope["route"] is the original.
    context = _EFFECTIVE(trace.scope) if _EFFECTIVE is not None else None
    route = context if context is not None else trace.scope.get("route")
    cls = getattr(route, "response_class", None)
    return getattr(cls, "value", cls)  # DefaultPlaceholder


try:
    from fastapi.routing import _get_scope_effective_route_context as _EFFECTIVE
except ImportError:  # pragma: no cover - FastAPI before 0.163
    _EFFECTIVE = None


def _streams_generators() -> bool:
    """Whether this FastAPI calls generator endpoints itself and streams their items (0.163+).

    Older releases call a generator function like any endpoint and encode the
    generator object it returns; reading FastAPI's own request handler tells which.
    """
    import inspect

    import fastapi.routing as fr

    try:
        return "_is_gen_callable(" in inspect.getsource(fr.get_request_handler)
    except (OSError, TypeError):
        return False


STREAMS_GENERATORS = _streams_generators()


_MODELS: dict[int, tuple[Any, tuple[str | None, bool]]] = {}


def _model_facts(field: Any) -> tuple[str | None, bool]:
    """(the declared response type, whether it is or holds a Pydantic model), read once per field."""
    if field is None:
        return None, False
    hit = _MODELS.get(id(field))
    if hit is not None and hit[0] is field:
        return hit[1]
    annotation = getattr(getattr(field, "field_info", None), "annotation", None)
    facts = (type_label(annotation), mentions_model(annotation))
    if len(_MODELS) > 10000:
        _MODELS.clear()
    _MODELS[id(field)] = (field, facts)
    return facts


def _wrap_serialize(fr: Any) -> None:
    orig = fr.serialize_response

    @functools.wraps(orig)
    async def serialize_response(*args: Any, **kwargs: Any) -> Any:
        trace = current.get()
        if trace is None:
            return await orig(*args, **kwargs)
        try:
            field = kwargs.get("field")
            model, filters = _model_facts(field)
            fast = bool(kwargs.get("dump_json"))
            cls = Response if fast else _route_response_class(trace)
            detail: dict[str, Any] = {
                "response_model": model,
                "filters_fields": filters,
                "response_class": getattr(cls, "__name__", None),
                "media_type": "application/json" if fast else getattr(cls, "media_type", None),
                "dump_json": fast,
                "returned": type_name(kwargs.get("response_content")),
            }
            for opt in ("exclude_unset", "exclude_defaults", "exclude_none"):
                if kwargs.get(opt):
                    detail[opt] = True
            name = model or "jsonable_encoder"
            trace.emit("serialization", "start", name, detail)
        except Exception as exc:
            report_fault("serialization start", exc)
            return await orig(*args, **kwargs)
        if trace.tracer.stepper is not None:
            await trace.checkpoint()
        try:
            content = await orig(*args, **kwargs)
        except BaseException as exc:
            trace.emit("serialization", "end", name, {**detail, "raised": exc_type(exc), "raised_name": type(exc).__name__})
            raise
        out = {**detail, "output": preview(content, redact=trace.redact), "output_type": type_name(content)}
        if isinstance(content, bytes | bytearray):
            out["bytes"] = len(content)
        trace.emit("serialization", "end", name, out)
        return content

    fr.serialize_response = serialize_response
