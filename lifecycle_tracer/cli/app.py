"""The ``lifecycle-tracer`` command: argument parsing only; the work is in ``commands``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import commands, learner
from .options import HistorySize, Plain, Port, Record, Secrets, Share, ShareOn, app


@app.command()
def run(
    lesson: Annotated[str, typer.Argument(help="The lesson: lesson3, 3, or its name (see `list`).")],
    plain: Plain = False,
    step: Annotated[bool, typer.Option("--step", help="Pause each request at every stage until you press a key (TUI).")] = False,
    record: Record = None,
    port: Port = None,
    web: Annotated[bool, typer.Option("--web", help="Serve the TUI in a browser on 127.0.0.1.")] = False,
    web_sessions: Annotated[int, typer.Option("--web-sessions", min=1, help="With --web: how many browser tabs may run the lesson at once; each runs its own copy.")] = 4,
    reset: Annotated[bool, typer.Option("--reset", help="Forget your progress in this lesson first.")] = False,
    show_secrets: Secrets = False,
    history: HistorySize = 500,
    watch: Annotated[bool, typer.Option("--watch", help="Reload the lesson file each time you save it (same port) and run the current step again; in plain mode every step, until Ctrl+C.")] = False,
    share: Share = False,
    share_on: ShareOn = "127.0.0.1:47802",
) -> None:
    """Run a lesson: serve its app on 127.0.0.1, fire its requests, show every stage.

    Without --plain, in an interactive terminal, the lesson opens in the TUI.
    In plain mode (or when output is not a terminal) it is printed, and the
    command exits 0 only if every check passed.

    [bold]Examples[/]

      lifecycle-tracer run lesson1

      lifecycle-tracer run 3 --plain --record lesson3.jsonl

      lifecycle-tracer run 1 --watch
    """
    raise typer.Exit(commands.run(lesson, plain=plain, step=step, record=record, port=port, web=web,
                                  reset=reset, show_secrets=show_secrets, history=history, web_sessions=web_sessions,
                                  watch=watch, share=share_on if share else None))


@app.command(name="list")
def list_lessons() -> None:
    """List the lessons with your progress: done, current or new.

    [bold]Example[/]

      lifecycle-tracer list
    """
    raise typer.Exit(learner.list_lessons())


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="The folder to copy the lessons into; it is yours to edit.")] = Path(
        "lifecycle-lessons"),
) -> None:
    """Copy every lesson into a folder you own; inside it, run, list and check use your copies.

    Run again on the same folder to get back lessons you deleted: your files are never overwritten.

    [bold]Example[/]

      lifecycle-tracer init && cd lifecycle-lessons
    """
    raise typer.Exit(commands.init(directory))


@app.command()
def trace(
    target: Annotated[str | None, typer.Argument(
        help="Your app as MODULE:APP, e.g. main:app (default: found as fastapi dev finds it: main.py, app.py, "
             "api.py, app/main.py…, or [tool.fastapi] entrypoint in pyproject.toml).",
        metavar="[MODULE:APP]", show_default=False)] = None,
    plain: Plain = False,
    port: Annotated[int, typer.Option("--port", help="Port to serve on; 0 picks a free one.")] = 8000,
    host: Annotated[str, typer.Option("--host", help="Interface to bind; only loopback unless you ask.")] = "127.0.0.1",
    app_dir: Annotated[Path | None, typer.Option("--app-dir", help="Folder to import MODULE from (default: here).")] = None,
    record: Record = None,
    show_secrets: Secrets = False,
    history: HistorySize = 500,
    reload: Annotated[bool, typer.Option("--reload", help="Restart the app on every save (uvicorn's reloader, in a child process); the TUI, its history and step mode stay.")] = False,
    share: Share = False,
    share_on: ShareOn = "127.0.0.1:47802",
) -> None:
    """Trace your own app: serve it on 127.0.0.1 and show every request live.

    Send it requests with a browser, curl or httpie while it runs; q quits the TUI, Ctrl+C stops --plain.

    [bold]Examples[/]

      lifecycle-tracer trace            (in a folder with main.py, as fastapi dev)

      lifecycle-tracer trace main:app

      lifecycle-tracer trace myproject.api:app --port 9000 --record api.jsonl
    """
    raise typer.Exit(commands.trace(target, plain=plain, port=port, host=host, app_dir=app_dir, record=record,
                                    show_secrets=show_secrets, history=history, reload=reload,
                                    share=share_on if share else None))


@app.command()
def replay(
    file: Annotated[Path, typer.Argument(help="A JSON Lines trace written with --record.")],
    plain: Plain = False,
    show_secrets: Secrets = False,
) -> None:
    """Show a recorded trace again, without any server.

    [bold]Example[/]

      lifecycle-tracer replay lesson3.jsonl --plain
    """
    raise typer.Exit(commands.replay(file, plain=plain, show_secrets=show_secrets))


@app.command()
def export(
    file: Annotated[Path, typer.Argument(help="A JSON Lines trace written with --record.")],
    format: Annotated[commands.Format, typer.Option("--format", "-f", help="mermaid: a sequence diagram; html: a waterfall page; perfetto: Chrome trace JSON for ui.perfetto.dev and chrome://tracing; otlp: OpenTelemetry JSON for Jaeger, Grafana Tempo or otel-tui; har: an HTTP archive for the DevTools of Chrome and Firefox.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Where to write (default: next to FILE, as .mmd, .html, .perfetto.json, .otlp.json or .har).")] = None,
    request: Annotated[str | None, typer.Option("--request", help="Which request to export, e.g. r2; default: the first for mermaid, all of them for perfetto, otlp and har (html always shows all).")] = None,
    show_secrets: Secrets = False,
) -> None:
    """Export a recorded trace: a Mermaid diagram, an HTML page, or a file Perfetto, OpenTelemetry tools or DevTools open.

    otlp and har place each request by the wall clock it read at its start (older recordings: by the file's time).

    [bold]Examples[/]

      lifecycle-tracer export lesson3.jsonl --format mermaid

      lifecycle-tracer export lesson3.jsonl --format html -o trace.html

      lifecycle-tracer export lesson3.jsonl --format perfetto

      lifecycle-tracer export lesson3.jsonl --format otlp -o traces.json

      lifecycle-tracer export lesson3.jsonl --format har --request r2
    """
    raise typer.Exit(commands.export(file, format, output=output, request=request, show_secrets=show_secrets))


@app.command()
def check(
    path: Annotated[Path | None, typer.Argument(
        help="A lesson file or a folder of lessons (default: your workspace's, or the packaged ones).",
        show_default=False)] = None,
) -> None:
    """Check lesson files for authors: they load, their app imports, every request runs and every check holds.

    Errors name the file and line.

    [bold]Example[/]

      lifecycle-tracer check lessons/
    """
    raise typer.Exit(commands.check(path))


Which = Annotated[int | None, typer.Option("--exercise", help="Which exercise of the lesson (default: the first).",
                                          show_default=False)]


@app.command()
def hint(
    lesson: Annotated[str, typer.Argument(help="The lesson: lesson3, 3, or its name.")],
    exercise: Which = None,
) -> None:
    """Show the next hint for a lesson's exercise: one more each time you ask.

    [bold]Example[/]

      lifecycle-tracer hint lesson2
    """
    raise typer.Exit(learner.hint(lesson, exercise))


@app.command()
def solution(
    lesson: Annotated[str, typer.Argument(help="The lesson: lesson3, 3, or its name.")],
    exercise: Which = None,
) -> None:
    """Show one way to solve a lesson's exercise (try the hints first).

    [bold]Example[/]

      lifecycle-tracer solution lesson2
    """
    raise typer.Exit(learner.solution(lesson, exercise))


@app.command()
def glossary(
    term: Annotated[str | None, typer.Argument(help="One term, e.g. teardown; leave out to see them all.",
                                               show_default=False)] = None,
) -> None:
    """The words this tool uses, each with its one meaning.

    [bold]Example[/]

      lifecycle-tracer glossary threadpool
    """
    raise typer.Exit(learner.glossary(term))


@app.command()
def version() -> None:
    """Print the versions of lifecycle-tracer and FastAPI."""
    raise typer.Exit(commands.version())


from . import tools_cli  # noqa: E402, F401 - registers view, diff and copy, listed after the commands above


def main() -> None:
    from .inputs import survive_any_encoding

    survive_any_encoding()
    app()
