"""The ``lifecycle-tracer`` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from .plain import run_plain, stdin_is_interactive

app = typer.Typer(
    help="See how FastAPI handles a request, stage by stage.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def fail(message: str, code: int = 2) -> typer.Exit:
    Console(stderr=True).print(f"[bold red]Error:[/] {message}", highlight=False)
    return typer.Exit(code)


@app.command()
def run(
    lesson: Annotated[str, typer.Argument(help="The lesson: lesson3, 3, or its name (see `list`).")],
    plain: Annotated[bool, typer.Option("--plain", help="Print the lesson to the terminal instead of opening the TUI.")] = False,
    record: Annotated[Path | None, typer.Option("--record", help="Also write every event to this JSON Lines file.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Serve the lesson's app on this port (default: a free one).")] = None,
    show_secrets: Annotated[bool, typer.Option("--show-secrets", help="Do not redact Authorization, Cookie and API-key values.")] = False,
) -> None:
    """Run a lesson: serve its app on 127.0.0.1, fire its requests, show every stage.

    Examples:

      lifecycle-tracer run lesson1

      lifecycle-tracer run 3 --plain --record lesson3.jsonl
    """
    from .lessons import LessonError, find, load
    from .server import PortInUseError

    try:
        loaded = load(find(lesson))
    except LessonError as exc:
        raise fail(str(exc)) from None
    interactive = stdin_is_interactive()
    console = Console()
    if not plain and interactive:
        console.print("[dim]The live TUI is not built yet; showing the lesson in plain mode.[/]")
    ask = _ask if interactive else None
    try:
        ok = run_plain(loaded, console, port=port, record=record, show_secrets=show_secrets, ask=ask)
    except PortInUseError as exc:
        raise fail(str(exc)) from None
    raise typer.Exit(0 if ok else 1)


def _ask(question: object) -> int | None:
    choices = getattr(question, "choices", [])
    answer = typer.prompt(f"Your prediction (1-{len(choices)}, Enter to skip)", default="", show_default=False)
    return int(answer) - 1 if answer.strip().isdigit() and 1 <= int(answer) <= len(choices) else None


@app.command(name="list")
def list_lessons() -> None:
    """List the lessons."""
    from rich.table import Table

    from .lessons import LessonError, discover, load

    table = Table("id", "title", "topics")
    for file in discover():
        try:
            loaded = load(file)
            table.add_row(file.id, loaded.lesson.title, ", ".join(loaded.lesson.topics))
        except LessonError as exc:
            table.add_row(file.id, f"[red]broken: {exc}[/]", "")
    Console().print(table)


@app.command()
def version() -> None:
    """Print the version."""
    from . import __version__

    typer.echo(__version__)


def main() -> None:
    app()
