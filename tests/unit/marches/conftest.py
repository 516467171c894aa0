"""Fixtures of the marchés publics unit tests: records read from tests/fixtures/marches."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "marches"
TODAY = date(2025, 6, 1)


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture()
def marche() -> dict[str, Any]:
    return copy.deepcopy(load("marche_valide.json"))


@pytest.fixture()
def concession() -> dict[str, Any]:
    return copy.deepcopy(load("concession_valide.json"))


@pytest.fixture()
def fixtures_dir() -> Path:
    return FIXTURES
