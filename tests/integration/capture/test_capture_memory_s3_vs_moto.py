"""The in-memory S3 stand-in of the capture bench (``regate_local.s3_memory``) against moto: the same capture
scenario leaves the same objects, bytes, sha256 metadata and version counts in both."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
import requests

from regate.capture.pull import CaptureOptions, run_capture
from regate.clock import FakeClock
from regate.http.retry import RetryingSession, RetryPolicy
from regate.pastell.client import PastellAuth, PastellClient
from regate.storage import ObjectStore, layout
from regate_local.s3_memory import MemoryS3

pytestmark = pytest.mark.integration

ENTITES = ("13", "14")
FLUXES = ("deliberations-studio", "actes-generique", "autres-studio-sans-tdt")


def scenario(store: ObjectStore) -> dict[str, tuple[bytes, int]]:
    """Capture with reconciliation, a cancellation and a deletion, a second run: what the bucket holds."""
    from regate_local.pastell_sim import DEMO_LOGIN, DEMO_PASSWORD, PastellSimulator

    sim = PastellSimulator()
    clock = FakeClock(datetime(2026, 1, 10, 9, 0, tzinfo=UTC))
    options = CaptureOptions(
        flux=FLUXES, flux_sans_tdt=("autres-studio-sans-tdt",), entites=ENTITES, page_size=3, reconcile=True
    )
    with sim.serve() as server:
        policy = RetryPolicy(max_attempts=2, backoff_base=0.0, backoff_max=0.0, timeout=10)
        client = PastellClient(
            server.url,
            PastellAuth(DEMO_LOGIN, DEMO_PASSWORD),
            RetryingSession(policy, requests.Session(), clock),
        )
        first = run_capture(client, store, clock, options)
        assert first.captured and not first.errors
        ids = sorted(i.id_d for i in first.captured if i.id_e == "13")
        sim.cancel("13", ids[0], "2026-01-10 11:00:00")
        sim.delete("13", ids[1], "2026-01-10 11:00:00")
        clock.sleep(7200)  # the second run starts after both changes
        second = run_capture(client, store, clock, options)
        assert any(r.id_d == ids[1] for r in second.removed), second
    held: dict[str, tuple[bytes, int]] = {}
    for key in store.list_keys(""):
        head, body = store.head(key), store.get_bytes(key)
        assert head is not None and head["Metadata"]["sha256"] == hashlib.sha256(body).hexdigest()
        # Envelopes name the Pastell origin: each scenario has its own simulator port.
        held[key] = (body.replace(server.url.encode(), b"ORIGIN"), len(store.list_versions(key)))
    assert layout.watermark_key("13", FLUXES[0]) in held
    return held


def test_the_memory_stand_in_holds_what_moto_holds_after_the_same_capture(raw_store):
    memory = MemoryS3()
    memory.create_bucket(Bucket="bench")
    assert scenario(ObjectStore(memory, "bench")) == scenario(raw_store)
