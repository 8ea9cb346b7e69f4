"""An exception the server logged, as plain facts: its frames, and which of them are the app's own code.

The traceback is read from the exception's frames, never formatted by
Python: ``traceback`` would call the exception's ``__str__``, which is the
app's code and may print request data. The message comes from
``safe.exc_message`` instead (redacted like every event's message), and
each frame's line from the source file.
"""

from __future__ import annotations

import linecache
import os
import site
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from types import TracebackType
from typing import Any

from ..safe import exc_message, exc_type

MAX_FRAMES = 200  # per exception; a recursion error has thousands
MAX_CHAIN = 5  # causes and contexts followed

# What Python prints between the exceptions of a chain.
LINK = {
    "cause": "The above exception was the direct cause of the following exception:",
    "context": "During handling of the above exception, another exception occurred:",
}


@dataclass(frozen=True)
class Frame:
    file: str
    line: int
    func: str
    code: str  # the source line, stripped; "" when the file cannot be read
    module: str
    own: bool  # the app's own code, not Python's, a library's or the tracer's


@dataclass(frozen=True)
class Raised:
    """One exception of a chain: ``link`` says how the next one (raised later) relates to it."""

    type_name: str  # "fastapi.exceptions.HTTPException"
    name: str  # "HTTPException", as events name it
    message: str | None  # None when reading it would run the app's code
    frames: tuple[Frame, ...]
    link: str = ""  # "cause", "context" or "" (the last one)


@dataclass(frozen=True)
class Failure:
    """What the server logged for a request that raised: the chain, the one that escaped last."""

    chain: tuple[Raised, ...]

    @property
    def raised(self) -> Raised:
        return self.chain[-1]

    def culprit(self) -> Frame | None:
        """The deepest frame of the app's own code: where the exception that escaped was raised,
        or else where an exception it was raised from was."""
        for raised in reversed(self.chain):
            own = [f for f in raised.frames if f.own]
            if own:
                return own[-1]
        return None

    def lines(self) -> list[str]:
        """The traceback as Python lays it out (the message as ``exc_message`` reads it)."""
        out: list[str] = []
        for raised in self.chain:
            out.append("Traceback (most recent call last):")
            for f in raised.frames:
                out.append(f'  File "{f.file}", line {f.line}, in {f.func}')
                if f.code:
                    out.append(f"    {f.code}")
            out.append(headline(raised))
            if raised.link:
                out.extend(["", LINK[raised.link], ""])
        return out


def headline(raised: Raised) -> str:
    return f"{raised.type_name}: {raised.message}" if raised.message else raised.type_name


def failure_of(exc: BaseException, redact: Any, clean: Callable[[str], str]) -> Failure:
    """The facts of ``exc`` and the exceptions it was raised from or during.

    ``redact`` goes to ``exc_message`` (False, True or the request's
    ``RequestSecrets``); ``clean`` masks what is left (the request's known secrets).
    """
    chain: list[Raised] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen and len(chain) < MAX_CHAIN:
        seen.add(id(current))
        message = exc_message(current, redact)
        chain.append(Raised(exc_type(current), type(current).__name__,
                            clean(message) if message else message, frames(current.__traceback__), link))
        cause, context = current.__cause__, current.__context__
        if cause is not None:
            current, link = cause, "cause"
        elif context is not None and not current.__suppress_context__:
            current, link = context, "context"
        else:
            current = None
    # Collected from the last raised back to the first (each one's link is to the one before it); Python
    # prints the first first.
    return Failure(tuple(reversed(chain)))


def frames(tb: TracebackType | None) -> tuple[Frame, ...]:
    out: list[Frame] = []
    while tb is not None and len(out) < MAX_FRAMES:
        frame = tb.tb_frame
        code = frame.f_code
        module = str(frame.f_globals.get("__name__") or "")
        line = tb.tb_lineno or 0
        text = linecache.getline(code.co_filename, line, frame.f_globals).strip() if line else ""
        out.append(Frame(code.co_filename, line, code.co_name, text, module, is_own(module, code.co_filename)))
        tb = tb.tb_next
    return tuple(out)


@lru_cache(maxsize=1)
def _library_dirs() -> tuple[str, ...]:
    """Folders of Python's own modules and of installed packages."""
    paths = sysconfig.get_paths()
    dirs = {paths.get(key, "") for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    try:
        dirs.update(site.getsitepackages())
        dirs.add(site.getusersitepackages())
    except AttributeError:  # an old virtualenv's site module
        pass
    return tuple(os.path.join(os.path.realpath(d), "") for d in dirs if d)


@lru_cache(maxsize=2048)
def is_own(module: str, file: str) -> bool:
    """Whether a frame runs the app's code: not the tracer's, and not from Python or an installed package.

    Lessons are the exception: installed, they live inside this package
    (``lifecycle_tracer/_lessons``), and the loader names them ``lifecycle_tracer_lessons.*``.
    """
    top = module.partition(".")[0]
    if top == "lifecycle_tracer_lessons":
        return True
    if top == "lifecycle_tracer" or file.startswith("<"):
        return False
    path = os.path.realpath(file)
    return not path.startswith(_library_dirs())
