"""The ``lifecycle-tracer`` command."""

from __future__ import annotations

import typer

app = typer.Typer(help="See how FastAPI handles a request, stage by stage.", no_args_is_help=True)


@app.command()
def version() -> None:
    """Print the version."""
    from . import __version__

    typer.echo(__version__)


def main() -> None:
    app()
