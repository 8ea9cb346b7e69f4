"""Wrappers around FastAPI's and Starlette's module-level internals.

Each wrapper replaces a function in the module that calls it, once per
process. Outside a traced request (``current`` is None) a wrapper is one
context-variable read and a call; inside, it reports what happened and
hands back exactly what the original returned or raised.
"""

from __future__ import annotations

import functools
import inspect
from functools import lru_cache
from typing import Any

from ._trace import current, report_fault
from ._validation import param_events

_installed = False


def install() -> None:
    """Patch the internals (idempotent). ``_compat.check()`` has run first."""
    global _installed
    if _installed:
        return
    import fastapi.dependencies.utils as du
    import fastapi.routing as fr
    import starlette._exception_handler as eh
    import starlette.background as bg

    from . import _deps, _outcome

    _deps.install(du, fr)
    _outcome.install(fr, eh, bg)
    _wrap_validation(du)
    _installed = True


def _wrap_validation(du: Any) -> None:
    orig_params = du.request_params_to_args
    orig_body = du.request_body_to_args

    @functools.wraps(orig_params)
    def request_params_to_args(fields: Any, received_params: Any, *args: Any, **kwargs: Any) -> Any:
        result = orig_params(fields, received_params, *args, **kwargs)
        if fields:
            trace = current.get()
            if trace is not None and trace.suppress_at is None:
                try:
                    values, errors = result
                    param_events(trace, fields, received_params, values, errors)
                except Exception as exc:
                    report_fault("parameter validation", exc)
        return result

    @functools.wraps(orig_body)
    async def request_body_to_args(*args: Any, **kwargs: Any) -> Any:
        result = await orig_body(*args, **kwargs)
        trace = current.get()
        if trace is not None and trace.suppress_at is None:
            try:
                fields = kwargs.get("body_fields", args[0] if args else ())
                body = kwargs.get("received_body", args[1] if len(args) > 1 else None)
                embed = kwargs.get("embed_body_fields", args[2] if len(args) > 2 else False)
                values, errors = result
                whole = (
                    len(fields) == 1
                    and not embed
                    and not getattr(getattr(fields[0], "field_info", None), "embed", False)
                )
                trace.validation_seen = True
                param_events(trace, fields, body, values, errors, whole_body=whole)
            except Exception as exc:
                report_fault("body validation", exc)
        return result

    du.request_params_to_args = request_params_to_args
    du.request_body_to_args = request_body_to_args


@lru_cache(maxsize=4096)
def source_of(call: Any) -> tuple[str | None, int | None]:
    target = call
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        target = getattr(type(call), "__call__", call)  # noqa: B004 - a callable instance
    target = inspect.unwrap(target)
    try:
        return inspect.getsourcefile(target), inspect.getsourcelines(target)[1]
    except (TypeError, OSError):
        code = getattr(target, "__code__", None)
        if code is not None:
            return code.co_filename, code.co_firstlineno
        return None, None


def safe_source(call: Any) -> tuple[str | None, int | None]:
    try:
        return source_of(call)
    except Exception:  # unhashable callables, mocks whose __wrapped__ loops, C functions
        return None, None
