"""The app's own commands in the command palette (Ctrl+P), for whoever remembers a word, not a key.

A command is offered only where its key would work: the same ``check_action``
that takes a key out of the footer (no Fire in a replay, no Reload when
tracing your own app) takes its command out of the palette. Each command says
its key as the screen has it bound now, remapped keys included.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from textual.app import SystemCommand

# (action, title, what it does): the order is the order a learner meets them.
COMMANDS = (
    ("fire", "Fire the step's request", "send the current step's request(s) and check what the trace shows"),
    ("next_step", "Next step", "go to the lesson's next step"),
    ("previous_step", "Previous step", "go back to the lesson's previous step"),
    ("hint", "Hint", "show the step's next hint"),
    ("solution", "Solution", "show one way to solve the exercise on this step"),
    ("glossary", "Glossary", "the words this tool uses, and what each means"),
    ("toggle_step_mode", "Step mode on/off", "hold each request at every stage, in and out, until you move it on"),
    ("step_forward", "Step", "move the held request on to its next stage"),
    ("compose", "Compose a request", "write a request of your own: method, path, headers, body"),
    ("inspect", "Inspect the request", "what the client sent and got: headers, body, each layer's changes"),
    ("copy_request", "Copy as curl", "the selected request as a curl command and an httpx snippet, to send again"),
    ("mark", "Mark to compare", "mark the selected request, to compare another with it"),
    ("compare", "Compare with the marked request", "the two requests side by side, stage by stage"),
    ("follow_newest", "Follow newest", "show each new request as it arrives"),
    ("reload", "Reload the lesson", "load the lesson file again after an edit, and run the step's checks again"),
    ("export", "Export", "write this session as JSON Lines, Mermaid and HTML, in one folder"),
    ("toggle_logs", "Server log", "show or hide the server's log and tracebacks"),
    ("cycle_theme", "Next theme", "dark, light, high contrast"),
    ("toggle_large", "Large layout", "big text for a projector: the lesson, the picture and the explanation"),
    ("help", "Keys and legend", "every key, and what the picture's symbols mean"),
)


def app_commands(app: Any, screen: Any) -> Iterator[SystemCommand]:
    """The commands that apply here, each with the key that does the same."""
    keys: dict[str, str] = {}
    try:
        for key, active in screen.active_bindings.items():
            keys.setdefault(active.binding.action, app.get_key_display(active.binding) or key)
    except Exception:  # a key's name is a nicety; the command works without it
        keys = {}
    for action, title, what in COMMANDS:
        if not hasattr(app, f"action_{action}") or app.check_action(action, ()) is False:
            continue
        key = keys.get(action)
        yield SystemCommand(title, f"{what} (key: {key})" if key else what, partial(app.run_action, action))
