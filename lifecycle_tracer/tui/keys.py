"""Remappable keys: ``keys.toml`` in the user's config folder maps binding ids to keys."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from platformdirs import user_config_dir
from textual.binding import Binding, BindingType

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


# Every key of the app, with an id for remapping. Priority keys beat the
# focused pane's own (scroll panes take arrows and Home/End); their actions
# step aside when a dialog is open. None of them is one tmux or a terminal takes.
BINDINGS: list[BindingType] = [
    # Priority keys beat the focused pane's own (scroll panes take arrows,
    # Home/End; the table takes Enter); their actions step aside in dialogs.
    Binding("enter", "fire", "Fire", id="fire", priority=True),
    Binding("n", "next_step", "Next step", id="next_step"),
    Binding("p", "previous_step", "Prev step", id="previous_step", show=False),
    Binding("1", "answer(0)", "Answer 1", id="answer_1", show=False),
    Binding("2", "answer(1)", "Answer 2", id="answer_2", show=False),
    Binding("3", "answer(2)", "Answer 3", id="answer_3", show=False),
    Binding("4", "answer(3)", "Answer 4", id="answer_4", show=False),
    Binding("shift+down", "scroll_lesson(3)", "Scroll lesson down", id="lesson_down", show=False),
    Binding("shift+up", "scroll_lesson(-3)", "Scroll lesson up", id="lesson_up", show=False),
    Binding("h", "hint", "Hint", id="hint", show=False),
    Binding("o", "solution", "Solution", id="solution", show=False),
    Binding("g", "glossary", "Glossary", id="glossary", show=False),
    Binding("s", "toggle_step_mode", "Step mode", id="step_mode"),
    Binding("space", "step_forward", "Step", id="step_forward", priority=True),
    Binding("left", "travel(-1)", "Back", id="travel_back", show=False, priority=True),
    Binding("right", "travel(1)", "Forward", id="travel_forward", show=False, priority=True),
    Binding("home", "travel_to(0)", "First event", id="travel_first", show=False, priority=True),
    Binding("end", "travel_to(-1)", "Last event", id="travel_last", show=False, priority=True),
    Binding("left_square_bracket", "other_request(-1)", "Prev request", id="request_prev", show=False),
    Binding("right_square_bracket", "other_request(1)", "Next request", id="request_next", show=False),
    Binding("c", "compose", "Compose", id="compose"),
    Binding("i", "inspect", "Inspect", id="inspect"),
    Binding("y", "copy_request", "Copy as curl", id="copy_request", show=False),
    Binding("m", "mark", "Mark to compare", id="mark", show=False),
    Binding("d", "compare", "Compare with marked", id="compare", show=False),
    Binding("f", "follow_newest", "Follow newest", id="follow_newest", show=False),
    # Always there, even with --watch: file watching fails on some systems (network drives, some containers).
    Binding("r", "reload", "Reload", id="reload"),
    Binding("e", "export", "Export", id="export"),
    Binding("l", "toggle_logs", "Log", id="logs"),
    Binding("t", "cycle_theme", "Theme", id="theme", show=False),
    Binding("z", "toggle_large", "Large layout", id="large", show=False),
    Binding("f1,question_mark", "help", "Help", id="help"),
    Binding("q", "quit", "Quit", id="quit"),
]
