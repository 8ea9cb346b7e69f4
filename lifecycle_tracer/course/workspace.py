"""``init``: copy the lessons into a folder the learner owns, so an edit is what runs next time."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .loader import MARKER, discover, packaged_dir, workspace


class WorkspaceError(Exception):
    """A folder that cannot become a workspace; the message says what to do instead."""


@dataclass
class Copied:
    directory: Path
    added: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    fresh: bool = True  # False when the folder was already a workspace

    def lines(self, typed: Path) -> list[str]:
        """What `init` says: where the lessons are and the next thing to do."""
        where = self.directory
        if self.fresh:
            said = [f"Copied {len(self.added)} lessons to {where}."]
        elif self.added:
            said = [f"{where} is already your workspace: added the {len(self.added)} missing lesson(s) "
                    f"({', '.join(self.added)}) and kept your {len(self.kept)} file(s) as they are."]
        else:
            said = [f"{where} is already your workspace with all {len(self.kept)} lessons; "
                    "none was changed."]
        said.append(f"cd {typed}, open lesson01_hello.py, change it, and run `lifecycle-tracer run lesson1`.")
        said.append("Inside that folder, run, list and check use your copies.")
        return said


def init(directory: Path) -> Copied:
    """Copy every packaged lesson into ``directory``; on an existing workspace only the missing ones."""
    from .. import __version__

    target = directory.resolve()
    if target.exists() and not target.is_dir():
        raise WorkspaceError(f"{directory} is a file, not a folder; give `init` a folder name for the lessons.")
    fresh = workspace(target) != target
    if fresh and target.is_dir() and any(target.iterdir()):
        raise WorkspaceError(f"{directory} already holds files and is not a lessons workspace; "
                             "give `init` a new or empty folder.")
    sources = discover(packaged_dir())
    if not sources:
        raise WorkspaceError(f"No packaged lessons were found in {packaged_dir()}; reinstall lifecycle-tracer.")
    copied = Copied(target, fresh=fresh)
    try:
        target.mkdir(parents=True, exist_ok=True)
        marker = target / MARKER
        if not marker.is_file():  # first, so an interrupted copy can be finished by running `init` again
            marker.write_text(f"lifecycle-tracer {__version__}\n", encoding="utf-8")
        for source in sources:
            mine = target / source.path.name
            if mine.exists():  # the learner's file, edited or not: never ours to overwrite
                copied.kept.append(mine.name)
                continue
            # Bytes only, not the mode: a copy of a read-only site-packages file must still be editable.
            mine.write_bytes(source.path.read_bytes())
            copied.added.append(mine.name)
    except OSError as exc:
        raise WorkspaceError(f"Could not write the lessons into {directory}: {exc.strerror or exc}; "
                             "pick a folder you can write to.") from exc
    return copied
