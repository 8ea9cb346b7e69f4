"""``run --watch`` in plain mode: reload the lesson on every save and say which checks changed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.rule import Rule
from rich.text import Text

from ..server import LifespanFailed
from ..visible import visible
from .format import Outcome
from .loader import LessonError
from .session import LessonSession, read_source, reload_error

Marks = dict[tuple[int, int], Outcome]  # (step number, check index) -> its outcome


def only(path: Path) -> Callable[[Any, str], bool]:
    """A watchfiles filter for one file. The folder is watched, not the file: editors that save
    by writing a new file and renaming it over the old one would end a watch on the file itself."""
    target = path.resolve()
    return lambda _change, changed: Path(changed).resolve() == target


def watch_folder(path: Path) -> Path:
    return path.resolve().parent


def changes(before: Marks, after: Marks) -> list[str]:
    """One line per check that now passes or fails where it did not, and per check added or gone."""
    lines = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        step = f"step {key[0]}, check {key[1] + 1}"
        if old is None and new is not None:
            lines.append(f"  + {step} is new: {'✓' if new.ok else '✗'} {new.message}")
        elif new is None and old is not None:
            lines.append(f"  - {step} is gone (it was {'✓' if old.ok else '✗'} {old.message})")
        elif old is not None and new is not None and old.ok != new.ok:
            arrow = "✗ → ✓ now passes" if new.ok else "✓ → ✗ now fails"
            lines.append(f"  {arrow}: {step}: {new.message}")
    return lines


def summary(before: Marks, after: Marks) -> str:
    failed = sum(not o.ok for o in after.values())
    changed = len(changes(before, after))
    what = "nothing changed" if not changed else f"{changed} check(s) changed"
    verdict = "every check passed" if not failed else f"{failed} of {len(after)} check(s) failed"
    return f"After the reload {what}; {verdict}. Watching for the next save (Ctrl+C stops)."


def lesson_ok(lesson: Any, marks: Marks) -> bool:
    """Every check of every step holds; an exercise's checks say whether it is solved, so they do not count."""
    exercises = {n for n, _ in lesson.exercises}
    return all(o.ok for (step, _), o in marks.items() if step not in exercises)


def watch_plain(session: LessonSession, console: Console, marks: Marks, rerun: Callable[[], Marks]) -> bool:
    """Until Ctrl+C: on each save reload the lesson, run ``rerun()`` and print what changed.

    True if the last run passed every check.
    """
    import watchfiles

    path = session.loaded.file.path
    armed = False
    try:
        # The timeouts say when the watcher is armed, and catch a save that raced its start.
        for changed in watchfiles.watch(watch_folder(path), watch_filter=only(path), recursive=False,
                                        raise_interrupt=False, rust_timeout=1000, yield_on_timeout=True):
            if not armed:
                armed = True
                console.print(Text(visible(f"Watching {path} for changes; save it to run the lesson again "
                                           "(Ctrl+C stops)."), style="dim"), soft_wrap=True)
            if not changed and read_source(path) == session.source:
                continue  # a broken version was read into session.source too: it is reported once
            try:
                session.reload()
            except (LessonError, LifespanFailed) as exc:
                console.print(Text(visible(reload_error(exc)), style="bold red"), soft_wrap=True)
                continue
            console.print(Rule(f"Reloaded {path.name}: running every step again"))
            before, marks = marks, rerun()  # before printing: Ctrl+C can come as soon as the summary shows
            console.print(Rule("What changed"))
            for line in changes(before, marks):
                console.print(Text(visible(line), style="green" if "passes" in line else "yellow"), soft_wrap=True)
            console.print(Text(summary(before, marks), style="bold"), soft_wrap=True)
    except KeyboardInterrupt:  # in the middle of a run: the verdict is the last whole run's
        pass
    return lesson_ok(session.loaded.lesson, marks)
