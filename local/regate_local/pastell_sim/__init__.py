"""A faithful local simulator of the Pastell REST API v2 (routes, filters, errors, rights, 429).

Used by the demo, the integration tests and operators rehearsing a harvest; the production client is
tested against it, so it reproduces the platform's quirks rather than an idealised API. The seed format
is documented in ``README.md`` next to this file.

    sim = PastellSimulator()                       # default Breton seed
    with sim.serve(host="127.0.0.1", port=0) as server:
        requests.get(server.url + "/api/v2/entite", auth=(DEMO_LOGIN, DEMO_PASSWORD))
"""

from regate_local.pastell_sim.seed import PastellSeed, SeedError, default_seed, load_seed, parse_seed
from regate_local.pastell_sim.simulator import (
    LoginRateLimiter,
    PastellSimulator,
    RequestLogEntry,
    SimulatorServer,
)

DEMO_LOGIN = "regate"
DEMO_PASSWORD = "regate-demo"
DEMO_TOKEN = "regate-demo-token"
READONLY_LOGIN = "lecteur"
READONLY_PASSWORD = "lecteur-demo"

__all__ = [
    "DEMO_LOGIN",
    "DEMO_PASSWORD",
    "DEMO_TOKEN",
    "READONLY_LOGIN",
    "READONLY_PASSWORD",
    "LoginRateLimiter",
    "PastellSeed",
    "PastellSimulator",
    "RequestLogEntry",
    "SeedError",
    "SimulatorServer",
    "default_seed",
    "load_seed",
    "parse_seed",
]
