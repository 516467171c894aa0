"""``regate sim atexo``: serve the Atexo SDM simulator until Ctrl-C. Registration is one line::

sim_app.command("atexo")(regate_local.atexo_sim.cli.command)
"""

from __future__ import annotations

import threading
from datetime import date, datetime, time
from typing import Annotated

import typer
from rich.console import Console

from regate.clock import PARIS, Clock, SystemClock
from regate_local.atexo_sim.generator import Defects
from regate_local.atexo_sim.simulator import DEMO_LOGIN, DEMO_PASSWORD, EXPORT_PATH, AtexoSimulator


class _FrozenDay:
    """A clock stopped at noon (Paris) of a given day, for reproducible rehearsals."""

    def __init__(self, day: date) -> None:
        self._now = datetime.combine(day, time(12, 0), tzinfo=PARIS)

    def now(self) -> datetime:
        return self._now

    def sleep(self, seconds: float) -> None:
        """Nothing waits on a frozen day."""


def run(
    host: str = "127.0.0.1",
    port: int = 8083,
    *,
    today: date | None = None,
    seed: int = 2024,
    per_month: int = 3,
    invalid: float = 0.0,
    latency_ms: int = 0,
) -> None:
    """Print the URL and credentials, then serve until Ctrl-C."""
    console = Console(soft_wrap=True)
    clock: Clock = _FrozenDay(today) if today else SystemClock()
    sim = AtexoSimulator(
        clock=clock, seed=seed, per_month=per_month, defects=Defects(invalid=invalid), latency_ms=latency_ms
    )
    with sim.serve(host=host, port=port) as server:
        console.print(
            f"Atexo SDM simulator on [bold]{server.url}[/bold] "
            f"({len(sim.buyers)} acheteurs, {len(sim.contracts)} contrats, jour {sim.today})"
        )
        console.print(
            f"  Jeton  : GET {server.url}/api.php/ws/authentification/connexion/{DEMO_LOGIN}/{DEMO_PASSWORD}"
        )
        console.print(
            f"  Export : POST {server.url}{EXPORT_PATH}  "
            "(token, format=json, siren, date_notif_min/max JJ-MM-AAAA)"
        )
        for buyer in sim.buyers:
            flag = " (SIRET fictif)" if buyer.siret_fictif else f" ({buyer.siret_source})"
            console.print(f"  {buyer.siren}  {buyer.nom}  {buyer.siret}{flag}")
        console.print("Ctrl-C to stop.")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            console.print("stopped")


def command(
    port: Annotated[int, typer.Option(help="Port to listen on (loopback)")] = 8083,
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    today: Annotated[
        str | None, typer.Option(help="Freeze the simulator's day (YYYY-MM-DD); default: today")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generated contracts")] = 2024,
    per_month: Annotated[int, typer.Option(help="Contracts per buyer and month")] = 3,
    invalid: Annotated[float, typer.Option(help="Share of genuinely invalid records (0–1)")] = 0.0,
    latency_ms: Annotated[int, typer.Option(help="Added latency per request, in milliseconds")] = 0,
) -> None:
    """Serve an Atexo « salle des marchés » DECP API simulator (token, monthly export, real defects)."""
    day = date.fromisoformat(today) if today else None
    run(host, port, today=day, seed=seed, per_month=per_month, invalid=invalid, latency_ms=latency_ms)
