"""The endpoint, serialization, background tasks and exception handlers."""

from __future__ import annotations

import functools
import inspect
from typing import Any

from fastapi.security.base import SecurityBase
from starlette.responses import Response

from ..safe import REDACTED, exc_message, exc_type, is_secret_header, is_secretish, preview, qualname, type_name
from .source import safe_source
from .trace import RequestTrace, current, report_fault
from .validation import mentions_model, type_label


def install(fr: Any, eh: Any, bg: Any) -> None:
    from .exceptions import wrap_exception_lookup

    _wrap_endpoint(fr)
    _wrap_serialize(fr)
    _wrap_background(bg)
    wrap_exception_lookup(eh)


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
            name, file, line, explain = _endpoint_facts(dependant.call, is_async)
            detail: dict[str, Any] = {
                "is_async": is_async,
                "threadpool": not is_async,
                "file": file,
                "line": line,
                "args": _args_preview(trace, dependant, kwargs.get("values") or {}),
            }
            trace.emit("endpoint", "start", name, detail, explain)
        except Exception as exc:
            report_fault("endpoint start", exc)
            return await orig(*args, **kwargs)
        if trace.tracer.stepper is not None:
            await trace.checkpoint()
        try:
            value = await orig(*args, **kwargs)
        except BaseException as exc:
            trace.emit(
                "endpoint",
                "end",
                name,
                {"is_async": is_async, "raised": exc_type(exc), "message": exc_message(exc)},
                f"{name} raised {type(exc).__name__} instead of returning; FastAPI looks for an exception handler.",
            )
            raise
        try:
            _endpoint_returned(trace, name, is_async, value)
        except Exception as exc:
            report_fault("endpoint end", exc)
        return value

    fr.run_endpoint_function = run_endpoint_function


_FACTS: dict[tuple[int, bool], tuple[Any, tuple[str, str | None, int | None, str]]] = {}


def _endpoint_facts(call: Any, is_async: bool) -> tuple[str, str | None, int | None, str]:
    """Name, source location and start explanation, computed once per endpoint."""
    hit = _FACTS.get((id(call), is_async))
    if hit is not None and hit[0] is call:
        return hit[1]
    name = qualname(call)
    file, line = safe_source(call)
    how = (
        "awaits it on the event loop (async def)"
        if is_async
        else "runs it in a worker thread from the threadpool (plain def), so it cannot block the event loop"
    )
    facts = (name, file, line, f"All inputs are valid; FastAPI calls your endpoint {name} and {how}.")
    if len(_FACTS) > 10000:
        _FACTS.clear()
    _FACTS[(id(call), is_async)] = (call, facts)
    return facts


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
            if is_secret_header(alias) or is_secretish(alias):
                hidden.add(f.name)
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in hidden or (trace.redact and is_secretish(key)):
            out[key] = REDACTED
        else:
            out[key] = preview(value, redact=trace.redact)
    return out


def _endpoint_returned(trace: RequestTrace, name: str, is_async: bool, value: Any) -> None:
    returned = type_name(value)
    is_response = isinstance(value, Response)
    trace.emit(
        "endpoint",
        "end",
        name,
        {"is_async": is_async, "returned": returned, "is_response": is_response,
         "preview": None if is_response else preview(value, redact=trace.redact)},
        f"{name} returned a {returned}.",
    )
    if is_response:
        trace.emit(
            "serialization",
            "point",
            "skipped",
            {"skipped": True, "response_class": type(value).__name__, "response_model": None},
            f"The endpoint returned a {type(value).__name__} itself, so FastAPI skips the response model "
            "and serialization and sends it as is.",
        )


def _route_response_class(trace: RequestTrace) -> str:
    route = trace.scope.get("route")
    cls = getattr(route, "response_class", None)
    cls = getattr(cls, "value", cls)  # DefaultPlaceholder
    return getattr(cls, "__name__", "JSONResponse")


def _wrap_serialize(fr: Any) -> None:
    orig = fr.serialize_response

    @functools.wraps(orig)
    async def serialize_response(*args: Any, **kwargs: Any) -> Any:
        trace = current.get()
        if trace is None:
            return await orig(*args, **kwargs)
        try:
            field = kwargs.get("field")
            annotation = getattr(getattr(field, "field_info", None), "annotation", None) if field else None
            model = type_label(annotation) if field else None
            drops = mentions_model(annotation)
            fast = bool(kwargs.get("dump_json"))
            response_class = "Response" if fast else _route_response_class(trace)
            detail: dict[str, Any] = {
                "response_model": model,
                "response_class": response_class,
                "dump_json": fast,
                "returned": type_name(kwargs.get("response_content")),
            }
            for opt in ("exclude_unset", "exclude_defaults", "exclude_none"):
                if kwargs.get(opt):
                    detail[opt] = True
            if model is None:
                explain = (
                    f"There is no response_model, so jsonable_encoder turns the returned {detail['returned']} "
                    f"into JSON-compatible data for {response_class}."
                )
            else:
                checks = (
                    f"FastAPI validates the returned value against {model}, keeping only the fields it declares,"
                    if drops
                    else f"FastAPI checks the returned value against the declared type {model},"
                )
                how = (
                    " and Pydantic turns it straight into JSON bytes."
                    if fast
                    else f" then {response_class} renders it to JSON."
                )
                explain = checks + how
            trace.emit("serialization", "start", model or "jsonable_encoder", detail, explain)
        except Exception as exc:
            report_fault("serialization start", exc)
            return await orig(*args, **kwargs)
        if trace.tracer.stepper is not None:
            await trace.checkpoint()
        name = model or "jsonable_encoder"
        try:
            content = await orig(*args, **kwargs)
        except BaseException as exc:
            trace.emit(
                "serialization",
                "end",
                name,
                {**detail, "raised": exc_type(exc)},
                f"The returned value does not fit {model}: {type(exc).__name__}, which becomes a 500.",
            )
            raise
        out = {**detail, "output": preview(content, redact=trace.redact)}
        if isinstance(content, bytes | bytearray):
            out["bytes"] = len(content)
            done = f"Serialization finished: {len(content)} bytes of JSON, ready to send."
        else:
            done = f"Serialization finished; {detail['response_class']} now renders it to JSON bytes."
        trace.emit("serialization", "end", name, out, done)
        return content

    fr.serialize_response = serialize_response


def _wrap_background(bg: Any) -> None:
    cls = bg.BackgroundTask
    orig_call = cls.__call__

    @functools.wraps(orig_call)
    async def __call__(self: Any) -> None:
        trace = current.get()
        if trace is None or type(self) is not cls and hasattr(self, "tasks"):
            return await orig_call(self)
        try:
            name = qualname(self.func)
            is_async = bool(getattr(self, "is_async", inspect.iscoroutinefunction(self.func)))
            file, line = safe_source(self.func)
            detail = {"is_async": is_async, "threadpool": not is_async, "file": file, "line": line,
                      "after_response": trace.resp_chunks > 0}
            trace.emit(
                "background",
                "start",
                name,
                detail,
                f"The background task {name} starts now, after the response was sent; the client already has its answer.",
            )
        except Exception as exc:
            report_fault("background", exc)
            return await orig_call(self)
        if trace.tracer.stepper is not None:
            await trace.checkpoint()
        try:
            await orig_call(self)
        except BaseException as exc:
            trace.emit("background", "end", name, {**detail, "raised": exc_type(exc)},
                       f"The background task {name} raised {type(exc).__name__}; the client never sees it.")
            raise
        trace.emit("background", "end", name, detail, f"The background task {name} finished.")

    cls.__call__ = __call__
