"""Wrappers around FastAPI's and Starlette's module-level internals.

Each wrapper replaces a function in the module that calls it, once per
process. Outside a traced request (``current`` is None) a wrapper is one
context-variable read and a call; inside, it reports what happened and
hands back exactly what the original returned or raised.
"""

from __future__ import annotations

_installed = False


def install() -> None:
    """Patch the internals (idempotent). ``_compat.check()`` has run first."""
    global _installed
    if _installed:
        return
    import fastapi.dependencies.utils as du
    import fastapi.routing as fr
    import starlette.background as bg

    from . import dependencies, endpoint, routing, validation

    dependencies.install(du, fr)
    endpoint.install(fr, bg)
    validation.install(du)
    routing.install()
    _installed = True
