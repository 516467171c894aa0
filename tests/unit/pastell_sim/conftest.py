"""Fixtures of the simulator unit tests (helpers live in pastell_sim_helpers.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pastell_sim_helpers import SMALL_SEED

from regate.clock import FakeClock
from regate_local.pastell_sim import PastellSimulator, parse_seed


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock(datetime(2024, 6, 1, 10, 0, tzinfo=UTC))


@pytest.fixture()
def small_sim(clock: FakeClock) -> PastellSimulator:
    return PastellSimulator(seed=parse_seed(json.dumps(SMALL_SEED)), clock=clock)


@pytest.fixture(scope="module")
def default_sim() -> PastellSimulator:
    return PastellSimulator()
