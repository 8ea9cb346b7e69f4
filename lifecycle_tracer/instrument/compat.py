"""Check, before hooking anything, that the internals we hook exist."""

from __future__ import annotations

import importlib
from typing import Any

# Oldest release exercised by .ci/run; keep in step with pyproject.toml.
MIN_FASTAPI = (0, 121, 0)

_REQUIRED: tuple[tuple[str, str], ...] = (
    ("fastapi.routing", "solve_dependencies"),
    ("fastapi.routing", "run_endpoint_function"),
    ("fastapi.routing", "serialize_response"),
    ("fastapi.dependencies.utils", "solve_dependencies"),
    ("fastapi.dependencies.utils", "_solve_generator"),
    ("fastapi.dependencies.utils", "_validate_value_with_model_field"),
    ("fastapi.dependencies.utils", "request_body_to_args"),
    ("fastapi.dependencies.utils", "run_in_threadpool"),
    ("fastapi.routing", "run_in_threadpool"),
    ("starlette.background", "run_in_threadpool"),
    ("starlette.responses", "iterate_in_threadpool"),
    ("starlette.middleware.exceptions", "ExceptionMiddleware"),
    ("starlette.background", "BackgroundTask"),
    ("starlette.applications", "Starlette"),
)


class UnsupportedFastAPIError(RuntimeError):
    """The installed FastAPI lacks an internal the tracer needs."""


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def check() -> None:
    import fastapi

    version = getattr(fastapi, "__version__", "0")
    if _version(version) < MIN_FASTAPI:
        raise UnsupportedFastAPIError(
            f"lifecycle-tracer needs FastAPI {'.'.join(map(str, MIN_FASTAPI))} or newer, "
            f"but FastAPI {version} is installed: run `pip install -U fastapi`."
        )
    for module_name, attr in _REQUIRED:
        module: Any = importlib.import_module(module_name)
        if not hasattr(module, attr):
            raise UnsupportedFastAPIError(
                f"FastAPI {version} is not supported by this lifecycle-tracer: "
                f"{module_name}.{attr}, which the tracer hooks, no longer exists."
            )
