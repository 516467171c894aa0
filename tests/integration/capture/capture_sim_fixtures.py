"""Fixtures of the capture integration tests: the Pastell simulator over HTTP, a client, a capture runner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from regate.capture.pull import CaptureOptions, run_capture
from regate.capture.report import RunReport
from regate.clock import FakeClock
from regate.http.retry import RetryingSession, RetryPolicy
from regate.pastell.client import PastellAuth, PastellClient

ENTITE = "13"  # Ville de Rennes in the default seed: 8 acknowledged deliberations, one acknowledged twice
FLUX = "deliberations-studio"


@pytest.fixture()
def sim():
    from regate_local.pastell_sim import PastellSimulator

    return PastellSimulator(latency_ms=0)


@pytest.fixture()
def sim_url(sim) -> Iterator[str]:
    with sim.serve(host="127.0.0.1", port=0) as server:
        yield server.url


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 1, 10, 9, 0, tzinfo=UTC))


@pytest.fixture()
def make_client(sim_url: str, clock: FakeClock) -> Callable[..., PastellClient]:
    from regate_local.pastell_sim import DEMO_LOGIN, DEMO_PASSWORD

    def build(auth: PastellAuth | None = None, attempts: int = 3) -> PastellClient:
        policy = RetryPolicy(max_attempts=attempts, backoff_base=0.0, backoff_max=0.0, timeout=10)
        session = RetryingSession(policy, requests.Session(), clock)
        return PastellClient(sim_url, auth or PastellAuth(DEMO_LOGIN, DEMO_PASSWORD), session)

    return build


@pytest.fixture()
def capture(make_client, raw_store, clock) -> Callable[..., RunReport]:
    """Run a pull capture narrowed to one entity and flux by default (keeps the tests fast)."""

    def run(client: PastellClient | None = None, **options: Any) -> RunReport:
        values: dict[str, Any] = {"flux": (FLUX,), "entites": (ENTITE,), "concurrency": 4, "page_size": 3}
        values.update(options)
        return run_capture(client or make_client(), raw_store, clock, CaptureOptions(**values))

    return run


def all_versions(store) -> list[tuple[str, str]]:
    """Every (key, version id) of the bucket: equal before/after ⇒ nothing was written."""
    paginator = store.client.get_paginator("list_object_versions")
    found = []
    for page in paginator.paginate(Bucket=store.bucket):
        found += [(v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
        found += [(m["Key"], m["VersionId"]) for m in page.get("DeleteMarkers", [])]
    return sorted(found)
