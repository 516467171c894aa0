"""``regate sim datagouv``: serve the data.gouv.fr simulator until Ctrl-C, optionally persisting its state."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

from rich.console import Console

from regate_local.datagouv_sim.app import DatagouvSimulator, SimulatorServer
from regate_local.datagouv_sim.portal import DEMO_USER, StateError


def load_simulator(api_key: str, state: Path | None) -> DatagouvSimulator:
    """A simulator accepting ``api_key`` (user ``regate``), resumed from ``state`` when that file exists."""
    keys = {api_key: DEMO_USER}
    if state is not None and state.exists():
        try:
            return DatagouvSimulator.from_state_json(state.read_bytes(), keys)
        except StateError as exc:
            raise SystemExit(f"cannot load {state}: {exc}") from exc
    return DatagouvSimulator(keys)


def save_state(sim: DatagouvSimulator, state: Path) -> None:
    """Write atomically (temp file + rename): an interrupted save never leaves half a state file."""
    state.parent.mkdir(parents=True, exist_ok=True)
    tmp = state.with_name(state.name + ".tmp")
    tmp.write_text(sim.state_json(), encoding="utf-8")
    tmp.replace(state)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def stop_on_signals() -> None:
    """Ctrl-C and SIGTERM (``kill``, ``timeout``, containers) both stop the server cleanly so the state is
    saved; SIGINT is re-armed because shells start background jobs with it ignored."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _interrupt)
        signal.signal(signal.SIGTERM, _interrupt)


def run(host: str, port: int, api_key: str, state: Path | None) -> None:
    """Serve until Ctrl-C; print the URL, the key and the organisation ids operators need."""
    console = Console()
    sim = load_simulator(api_key, state)
    server = SimulatorServer(sim, host, port, access_log=True)  # operators watch the calls go by
    console.print(f"[bold]data.gouv.fr simulator[/bold] on {server.url}  (API: {server.url}/api/1/)")
    console.print(f"API key (X-API-KEY): {api_key}   user: {DEMO_USER}")
    for org in sim.organizations():
        member = any(m["user"]["slug"] == DEMO_USER for m in org["members"])
        siret = org.get("business_number_id") or "-"
        console.print(f"  organisation {org['id']}  {org['slug']:<32} SIRET {siret:<14}  member={member}")
    if state is not None:
        console.print(f"state file: {state} (saved on exit)")
    console.print("Ctrl-C to stop.")
    stop_on_signals()
    try:
        server.serve_forever()
    finally:
        if state is not None:
            save_state(sim, state)
            console.print(f"state saved to {state}")
