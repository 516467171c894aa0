"""``regate demo``: the whole chain locally (moto S3 + simulators + real handlers), then the API."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        serve: Annotated[
            bool, typer.Option("--serve/--no-serve", help="Serve the API after the chain (default) or exit")
        ] = True,
        port: Annotated[int, typer.Option(help="Port of the API on 127.0.0.1")] = 8000,
        host: Annotated[str, typer.Option(help="Address the API binds to")] = "127.0.0.1",
    ) -> None:
        """Run capture → normalise → publish on loopback, print what happened and where to look.

        Starts moto's S3 server, the Pastell simulator (Breton seed) and the data.gouv.fr simulator, runs the
        real Lambda handlers with S3 events delivered as in production, prints a summary (French and English)
        and the URLs to open, then serves the API on http://127.0.0.1:8000. With `--no-serve` it exits after
        the chain: exit code 0 only when every stage succeeded.
        """
        from regate.cli.kit import kit_command

        raise typer.Exit(kit_command("demo", "demo")(serve=serve, host=host, port=port))
