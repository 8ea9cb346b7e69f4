"""The commands for apps running elsewhere and for recordings: ``view``, ``diff``, ``copy``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .exits import fail
from .options import Plain, Record, Secrets, app


@app.command()
def view(
    plain: Plain = False,
    port: Annotated[int, typer.Option("--port", help="Port to listen on (LiveSink's default is 47801); 0 picks a free one.")] = 47801,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on; only loopback unless you ask (then apps need the token).")] = "127.0.0.1",
    token: Annotated[str | None, typer.Option("--token", envvar="LIFECYCLE_TRACER_TOKEN", show_envvar=False, help="The token apps must send (default: none on loopback, a new one otherwise), or the shared session's with --follow; also read from $LIFECYCLE_TRACER_TOKEN, which other users cannot read with ps.")] = None,
    record: Record = None,
    follow: Annotated[str | None, typer.Option("--follow", help="Follow a shared session (run/trace --share) at HOST:PORT instead, read-only.")] = None,
    web: Annotated[bool, typer.Option("--web", help="With --follow: serve the follower's TUI in a browser (textual-serve).")] = False,
) -> None:
    """Show the requests of apps that run elsewhere (your own uvicorn, fastapi dev, several workers).

    In the app: instrument(app, sink=LiveSink()).

    The app never waits for the viewer: with none listening, or one that cannot keep up, it drops events (whole requests) and counts them.

    Start the viewer before or after the app; it survives the app's restarts (--reload).

    [bold]Examples[/]

      lifecycle-tracer view

      lifecycle-tracer view --plain --record live.jsonl

      lifecycle-tracer view --follow 192.168.1.20:47802 --token abc123     (an instructor's --share)
    """
    from .commands import _tui_wanted
    from .view import view as run_view

    raise typer.Exit(run_view(plain=plain, host=host, port=port, token=token, record=record,
                              tui=_tui_wanted(plain), follow=follow, web=web))


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
    from .recorded_tools import diff as run_diff

    raise typer.Exit(run_diff(file, first, second, show_secrets=show_secrets))


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
    from .recorded_tools import copy as run_copy

    if as_what not in ("curl", "httpx"):
        raise typer.Exit(fail(f"--as takes curl or httpx, not {as_what!r}."))
    raise typer.Exit(run_copy(file, request, as_what=as_what, base=base, show_secrets=show_secrets))
