"""What each command does. Every bad input ends in one clear sentence and a non-zero exit."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from .exits import EXIT_BAD_INPUT, EXIT_CHECKS_FAILED, EXIT_OK, fail, run_tui_or_fail
from .share import share_session

__all__ = ["EXIT_BAD_INPUT", "EXIT_CHECKS_FAILED", "EXIT_OK", "Format", "fail"]


class Format(enum.StrEnum):
    mermaid = "mermaid"
    html = "html"
    perfetto = "perfetto"
    otlp = "otlp"
    har = "har"


def _interactive() -> bool:
    from ..course.plain import stdin_is_interactive
    from ..tui.launch import in_browser_child

    return stdin_is_interactive() or in_browser_child()


def _tui_wanted(plain: bool) -> bool:
    return not plain and _interactive()


def run(lesson: str, *, plain: bool, step: bool, record: Path | None, port: int | None, web: bool,
        reset: bool, show_secrets: bool, history: int = 500, web_sessions: int | None = None,
        watch: bool = False, share: str | None = None) -> int:
    from ..course.loader import LessonError, find, load
    from ..course.progress import Progress
    from ..server import BindError, ServerStartError, check_port
    from .inputs import BadInput, check_history, check_record

    try:
        check_history(history)
        if port is not None:
            check_port("127.0.0.1", port)
        check_record(record)
        loaded = load(find(lesson))
    except (BadInput, BindError, LessonError) as exc:
        return fail(str(exc))
    progress = Progress()
    if reset:
        progress.reset(loaded.lesson.id)
    if share is not None and (web or not _tui_wanted(plain)):
        return fail("--share shares the TUI's session: drop --web and --plain (attendees can use view --web).")
    if web:
        from ..tui.launch import serve_web

        if port is not None or record is not None:
            # Every browser tab gets its own copy of the app: one port or one file cannot serve them all.
            return fail("--port and --record do not work with --web: each browser tab runs its own copy of the lesson.")
        argv = ["run", lesson, "--history", str(history)] + (["--step"] if step else []) + (
            ["--show-secrets"] if show_secrets else []) + (["--watch"] if watch else [])
        return serve_web(argv, port=None, max_sessions=web_sessions)
    if _tui_wanted(plain):
        from ..tui.launch import lesson_controller

        try:
            controller = lesson_controller(loaded, port=port, record=record, show_secrets=show_secrets)
        except BindError as exc:
            return fail(str(exc))
        controller.watch = watch
        controller.progress = progress
        try:
            sharing = share_session(share, controller, show_secrets)
        except ValueError as exc:
            return fail(str(exc))
        return run_tui_or_fail(controller, step_mode=step, max_requests=history, share=sharing)
    from ..course.plain import run_plain

    console = Console()
    if step:
        console.print(Text("Step mode needs the TUI; in plain mode every stage is printed instead.", style="dim"))
    ask = _ask if _interactive() else None
    try:
        # Nobody at the keyboard (a script, CI, a pipe): nothing was learnt, so nothing is marked.
        ok = run_plain(loaded, console, port=port, record=record, show_secrets=show_secrets, ask=ask,
                       progress=progress if ask else None, watch=watch)
        if ask is None:
            console.print(Text("Your progress was not saved: nobody was at the keyboard (the input is not a "
                               "terminal). Run it in a terminal to keep it.", style="dim"))
    except (BindError, ServerStartError) as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"Could not serve the lesson's app: {exc}.")
    return EXIT_OK if ok else EXIT_CHECKS_FAILED


def _ask(question: Any) -> int | None:
    import typer

    n = len(question.choices)
    answer = typer.prompt(f"Your prediction (1-{n}, Enter to skip)", default="", show_default=False)
    return int(answer) - 1 if answer.strip().isdigit() and 1 <= int(answer) <= n else None


def init(directory: Path) -> int:
    from ..course.workspace import WorkspaceError
    from ..course.workspace import init as copy_lessons

    try:
        copied = copy_lessons(directory)
    except WorkspaceError as exc:
        return fail(str(exc))
    console = Console(highlight=False, soft_wrap=True)  # a path cut in two cannot be pasted
    for line in copied.lines(directory):
        console.print(Text(line))
    return EXIT_OK


def trace(target: str | None, *, plain: bool, port: int, host: str, app_dir: Path | None, record: Path | None,
          show_secrets: bool, history: int = 500, reload: bool = False, share: str | None = None) -> int:
    from ..server import BindError, check_port
    from .apploader import AppLoadError, load_app
    from .discover import discover
    from .inputs import BadInput, check_app_dir, check_history, check_record, exposure_warning

    found = None
    try:
        check_history(history)
        check_port(host, port)  # before the import: the user's module may take a while, or print
        check_record(record)
        check_app_dir(app_dir)
        if target is None:  # as fastapi dev finds it
            found = discover(app_dir or Path.cwd())
            target, app_dir = found.target, found.app_dir
        app = load_app(target, app_dir)
    except (AppLoadError, BadInput, BindError) as exc:
        return fail(str(exc))
    warning = exposure_warning(host)
    warn = Console(stderr=True, highlight=False, soft_wrap=True)
    if found is not None:
        warn.print(Text(f"Found {target} in {found.how}.", style="dim"))
    if share is not None and not _tui_wanted(plain):
        return fail("--share shares the TUI's session: drop --plain.")
    where = (app_dir or Path.cwd()).resolve()
    if warning:
        warn.print(Text(warning, style="bold yellow"))
    if _tui_wanted(plain):
        from .reload import trace_tui

        try:  # the app in a child process, the TUI its viewer (with --reload, uvicorn's reloader)
            return trace_tui(target, app=app, reload=reload, port=port, host=host, app_dir=where, record=record,
                             show_secrets=show_secrets, history=history, warning=warning, share=share)
        finally:  # the TUI's screen hid the first one
            if warning:
                warn.print(Text(warning, style="bold yellow"))
    from .reload import trace_child_plain

    # In a child process, printed here whole request by request, as with --reload and view --plain.
    return trace_child_plain(target, host=host, port=port, app_dir=where, record=record, show_secrets=show_secrets,
                             reload=reload)


def _read(file: Path, show_secrets: bool) -> Any:
    """The recording's requests as they are read (see ``cli.recorded``); a bad path or file raises ``RecordingError``."""
    from .recorded import requests

    return requests(file, show_secrets)


