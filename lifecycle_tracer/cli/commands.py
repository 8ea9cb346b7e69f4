"""What each command does. Every bad input ends in one clear sentence and a non-zero exit."""

from __future__ import annotations

import enum
import io
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

EXIT_OK, EXIT_CHECKS_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class Format(enum.StrEnum):
    mermaid = "mermaid"
    html = "html"


def fail(message: str) -> int:
    Console(stderr=True, highlight=False, soft_wrap=True).print(Text("Error: ", style="bold red") + Text(message))
    return EXIT_BAD_INPUT


def _interactive() -> bool:
    from ..course.plain import stdin_is_interactive
    from ..tui.launch import in_browser_child

    return stdin_is_interactive() or in_browser_child()


def _tui_wanted(plain: bool) -> bool:
    return not plain and _interactive()


def run(lesson: str, *, plain: bool, step: bool, record: Path | None, port: int | None, web: bool,
        reset: bool, show_secrets: bool, history: int = 500) -> int:
    from ..course.loader import LessonError, find, load
    from ..course.plain import run_plain
    from ..course.progress import Progress
    from ..server import PortInUseError

    try:
        loaded = load(find(lesson))
    except LessonError as exc:
        return fail(str(exc))
    progress = Progress()
    if reset:
        progress.reset(loaded.lesson.id)
    if web:
        from ..tui.launch import serve_web

        if port is not None or record is not None:
            # Every browser tab gets its own copy of the app: one port or one file cannot serve them all.
            return fail("--port and --record do not work with --web: each browser tab runs its own copy of the lesson.")
        argv = ["run", lesson, "--history", str(history)] + (["--step"] if step else []) + (
            ["--show-secrets"] if show_secrets else [])
        return serve_web(argv, port=None)
    if _tui_wanted(plain):
        from ..server import PortInUseError as _Busy
        from ..tui.launch import lesson_controller, run_tui

        try:
            controller = lesson_controller(loaded, port=port, record=record, show_secrets=show_secrets)
        except _Busy as exc:
            return fail(str(exc))
        return run_tui(controller, step_mode=step, max_requests=history)
    console = Console()
    if step:
        console.print(Text("Step mode needs the TUI; in plain mode every stage is printed instead.", style="dim"))
    ask = _ask if _interactive() else None
    try:
        ok = run_plain(loaded, console, port=port, record=record, show_secrets=show_secrets, ask=ask,
                       progress=progress)
    except PortInUseError as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"Could not serve the lesson's app: {exc}.")
    return EXIT_OK if ok else EXIT_CHECKS_FAILED


def _ask(question: Any) -> int | None:
    import typer

    n = len(question.choices)
    answer = typer.prompt(f"Your prediction (1-{n}, Enter to skip)", default="", show_default=False)
    return int(answer) - 1 if answer.strip().isdigit() and 1 <= int(answer) <= n else None


def list_lessons() -> int:
    from rich.table import Table

    from ..course.loader import LessonError, discover, load
    from ..course.progress import Progress

    progress = Progress()
    files = discover()
    if not files:
        return fail("No lessons were found; reinstall lifecycle-tracer.")
    table = Table("id", "title", "topics", "progress", title="Lessons", title_justify="left")
    marks = {"done": "✓ done", "current": "▶ current", "new": "· new"}
    for file in files:
        try:
            loaded = load(file)
        except LessonError as exc:
            table.add_row(file.id, Text(f"broken: {exc}", style="red"), "", "")
            continue
        status = progress.status(loaded.lesson.id)
        table.add_row(file.id, loaded.lesson.title, ", ".join(loaded.lesson.topics), marks[status])
    Console().print(table)
    Console().print(Text("Run one with: lifecycle-tracer run lesson1", style="dim"))
    return EXIT_OK


def trace(target: str, *, plain: bool, port: int, host: str, app_dir: Path | None, record: Path | None,
          show_secrets: bool, history: int = 500) -> int:
    import uvicorn

    from ..instrument.tracer import instrument
    from ..server import PortInUseError, check_port
    from ..sinks import ConsoleSink, JsonLinesSink
    from .apploader import AppLoadError, load_app

    try:
        app = load_app(target, app_dir)
        check_port(host, port)
    except AppLoadError as exc:
        return fail(str(exc))
    except PortInUseError as exc:
        return fail(str(exc))
    if _tui_wanted(plain):
        from ..tui.controllers import AppController
        from ..tui.launch import run_tui

        return run_tui(AppController(app, target, host=host, port=port, record=record, show_secrets=show_secrets),
                       max_requests=history)
    console = Console()
    sinks: list[Any] = [ConsoleSink(console, show_request=True)]
    tracer = instrument(app, sink=sinks[0], redact=not show_secrets)
    if record:
        sinks.insert(0, JsonLinesSink(record))  # closed first: the recording matters most if Ctrl+C comes again
        tracer.add_sink(sinks[0])
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(Text(f"Warning: binding {host} exposes the app beyond this machine.", style="bold yellow"))
    console.print(Text(f"Tracing {target} at http://{host}:{port} — send it requests (browser, curl, httpie); "
                       "Ctrl+C stops.", style="bold"))
    try:
        uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).run()
    finally:  # uvicorn re-raises Ctrl+C once it has shut down: print and write what is still queued
        for sink in sinks:
            tracer.remove_sink(sink)
            sink.close()
    return EXIT_OK


