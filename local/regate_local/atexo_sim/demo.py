"""The marchés piece of ``regate demo``: the Atexo SDM simulator on loopback, and the settings that point the
marchés stage at it. Reached by the product through the ``regate.demo`` entry point ``atexo_simulator``
(the product never imports the kit by name)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import SecretStr

from regate.settings import Settings
from regate_local.atexo_sim.generator import Defects
from regate_local.atexo_sim.simulator import DEMO_LOGIN, DEMO_PASSWORD, AtexoSimulator

#: a share of genuinely invalid records, so the demo shows the quarantine and its reasons
DEMO_INVALID_SHARE = 0.1
DEMO_PLATEFORME = "atexo-demo"


@contextmanager
def atexo_simulator(settings: Settings, **options: Any) -> Iterator[tuple[Settings, AtexoSimulator, str]]:
    """Serve the simulator (seeded Breton buyers, the real export's defects, a few invalid records); yield the
    settings of the marchés stage pointed at it, the simulator and its URL."""
    options.setdefault("defects", Defects(invalid=DEMO_INVALID_SHARE, duplicates=True))
    sim = AtexoSimulator(**options)
    with sim.serve(host="127.0.0.1", port=0) as server:
        yield (
            settings.model_copy(
                update={
                    "atexo_url": server.url,
                    "atexo_login": DEMO_LOGIN,
                    "atexo_password": SecretStr(DEMO_PASSWORD),
                    "atexo_plateforme": DEMO_PLATEFORME,
                    "atexo_sirens": tuple(buyer.siren for buyer in sim.buyers),
                }
            ),
            sim,
            server.url,
        )