def replay(file: Path, *, plain: bool, show_secrets: bool) -> int:
    from ..recording import RecordingError
    from .recorded import latest, print_plain

    tui = _tui_wanted(plain)
    try:
        groups = _read(file, show_secrets)
        if not tui:
            print_plain(groups, Console())
            return EXIT_OK
        from ..tui.store import DEFAULT_MAX_REQUESTS

        events, kept, seen = latest(groups, DEFAULT_MAX_REQUESTS)
    except RecordingError as exc:
        return fail(str(exc))
    from ..tui.controllers import ReplayController
    from ..tui.launch import run_tui

    title = f"replay of {file.name}" + (f" (the latest {kept} of {seen} requests)" if kept < seen else "")
    return run_tui(ReplayController(events, title=title))


def export(file: Path, fmt: Format, *, output: Path | None, request: str | None, show_secrets: bool) -> int:
    from ..recording import RecordingError, read_requests
    from ..visible import visible
    from .recorded import NoRequest, mermaid_of, write_html

    try:
        if fmt is Format.mermaid:
            text = mermaid_of(read_requests(file), request, show_secrets)
            target = output or file.with_suffix(".mmd")
            target.write_text(text, encoding="utf-8")
        elif fmt is Format.html:
            groups = _read(file, show_secrets)
            target = output or file.with_suffix(".html")
            write_html(groups, target, title=f"lifecycle-tracer: {file.name}")
        else:
            from .. import __version__
            from .formats import SUFFIXES, write_format
            from .recorded import pick

            target = output or file.with_suffix(SUFFIXES[fmt.value])
            groups = _read(file, show_secrets)
            if request is not None:
                chosen = pick(groups, request)
                groups = iter([(chosen[0].request_id, chosen)])
            write_format(fmt.value, file, groups, target, __version__, need_request=request is None)
    except RecordingError as exc:
        return fail(str(exc))
    except NoRequest as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"Could not write {target}: {exc.strerror}.")
    Console().print(Text(visible(f"Wrote {target}")))
    return EXIT_OK


def check(path: Path | None) -> int:
    from ..course.loader import LessonFile, discover, lessons_dir
    from .lessoncheck import check_one

    path = path or lessons_dir()
    if not path.exists():
        return fail(f"There is no file or folder {path}.")
    files = discover(path) if path.is_dir() else [LessonFile(0, path.stem, path)]
    if not files:
        return fail(f"No lesson files (lessonNN_name.py) in {path}.")
    console = Console(soft_wrap=True)  # file:line must stay on one line for editors to jump to it
    problems = broken = verified = solved = 0
    for file in files:
        checked = check_one(file)
        for problem in checked.problems:
            console.print(Text(f"✗ {problem}", style="red"))
        if not checked.problems:  # one verdict per file: ✓ only when nothing at all is wrong with it
            console.print(Text(f"✓ {checked.verdict}", style="green"))
        problems += len(checked.problems)
        broken += bool(checked.problems)
        verified += checked.verified
        solved += checked.solved
    if problems:
        return fail(f"{broken} of {len(files)} lesson file(s) checked have problems ({problems} in all); "
                    "fix the lines marked ✗ above.", EXIT_CHECKS_FAILED)
    console.print(Text(f"{len(files)} lesson(s) checked, no problems.", style="bold"))
    console.print(Text(f"{verified} exercises verified", style="bold"))
    if solved:
        console.print(Text(f"{solved} exercise(s) solved in your copies.", style="bold green"))
    return EXIT_OK


def version() -> int:
    import fastapi

    from .. import __version__

    print(json.dumps({"lifecycle-tracer": __version__, "fastapi": fastapi.__version__}))
    return EXIT_OK
