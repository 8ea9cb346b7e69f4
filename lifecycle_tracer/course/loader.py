"""Finding and loading lesson modules, with clear errors for authors."""

from __future__ import annotations

import difflib
import importlib.util
import os
import re
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from .format import Lesson

_FILE = re.compile(r"^lesson(\d+)_([a-z0-9_]+)\.py$")


class LessonError(Exception):
    """A lesson that cannot be found or loaded; the message says what to do."""


MARKER = ".lifecycle-tracer"  # the file `init` writes into a learner's workspace


def lessons_dir() -> Path:
    """LIFECYCLE_TRACER_LESSONS, else the workspace around the current folder, else the packaged lessons."""
    override = os.environ.get("LIFECYCLE_TRACER_LESSONS")
    if override:
        return Path(override)
    return workspace() or packaged_dir()


def workspace(start: Path | None = None) -> Path | None:
    """The nearest folder at or above ``start`` (default: here) that `init` made, so `cd sub/` still works."""
    try:
        here = (start or Path.cwd()).resolve()
    except OSError:  # the current folder was deleted under us
        return None
    return next((d for d in (here, *here.parents) if (d / MARKER).is_file()), None)


def origin(path: Path) -> str:
    """Whose lesson file this is, for every screen that names the file running."""
    if workspace(path.parent) is not None:
        return "your copy"
    if is_packaged(path):
        return "the installed copy"
    override = os.environ.get("LIFECYCLE_TRACER_LESSONS")
    if override and path.resolve().is_relative_to(Path(override).resolve()):
        return "from LIFECYCLE_TRACER_LESSONS"
    return "a file you named"


def is_packaged(path: Path) -> bool:
    """Whether the file is one of the lessons installed with the package (editing it is no use)."""
    return workspace(path.parent) is None and path.resolve().is_relative_to(packaged_dir().resolve())


def packaged_dir() -> Path:
    package = Path(__file__).resolve().parent.parent
    packaged = package / "_lessons"  # where the wheel puts them
    if packaged.is_dir():
        return packaged
    return package.parent / "lessons"  # a source checkout or an editable install


@dataclass(frozen=True)
class LessonFile:
    number: int
    slug: str
    path: Path

    @property
    def id(self) -> str:
        return f"lesson{self.number}"


def discover(directory: Path | None = None) -> list[LessonFile]:
    directory = directory or lessons_dir()
    found = []
    for path in sorted(directory.glob("lesson*.py")):
        m = _FILE.match(path.name)
        if m:
            found.append(LessonFile(int(m.group(1)), m.group(2), path))
    return sorted(found, key=lambda f: f.number)


def find(name: str, directory: Path | None = None) -> LessonFile:
    """``lesson3``, ``3``, ``lesson03``, ``dependencies`` or a path all work."""
    as_path = Path(name)
    if name.endswith(".py") and as_path.exists():
        m = _FILE.match(as_path.name)
        return LessonFile(int(m.group(1)) if m else 0, m.group(2) if m else as_path.stem, as_path)
    files = discover(directory)
    key = name.lower().strip()
    digits = re.fullmatch(r"(?:lesson)?0*(\d+)", key)
    for f in files:
        if (digits and f.number == int(digits.group(1))) or key in (f.slug, f.path.stem):
            return f
    names = [f.id for f in files] + [f.slug for f in files]
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    listing = ", ".join(f.id for f in files) or "none found in " + str(directory or lessons_dir())
    raise LessonError(f"There is no lesson called '{name}'.{hint} Lessons: {listing}. Run `lifecycle-tracer list` to see them all.")


@dataclass
class LoadedLesson:
    file: LessonFile
    module: ModuleType
    lesson: Lesson
    app: Any


def load(file: LessonFile) -> LoadedLesson:
    module_name = f"lifecycle_tracer_lessons.{file.path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, file.path)
    if spec is None or spec.loader is None:
        raise LessonError(f"{file.path}: cannot be loaded as a Python module.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # pydantic and dataclasses look the module up by name
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(module_name, None)
        raise LessonError(f"{exc.filename}:{exc.lineno}: the lesson has a syntax error: {exc.msg}.") from exc
    except Exception as exc:
        sys.modules.pop(module_name, None)
        frame = _last_frame_in(exc, file.path)
        where = f"{file.path}:{frame}" if frame else str(file.path)
        raise LessonError(f"{where}: the lesson failed to import: {type(exc).__name__}: {exc}") from exc
    except (SystemExit, KeyboardInterrupt) as exc:  # else `check` would stop, silently, with its exit code
        sys.modules.pop(module_name, None)
        frame = _last_frame_in(exc, file.path)
        where = f"{file.path}:{frame}" if frame else str(file.path)
        how = f"sys.exit({'' if exc.code is None else repr(exc.code)})" if isinstance(exc, SystemExit) else type(exc).__name__
        raise LessonError(f"{where}: importing the lesson exited ({how}) before it defined LESSON; "
                          "a lesson module must not exit.") from None
    lesson = getattr(module, "LESSON", None)
    if not isinstance(lesson, Lesson):
        raise LessonError(f"{file.path}:1: the lesson module must define LESSON = Lesson(...).")
    app = getattr(module, "app", None)
    if app is None or not hasattr(app, "router"):
        raise LessonError(f"{file.path}:1: the lesson module must define `app`, the FastAPI app it teaches.")
    return LoadedLesson(file, module, lesson, app)


def _last_frame_in(exc: BaseException, path: Path) -> int | None:
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == path.resolve():
            line = frame.lineno
    return line
