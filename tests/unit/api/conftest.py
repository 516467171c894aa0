"""Unit-test fixtures of the API."""

from __future__ import annotations

import pytest
from api_memory_store import MemoryStore


@pytest.fixture()
def memory_store() -> MemoryStore:
    return MemoryStore()
