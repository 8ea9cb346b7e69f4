"""Remappable keys: ``keys.toml`` in the user's config folder maps binding ids to keys."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from platformdirs import user_config_dir

# Keys that terminal multiplexers and emulators take; never bound by default.
RESERVED = {"ctrl+j", "ctrl+s", "ctrl+o", "ctrl+b", "ctrl+a", "ctrl+q"}


def keymap_path() -> Path:
    home = os.environ.get("LIFECYCLE_TRACER_HOME")
    base = Path(home) if home else Path(user_config_dir("lifecycle-tracer", appauthor=False))
    return base / "keys.toml"


def load_keymap(path: Path | None = None) -> dict[str, str]:
    """``{binding id: "key[,key]"}`` from ``[keys]``; a broken file is ignored (and said so on stderr)."""
    path = path or keymap_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        import sys

        print(f"lifecycle-tracer: ignoring {path}: {exc}", file=sys.stderr)
        return {}
    keys = data.get("keys", {})
    return {str(k): str(v) for k, v in keys.items() if isinstance(v, str)}
