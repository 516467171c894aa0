"""(entity, flux) listings run concurrently, bounded by REGATE_PASTELL_LISTING_CONCURRENCY, and change
nothing a run writes: same objects, same watermarks, one failing pair contained — simulator, moto S3."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from capture_sim_fixtures import ENTITE

from regate.capture.pull import CaptureOptions, run_capture
from regate.capture.watermark import load_watermark
from regate.pastell.client import PastellError
from regate.settings import Settings

pytestmark = pytest.mark.integration

OTHER = "14"
FLUXES = ("deliberations-studio", "actes-generique", "actes-reglementaires-studio", "autres-studio")
FAILING = (OTHER, "deliberations-studio")


def options(**changes: Any) -> CaptureOptions:
    values: dict[str, Any] = {
        "flux": FLUXES,
        "entites": (ENTITE, OTHER),
        "concurrency": 4,
        "listing_concurrency": 4,
        "page_size": 3,
        "reconcile": False,
    }
    values.update(changes)
    return CaptureOptions(**values)


class ListingProbe:
    """Wraps ``client.iter_documents``: counts listings in flight; can fail one pair after its first row."""

    def __init__(self, client, fail: tuple[str, str] | None = None, hold_seconds: float = 0.0) -> None:
        self.inner = client.iter_documents
        self.fail = fail
        self.hold_seconds = hold_seconds
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.listings = 0
        self.first_start = self.last_end = 0.0
        client.iter_documents = self

    def __call__(self, id_e: str, flux: str, *args: Any, **kwargs: Any):
        with self.lock:
            self.in_flight += 1
            self.listings += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.first_start = self.first_start or time.perf_counter()
        try:
            time.sleep(self.hold_seconds)  # a slow listing: overlaps show whether pairs run at once
            for n, row in enumerate(self.inner(id_e, flux, *args, **kwargs)):
                if (id_e, flux) == self.fail and n == 1:
                    raise PastellError("listing broke after its first row (test)", status=500)
                yield row
        finally:
            with self.lock:
                self.in_flight -= 1
                self.last_end = time.perf_counter()


def all_objects(store) -> dict[str, bytes]:
    return {key: store.get_bytes(key) for key in sorted(store.list_keys(""))}


def test_the_setting_reads_its_variable(monkeypatch):
    monkeypatch.setenv("REGATE_PASTELL_LISTING_CONCURRENCY", "12")
    settings = Settings()
    assert settings.pastell_listing_concurrency == 12
    assert CaptureOptions.from_settings(settings).listing_concurrency == 12
    monkeypatch.setenv("REGATE_PASTELL_LISTING_CONCURRENCY", "0")
    with pytest.raises(ValueError):
        Settings()


@pytest.mark.parametrize("bound", [1, 3])
def test_pairs_are_listed_concurrently_up_to_the_bound(sim, make_client, raw_store, clock, bound):
    client = make_client()
    probe = ListingProbe(client, hold_seconds=0.05)
    report = run_capture(client, raw_store, clock, options(listing_concurrency=bound))
    assert not report.errors, report.errors
    pairs = 2 * len(FLUXES)
    assert probe.listings >= pairs * 2  # the harvested state and the later transitions of every pair
    assert probe.max_in_flight == bound  # reached (8 pairs, 50 ms each) and never exceeded
    if bound == 1:  # one at a time: at least listings × 50 ms (a lower bound: load cannot make it flaky)
        assert probe.last_end - probe.first_start >= probe.listings * 0.05
    # the speed-up itself is measured in bench/ (`python -m bench capture`), not asserted on wall time here:
    # max_in_flight == bound already proves the listings overlap


def test_a_failing_pair_is_contained_and_keeps_its_watermark(sim, make_client, raw_store, clock):
    client = make_client()
    ListingProbe(client, fail=FAILING)
    report = run_capture(client, raw_store, clock, options(listing_concurrency=8))

    assert {(e.id_e, e.flux, e.reason) for e in report.errors} == {(*FAILING, "erreur_serveur")}
    assert load_watermark(raw_store, *FAILING) is None  # never passes the failed listing
    for id_e in (ENTITE, OTHER):
        for flux in FLUXES:
            if (id_e, flux) != FAILING:
                mark = load_watermark(raw_store, id_e, flux)
                assert mark is not None and mark.high_water == "2026-01-10 10:00:00", (id_e, flux)
    assert {c.id_e for c in report.captured} == {ENTITE, OTHER}  # the others went on
    # The rows read before the failure are captured; the next run lists the pair's window again.
    second = run_capture(make_client(), raw_store, clock, options(listing_concurrency=8))
    assert not second.errors
    assert load_watermark(raw_store, *FAILING) is not None


def test_concurrent_listings_write_exactly_what_a_sequential_run_writes(
    sim, make_client, raw_store, curated_store, clock
):
    sequential = run_capture(
        make_client(), raw_store, clock, options(concurrency=1, listing_concurrency=1, reconcile=True)
    )
    concurrent = run_capture(
        make_client(), curated_store, clock, options(concurrency=8, listing_concurrency=8, reconcile=True)
    )
    assert not sequential.errors and sequential.captured
    assert concurrent.as_dict() == sequential.as_dict()
    assert all_objects(curated_store) == all_objects(raw_store)  # watermarks, envelopes, files, index, report
    marks = [load_watermark(curated_store, e, f) for e in (ENTITE, OTHER) for f in FLUXES]
    assert all(m is not None for m in marks)


def test_documents_start_while_other_pairs_are_still_listed(sim, make_client, raw_store, clock):
    client = make_client()
    probe = ListingProbe(client, hold_seconds=0.05)
    details: list[float] = []
    inner = client.detail_raw

    def detail_raw(id_e: str, id_d: str):
        details.append(time.perf_counter())
        return inner(id_e, id_d)

    client.detail_raw = detail_raw
    report = run_capture(client, raw_store, clock, options(listing_concurrency=2, concurrency=4))
    assert not report.errors and report.captured
    assert min(details) < probe.last_end  # pipelined: no barrier between listings and documents


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_document_first_seen_by_a_transition_then_by_reconciliation_is_captured(
    sim, make_client, raw_store, clock, concurrency
):
    """The held-only re-read finds nothing held; the reconciliation's listed row must still run."""
    flux = FLUXES[0]
    run_capture(make_client(), raw_store, clock, options(flux=(flux,), entites=(ENTITE,), since="2025-01-01"))
    missed = sorted(
        d.id_d
        for d in sim.platform.documents.values()
        if d.id_e == ENTITE
        and d.type == flux
        and min((h.date for h in d.history if h.action == "acquiter-tdt"), default="9") < "2025-01-01"
    )
    assert missed
    sim.transition(ENTITE, missed[0], "modification", at="2026-01-10 09:30:00")
    report = run_capture(
        make_client(),
        raw_store,
        clock,
        options(flux=(flux,), entites=(ENTITE,), reconcile=True, concurrency=concurrency),
    )
    assert not report.errors
    assert sorted(i.id_d for i in report.captured) == missed  # each once
    assert raw_store.exists(f"pastell/{ENTITE}/{missed[0]}/detail.json")
