"""The ``lifecycle-tracer`` Typer app and the options its commands share (``app.py``, ``tools_cli.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
Share = Annotated[bool, typer.Option("--share", help="Let attendees follow this session, read-only, with `view --follow` (the command to give them is shown in the title).")]
ShareOn = Annotated[str, typer.Option("--share-on", help="With --share: HOST:PORT to share on; 0.0.0.0:PORT for other machines (a token is always asked).")]
