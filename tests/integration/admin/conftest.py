"""Fixtures of the back-office tests: buckets on moto, acts normalised by the real chain, the write API."""

from __future__ import annotations

from typing import Any

import pytest
from admin_scenario import Caller, normalise, seed_raw

from regate.admin.app import build_admin_services, create_admin_app


@pytest.fixture()
def chain(settings, raw_store, curated_store, tmp_path) -> dict[str, Any]:
    """Raw acts → normalised records and internal Parquet; settings with a private cache dir."""
    settings = settings.model_copy(update={"api_cache_dir": str(tmp_path / "cache")})
    seed_raw(raw_store)
    report = normalise(raw_store, curated_store, settings)
    return {"settings": settings, "raw": raw_store, "curated": curated_store, "report": report}


@pytest.fixture()
def admin(chain, s3_client) -> Caller:
    services = build_admin_services(chain["settings"], s3_client)
    return Caller(create_admin_app(services))
