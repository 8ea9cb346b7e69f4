"""``trace`` with no MODULE:APP: find the app as ``fastapi dev`` does.

The rules are fastapi-cli's: ``[tool.fastapi] entrypoint = "module:app"`` in
the folder's pyproject.toml first; else the first of ``main.py``, ``app.py``,
``api.py``, ``app/main.py``, ``app/app.py``, ``app/api.py`` that exists, as a
module named through its packages (each folder up with an ``__init__.py``),
imported from the folder above the top package; in it, the object called
``app``, else ``api``, else the first FastAPI instance it defines. When
fastapi-cli is installed its own discovery is not imported: its functions
print and changed between releases, and these are its documented rules.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from .apploader import AppLoadError, load_app, load_module

DEFAULT_FILES = ("main.py", "app.py", "api.py", "app/main.py", "app/app.py", "app/api.py")
NAMES = ("app", "api")


@dataclass(frozen=True)
class Found:
    target: str  # MODULE:APP
    app_dir: Path  # where MODULE imports from
    how: str  # how it was found, for the screen


def entrypoint(folder: Path) -> str | None:
    """``[tool.fastapi] entrypoint`` of the folder's pyproject.toml, if it has one."""
    path = folder / "pyproject.toml"
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise AppLoadError(f"{path} cannot be read ({exc}); fix it, or pass MODULE:APP.") from None
    value = data.get("tool", {}).get("fastapi", {}).get("entrypoint")
    return value if isinstance(value, str) and value else None


def module_of(file: Path) -> tuple[str, Path]:
    """The dotted module name of ``file`` and the folder it imports from (above its top package)."""
    parts = [file.stem]
    folder = file.parent
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts), folder


def discover(folder: Path) -> Found:
    folder = folder.resolve()
    named = entrypoint(folder)
    if named is not None:
        return Found(named, folder, "the entrypoint in pyproject.toml's [tool.fastapi]")
    file = next((folder / rel for rel in DEFAULT_FILES if (folder / rel).is_file()), None)
    if file is None:
        raise AppLoadError(f"No MODULE:APP given, and {folder} has none of {', '.join(DEFAULT_FILES)} "
                           "(nor [tool.fastapi] entrypoint in pyproject.toml); pass MODULE:APP, e.g. main:app.")
    module_name, app_dir = module_of(file)
    module = load_module(module_name, app_dir)
    from fastapi import FastAPI

    attr = next((name for name in NAMES if isinstance(getattr(module, name, None), FastAPI)), None)
    if attr is None:
        attr = next((name for name, value in vars(module).items() if isinstance(value, FastAPI)), None)
    if attr is None:
        raise AppLoadError(f"{file} defines no FastAPI app (no app = FastAPI() in it); pass MODULE:APP.")
    rel = file.relative_to(folder)
    return Found(f"{module_name}:{attr}", app_dir, f"{rel}, as fastapi dev finds it")


def load_found(found: Found) -> object:
    return load_app(found.target, found.app_dir)
