"""Import the user's ``MODULE:APP`` with errors a person can act on."""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path
from typing import Any


class AppLoadError(Exception):
    pass


def stopped_by(exc: BaseException) -> str:
    """How an import that stopped the interpreter stopped it: ``sys.exit(3)``, ``KeyboardInterrupt``."""
    if isinstance(exc, SystemExit):
        return f"sys.exit({exc.code!r})" if exc.code is not None else "sys.exit()"
    return type(exc).__name__


def load_app(target: str, app_dir: Path | None = None) -> Any:
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise AppLoadError(f"'{target}' is not of the form MODULE:APP; for app = FastAPI() in main.py, pass main:app.")
    module = load_module(module_name, app_dir, attr)
    try:
        obj: Any = module
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise AppLoadError(f"Module '{module_name}' has no attribute '{attr}'.") from None
    from fastapi import FastAPI

    if not isinstance(obj, FastAPI):
        raise AppLoadError(f"'{target}' is a {type(obj).__name__}, not a FastAPI app; point at the FastAPI() instance.")
    return obj


def load_module(module_name: str, app_dir: Path | None, attr: str = "app") -> Any:
    """Import ``module_name`` from ``app_dir`` (default: here); every failure is an ``AppLoadError`` sentence."""
    folder = str((app_dir or Path.cwd()).resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    target = f"{module_name}:{attr}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if module_name.endswith(".py"):
            raise AppLoadError(f"Name the module without .py: pass {module_name[:-3]}:{attr}, not {target}.") from None
        if exc.name and module_name.startswith(exc.name):
            raise AppLoadError(
                f"There is no module '{module_name}' in {folder}; run the command from the folder that holds "
                f"{module_name.replace('.', '/')}.py, or pass --app-dir."
            ) from None
        raise AppLoadError(f"Importing '{module_name}' failed because it imports '{exc.name}', which is not installed.") from None
    except Exception as exc:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<frozen")]
        where = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
        if isinstance(exc, SyntaxError) and exc.filename:  # the traceback ends in importlib, not the bad line
            where = f" ({exc.filename}:{exc.lineno})"
        raise AppLoadError(f"Importing '{module_name}' failed{where}: {type(exc).__name__}: {exc}") from None
    except (SystemExit, KeyboardInterrupt) as exc:  # the module ran like a script: say so instead of exiting silently
        raise AppLoadError(
            f"Importing {module_name} exited ({stopped_by(exc)}) before it defined {attr}; "
            "put the code that exits under `if __name__ == \"__main__\":`."
        ) from None
    return module
