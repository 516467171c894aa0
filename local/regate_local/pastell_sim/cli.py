"""``regate sim pastell``: serve the simulator until Ctrl-C (operators rehearse a harvest against it)."""

from __future__ import annotations

import threading
from pathlib import Path

from rich.console import Console

from regate_local.pastell_sim import DEMO_LOGIN, DEMO_PASSWORD, DEMO_TOKEN, READONLY_LOGIN, READONLY_PASSWORD
from regate_local.pastell_sim.seed import SeedError, default_seed, load_seed
from regate_local.pastell_sim.simulator import PastellSimulator


def run(host: str, port: int, seed: Path | None, latency_ms: int) -> None:
    """Load the seed (a bad one stops here with its message), print URL and credentials, serve."""
    console = Console(soft_wrap=True)
    try:
        model = load_seed(seed) if seed is not None else default_seed()
    except SeedError as exc:
        console.print(f"[red]{exc}[/red]")
        raise SystemExit(2) from exc
    sim = PastellSimulator(seed=model, latency_ms=latency_ms)
    with sim.serve(host=host, port=port) as server:
        entities = len(model.entities)
        documents = len(model.documents)
        console.print(
            f"Pastell API v2 simulator on [bold]{server.url}/api/v2/[/bold] ({entities} entités, "
            f"{documents} documents, latency {latency_ms} ms)"
        )
        console.print(f"  Basic  : {DEMO_LOGIN} / {DEMO_PASSWORD}   (lecture + édition)")
        console.print(f"  Bearer : {DEMO_TOKEN}")
        console.print(
            f"  Basic  : {READONLY_LOGIN} / {READONLY_PASSWORD}   (lecture seule: 403 on detail/files)"
        )
        console.print("Ctrl-C to stop.")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            console.print("stopped")