def _read(file: Path) -> list[Any]:
    from ..sinks import read_jsonl

    if not file.exists():
        raise ValueError(f"There is no file {file}; record one with `lifecycle-tracer run LESSON --record {file}`.")
    if file.is_dir():
        raise ValueError(f"{file} is a folder; give the JSON Lines file written with --record.")
    events = read_jsonl(file)
    if not events:
        raise ValueError(f"{file} holds no events.")
    return events


def replay(file: Path, *, plain: bool, show_secrets: bool) -> int:
    from ..export import group, redacted
    from ..sinks import nested

    try:
        events = _read(file)
    except ValueError as exc:
        return fail(str(exc))
    if not show_secrets:
        events = redacted(events)
    if _tui_wanted(plain):
        from ..tui.controllers import ReplayController
        from ..tui.launch import run_tui

        return run_tui(ReplayController(events, title=f"replay of {file.name}"))
    console = Console()
    for rid, evs in group(events).items():
        first, last = evs[0], evs[-1]
        took = (last.detail.get("duration_ns") or last.t_ns - first.t_ns) / 1e6
        console.rule(f"{rid}: {first.name} → {last.detail.get('status_code')}  ({took:.1f} ms)")
        for line in nested(evs):
            console.print(line)
    return EXIT_OK


def export(file: Path, fmt: Format, *, output: Path | None, request: str | None, show_secrets: bool) -> int:
    from ..export import group, html_page, mermaid, pick_request, redacted

    try:
        events = _read(file)
    except ValueError as exc:
        return fail(str(exc))
    if not show_secrets:
        events = redacted(events)
    groups = group(events)
    if fmt is Format.mermaid:
        try:
            text = mermaid(pick_request(groups, request))
        except KeyError as exc:
            return fail(str(exc.args[0]))
        target = output or file.with_suffix(".mmd")
    else:
        text = html_page(groups, title=f"lifecycle-tracer: {file.name}")
        target = output or file.with_suffix(".html")
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        return fail(f"Could not write {target}: {exc.strerror}.")
    Console().print(Text(f"Wrote {target}"))
    return EXIT_OK


def check(path: Path) -> int:
    from ..course.loader import LessonError, LessonFile, discover, load
    from ..course.plain import run_plain

    if not path.exists():
        return fail(f"There is no file or folder {path}.")
    files = discover(path) if path.is_dir() else [LessonFile(0, path.stem, path)]
    if not files:
        return fail(f"No lesson files (lessonNN_name.py) in {path}.")
    console = Console(soft_wrap=True)  # file:line must stay on one line for editors to jump to it
    problems = 0
    for file in files:
        try:
            loaded = load(file)
            problems += _lint(loaded, console)
            buffer = io.StringIO()
            ok = run_plain(loaded, Console(file=buffer, width=120), failures=(failures := []))
        except LessonError as exc:
            console.print(Text(f"✗ {exc}", style="red"))
            problems += 1
            continue
        except Exception as exc:
            console.print(Text(f"✗ {file.path}: running the lesson failed: {type(exc).__name__}: {exc}", style="red"))
            problems += 1
            continue
        for step_no, message in failures:
            console.print(Text(f"✗ {file.path}:{_step_line(file.path, step_no)}: step {step_no}: {message}", style="red"))
        problems += len(failures)
        if ok and not failures:
            console.print(Text(f"✓ {file.path}: {loaded.lesson.id}, {len(loaded.lesson.steps)} steps, every check holds",
                               style="green"))
    console.print(Text(f"{len(files)} lesson(s) checked, {problems} problem(s).", style="bold"))
    return EXIT_OK if problems == 0 else EXIT_CHECKS_FAILED


def _lint(loaded: Any, console: Console) -> int:
    lesson, path = loaded.lesson, loaded.file.path
    problems = []
    if loaded.file.number and lesson.id != loaded.file.id:
        problems.append(f"{path}:1: LESSON.id is {lesson.id!r} but the file name makes it {loaded.file.id!r}")
    for n, step in enumerate(lesson.steps, 1):
        if step.request is not None and not step.checks:
            problems.append(f"{path}:{_step_line(path, n)}: step {n} fires a request but checks nothing")
        q = step.question
        if q is not None and not 0 <= q.answer < len(q.choices):
            problems.append(f"{path}:{_step_line(path, n)}: step {n}'s question answer {q.answer} is not a choice index")
    for p in problems:
        console.print(Text(f"✗ {p}", style="red"))
    return len(problems)


def _step_line(path: Path, step_no: int) -> int:
    """The line of the step_no-th ``Step(`` call in the file (1 if it cannot be found)."""
    import ast

    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return 1
    lines = sorted(
        node.lineno for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Step"
    )
    return lines[step_no - 1] if 0 < step_no <= len(lines) else 1


def version() -> int:
    import fastapi

    from .. import __version__

    print(json.dumps({"lifecycle-tracer": __version__, "fastapi": fastapi.__version__}))
    return EXIT_OK
