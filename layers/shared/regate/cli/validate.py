"""`regate` subcommands: validate (registered by :mod:`regate.cli.main`)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach this module's commands to app (filled in by the owner of this stage)."""
