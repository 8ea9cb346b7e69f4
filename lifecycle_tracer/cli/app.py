"""The ``lifecycle-tracer`` command: argument parsing only; the work is in ``commands``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import commands, learner

app = typer.Typer(
    help="See how FastAPI handles a request, stage by stage.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

Plain = Annotated[bool, typer.Option("--plain", help="Print to the terminal with rich instead of opening the TUI.")]
Secrets = Annotated[bool, typer.Option("--show-secrets", help="Show secrets (credentials, cookies, secret-named fields; see What is hidden in the README) instead of hiding them.")]
Port = Annotated[int | None, typer.Option("--port", help="Port on 127.0.0.1 (default: a free one).")]
# Ranges, folders and the like are checked in ``commands``, so each gets the same one-line "Error:" as every other bad input.
HistorySize = Annotated[int, typer.Option("--history", help="How many requests the TUI keeps (at least 10); older ones are dropped.")]
Record = Annotated[Path | None, typer.Option("--record", help="Also write every event to this JSON Lines file.")]


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
                                  watch=watch))


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
) -> None:
    """Trace your own app: serve it on 127.0.0.1 and show every request live.

    Send it requests with a browser, curl or httpie while it runs; q quits the TUI, Ctrl+C stops --plain.

    [bold]Examples[/]

      lifecycle-tracer trace            (in a folder with main.py, as fastapi dev)

      lifecycle-tracer trace main:app

      lifecycle-tracer trace myproject.api:app --port 9000 --record api.jsonl
    """
    raise typer.Exit(commands.trace(target, plain=plain, port=port, host=host, app_dir=app_dir, record=record,
                                    show_secrets=show_secrets, history=history))


@app.command()
def view(
    plain: Plain = False,
    port: Annotated[int, typer.Option("--port", help="Port to listen on (LiveSink's default is 47801).")] = 47801,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on; only loopback unless you ask (then apps need the token).")] = "127.0.0.1",
    token: Annotated[str | None, typer.Option("--token", help="The token apps must send (default: none on loopback, a new one otherwise).")] = None,
    record: Record = None,
) -> None:
    """Show the requests of apps that run elsewhere (your own uvicorn, fastapi dev, several workers).

    In the app: instrument(app, sink=LiveSink()). The app never waits for the viewer: with none listening,
    or one that cannot keep up, it drops events (whole requests) and counts them. Start the viewer before or
    after the app; it survives the app's restarts (--reload).

    [bold]Examples[/]

      lifecycle-tracer view

      lifecycle-tracer view --plain --record live.jsonl
    """
    from .view import view as run_view

    raise typer.Exit(run_view(plain=plain, host=host, port=port, token=token, record=record,
                              tui=commands._tui_wanted(plain)))


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
def diff(
    file: Annotated[Path, typer.Argument(help="A JSON Lines trace written with --record.")],
    first: Annotated[str, typer.Argument(help="A request id in it, e.g. r3.")],
    second: Annotated[str, typer.Argument(help="Another request id, e.g. r7.")],
    show_secrets: Secrets = False,
) -> None:
    """Two recorded requests side by side, stage by stage; the rows that differ are marked ≠.

    [bold]Example[/]

      lifecycle-tracer diff lesson4.jsonl r1 r2
    """
    from . import recorded_tools

    raise typer.Exit(recorded_tools.diff(file, first, second, show_secrets=show_secrets))


@app.command(name="copy")
def copy_request(
    file: Annotated[Path, typer.Argument(help="A JSON Lines trace written with --record.")],
    request: Annotated[str, typer.Argument(help="A request id in it, e.g. r3.")],
    as_what: Annotated[str, typer.Option("--as", help="curl (default) or httpx.")] = "curl",
    base: Annotated[str | None, typer.Option("--base", help="The server to send it to (default: the request's Host header).")] = None,
    show_secrets: Secrets = False,
) -> None:
    """Print a recorded request as a curl command or an httpx snippet, to send it again.

    What the trace does not hold (a body no parameter read, a hidden secret) is said in a comment, never guessed.

    [bold]Examples[/]

      lifecycle-tracer copy lesson4.jsonl r2

      lifecycle-tracer copy lesson4.jsonl r2 --as httpx --base http://127.0.0.1:8000
    """
    from . import recorded_tools

    if as_what not in ("curl", "httpx"):
        raise typer.Exit(commands.fail(f"--as takes curl or httpx, not {as_what!r}."))
    raise typer.Exit(recorded_tools.copy(file, request, as_what=as_what, base=base, show_secrets=show_secrets))


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


def main() -> None:
    from .inputs import survive_any_encoding

    survive_any_encoding()
    app()
