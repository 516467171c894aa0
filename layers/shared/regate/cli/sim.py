"""``regate sim pastell`` and ``regate sim datagouv``: local simulators of the outside services."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(sim_app: typer.Typer) -> None:
    @sim_app.command("pastell")
    def sim_pastell(
        port: Annotated[int, typer.Option(help="Port to listen on (loopback)")] = 8081,
        host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
        seed: Annotated[
            Path | None,
            typer.Option(
                help="Seed file (JSON: entities, documents, accounts); default: the embedded Breton seed"
            ),
        ] = None,
        latency_ms: Annotated[int, typer.Option(help="Added latency per request, in milliseconds")] = 0,
    ) -> None:
        """Serve a Pastell REST API v2 simulator (routes, filters, errors, rights, 429) until Ctrl-C."""
        from regate.cli.kit import kit_command

        kit_command("sim_pastell", "sim pastell")(host=host, port=port, seed=seed, latency_ms=latency_ms)

    @sim_app.command("datagouv")
    def sim_datagouv(
        port: Annotated[int, typer.Option(help="Port to listen on (loopback)")] = 8082,
        host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
        api_key: Annotated[str, typer.Option(help="The API key the simulator accepts")] = "regate-demo-key",
        state: Annotated[
            Path | None, typer.Option(help="JSON file to load/save the portal state (datasets, resources)")
        ] = None,
    ) -> None:
        """Serve a data.gouv.fr (udata API v1) simulator until Ctrl-C."""
        from regate.cli.kit import kit_command

        kit_command("sim_datagouv", "sim datagouv")(host=host, port=port, api_key=api_key, state=state)
