"""A data.gouv.fr (udata API v1) simulator: product code for rehearsals, the demo and integration tests.

Usage::

    sim = DatagouvSimulator()                      # accepts DEMO_API_KEY as user "regate"
    with sim.serve() as server:
        requests.get(f"{server.url}/api/1/me/", headers={"X-API-KEY": DEMO_API_KEY})
"""

from regate_local.datagouv_sim.app import (
    DatagouvSimulator,
    Fault,
    LoggedRequest,
    SimulatorServer,
)
from regate_local.datagouv_sim.catalogue import SchemaCatalogue, default_catalogue
from regate_local.datagouv_sim.portal import (
    DEMO_API_KEY,
    DEMO_ORG_NAME,
    DEMO_ORG_SLUG,
    DEMO_USER,
    SEED_COLLECTIVITES,
    StateError,
)

__all__ = [
    "DEMO_API_KEY",
    "DEMO_ORG_NAME",
    "DEMO_ORG_SLUG",
    "DEMO_USER",
    "SEED_COLLECTIVITES",
    "DatagouvSimulator",
    "Fault",
    "LoggedRequest",
    "SchemaCatalogue",
    "SimulatorServer",
    "StateError",
    "default_catalogue",
]
