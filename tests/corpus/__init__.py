"""The transparency corpus: small, realistic FastAPI apps and the requests to
send them. ``APPS`` lists them; each module has ``make_app()`` (a fresh,
independent app per call), ``REQUESTS`` and optionally ``WEBSOCKETS``."""

from __future__ import annotations

import importlib
from types import ModuleType

from ._spec import WS, CorpusApp, Req

_MODULES = [
    "basics",
    "responses",
    "middleware_app",
    "cors_app",
    "gzip_trusted",
    "streaming",
    "sse_app",
    "files_app",
    "websockets_app",
    "mounts",
    "proxy_root_path",
    "lifespan_app",
    "startup_failure",
    "exceptions_app",
    "catch_all",
    "routing_app",
    "dependencies_app",
    "background_app",
    "limits_app",
]

try:  # Form and File need python-multipart; without it the app is left out.
    import python_multipart  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    pass
else:
    _MODULES.append("forms_app")


def _load(name: str) -> CorpusApp:
    module: ModuleType = importlib.import_module(f"{__name__}.{name}")
    return CorpusApp(
        name=name.removesuffix("_app"),
        module=module,
        requests=list(module.REQUESTS),
        websockets=list(getattr(module, "WEBSOCKETS", [])),
        root_path=getattr(module, "ROOT_PATH", ""),
    )


APPS: list[CorpusApp] = [_load(name) for name in _MODULES]

__all__ = ["APPS", "WS", "CorpusApp", "Req"]
