"""The Atexo SDM simulator on loopback, one fake clock shared by the simulator, the client and the capture."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from regate.clock import FakeClock
from regate.http.retry import RetryingSession, RetryPolicy
from regate.profil_acheteur.atexo import AtexoClient, AtexoCredentials
from regate_local.atexo_sim import DEMO_LOGIN, DEMO_PASSWORD, AtexoSimulator


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock(datetime(2024, 9, 10, 7, 30, tzinfo=UTC))


@pytest.fixture()
def sim_factory(clock: FakeClock) -> Iterator[Callable[..., tuple[AtexoSimulator, str]]]:
    servers = []

    def make(**options: Any) -> tuple[AtexoSimulator, str]:
        sim = AtexoSimulator(clock=clock, **options)
        server = sim.serve(port=0)
        servers.append(server)
        return sim, server.url

    yield make
    for server in servers:
        server.close()


@pytest.fixture()
def sim(sim_factory) -> tuple[AtexoSimulator, str]:
    return sim_factory()


@pytest.fixture()
def client_factory(clock: FakeClock) -> Callable[..., AtexoClient]:
    def make(url: str, login: str = DEMO_LOGIN, password: str = DEMO_PASSWORD, **options: Any) -> AtexoClient:
        policy = RetryPolicy(
            max_attempts=4, backoff_base=0.01, backoff_max=0.05, max_retry_after=30, timeout=10
        )
        session = RetryingSession(policy, clock=clock)
        return AtexoClient(url, AtexoCredentials(login, password), session, clock, **options)

    return make
