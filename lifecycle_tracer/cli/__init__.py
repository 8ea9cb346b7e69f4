"""The command line: parsing in ``app``, what each command does in ``commands``."""

from .app import main

__all__ = ["main"]
