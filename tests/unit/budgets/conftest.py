"""Paths shared by the budgets unit tests (fixtures only: no imports between test modules)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "budgets"
SAMPLES = REPO.parent / "shared" / "reference" / "budget" / "totem-exemples"


@pytest.fixture(scope="session")
def budget_fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def totem_samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.fail(
            f"{SAMPLES} missing: the shared reference folder (../shared) must be next to the repository"
        )
    return SAMPLES
