"""Simulator of the Atexo « salle des marchés » DECP API (rehearsal kit; never in the Lambda layer)."""

from regate_local.atexo_sim.generator import Buyer, Contract, Defects, load_buyers
from regate_local.atexo_sim.server import LoopbackServer
from regate_local.atexo_sim.simulator import DEMO_LOGIN, DEMO_PASSWORD, AtexoSimulator, RequestLogEntry

__all__ = [
    "DEMO_LOGIN",
    "DEMO_PASSWORD",
    "AtexoSimulator",
    "Buyer",
    "Contract",
    "Defects",
    "LoopbackServer",
    "RequestLogEntry",
    "load_buyers",
]
