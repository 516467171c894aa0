"""Pull capture end to end: Pastell simulator over HTTP → client → raw bucket on moto."""

from __future__ import annotations

import hashlib
import json

import pytest
from capture_sim_fixtures import ENTITE, FLUX, all_versions

from regate.capture.envelope import RawDocument
from regate.pastell.client import PastellAuth
from regate.storage import layout

pytestmark = pytest.mark.integration


def acknowledged_ids(sim, id_e=ENTITE, flux=FLUX):
    return sorted(
        d.id_d
        for d in sim.platform.documents.values()
        if d.id_e == id_e and d.type == flux and any(h.action == "acquiter-tdt" for h in d.history)
    )


def load(raw_store, id_e, id_d) -> RawDocument:
    return RawDocument.model_validate_json(raw_store.get_bytes(layout.document_detail_key(id_e, id_d)))


def routes(sim) -> dict[str, int]:
    """Calls by route kind: ``list``, ``detail``, ``file`` or the path itself."""
    counts: dict[str, int] = {}
    for entry in sim.request_log:
        parts = entry.path.split("/")  # "", api, v2, entite, {id_e}, document, {id_d}, file, …
        kind = entry.path
        if len(parts) >= 6 and parts[3] == "entite" and parts[5] == "document":
            kind = {6: "list", 7: "detail"}.get(len(parts), "file" if "file" in parts else entry.path)
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def test_full_capture_stores_documents_files_envelope_and_flux_definition(sim, capture, raw_store):
    expected = acknowledged_ids(sim)
    report = capture(since="2024-01-01")
    assert sorted(i.id_d for i in report.captured) == expected
    assert not report.errors
    # duplicates of etatTransit collapsed: the document acknowledged twice is captured once
    assert len(report.captured) == len({i.id_d for i in report.captured})
    assert "hP5xqol" in expected

    document = load(raw_store, ENTITE, "hP5xqol")
    assert document.capture.source == "pull"
    assert document.capture.flux == FLUX and document.capture.siren == "213502388"
    assert document.detail["info"]["id_d"] == "hP5xqol"
    assert document.entite and document.entite["denomination"] == "Ville de Rennes"
    fields = {f.field for f in document.capture.files}
    assert {"arrete", "acte_tamponne", "aractes", "bordereau"} <= fields
    for captured in document.capture.files:
        body = raw_store.get_bytes(captured.key)
        assert hashlib.sha256(body).hexdigest() == captured.sha256
        assert captured.key == layout.document_file_key(
            ENTITE, "hP5xqol", captured.field, captured.num, captured.name
        )
    aractes = next(f for f in document.capture.files if f.field == "aractes")
    assert b"ARActe" in raw_store.get_bytes(aractes.key)

    definition = raw_store.get_json(layout.flux_definition_key(FLUX))
    assert "publication_open_data" in definition
    assert raw_store.get_json(layout.watermark_key(ENTITE, FLUX))["high_water"] == "2026-01-10 10:00:00"
    saved = raw_store.get_json(layout.run_report_key("capture"))
    assert saved["stage"] == "capture" and len(saved["captured"]) == len(expected)
    assert saved["started_at"].endswith("Z") and saved["finished_at"].endswith("Z")


def test_second_run_captures_nothing_writes_nothing_and_calls_no_detail(sim, capture, raw_store):
    capture(since="2024-01-01")
    before = all_versions(raw_store)
    sim.reset_log()
    report = capture(since="2024-01-01")  # same window again: every document is listed again
    assert report.captured == [] and not report.errors
    assert len(report.unchanged) == len(acknowledged_ids(sim))
    by_route = routes(sim)
    assert by_route["list"] >= 1
    assert by_route.get("detail", 0) == 0 and by_route.get("file", 0) == 0
    # only the run report may change (timestamps): no document, file, index or watermark version
    after = [v for v in all_versions(raw_store) if not v[0].startswith("_state/runs/")]
    assert after == [v for v in before if not v[0].startswith("_state/runs/")]


def test_incremental_run_is_one_listing_call_per_entity_flux_and_listed_state(sim, capture, raw_store):
    capture(page_size=100)  # the first run lists every state from REGATE_PASTELL_DEFAULT_SINCE
    mark = raw_store.get_json(layout.watermark_key(ENTITE, FLUX))
    assert sorted(mark["transitions"]) == ["annuler-tdt", "modification", "reouverture", "tamponner-tdt"]
    sim.reset_log()
    report = capture(page_size=100)
    assert report.captured == []
    # acquiter-tdt + annuler-tdt, tamponner-tdt, reouverture, modification: each an empty first page
    assert routes(sim) == {"/api/v2/entite": 1, f"/api/v2/flux/{FLUX}": 1, "list": 5}
    states = sorted(e.query["etatTransit"] for e in sim.request_log if "etatTransit" in e.query)
    assert states == ["acquiter-tdt", "annuler-tdt", "modification", "reouverture", "tamponner-tdt"]


def test_cancellation_and_correction_make_new_versions(sim, capture, raw_store):
    capture(since="2024-01-01")
    ids = acknowledged_ids(sim)
    cancelled, corrected = ids[0], ids[1]
    sim.cancel(ENTITE, cancelled, "2025-12-01 10:00:00")
    sim.set_data(ENTITE, corrected, objet="Objet corrigé : tarifs 2025 – cantine’s œuvre €")
    report = capture(since="2024-01-01")
    assert sorted(i.id_d for i in report.captured) == sorted([cancelled, corrected])
    assert len(raw_store.list_versions(layout.document_detail_key(ENTITE, cancelled))) == 2
    assert len(raw_store.list_versions(layout.document_detail_key(ENTITE, corrected))) == 2
    assert load(raw_store, ENTITE, cancelled).detail["last_action"]["action"] == "annuler-tdt"
    assert load(raw_store, ENTITE, corrected).detail["data"]["objet"].endswith("œuvre €")


def test_a_500_is_retried_reported_without_blocking_and_captured_next_run(
    sim, capture, raw_store, make_client
):
    ids = acknowledged_ids(sim)
    broken = ids[2]
    sim.inject_fault(rf".*/document/{broken}$", 500, times=3)  # every attempt of this run fails
    report = capture(client=make_client(attempts=3), since="2024-01-01")
    assert [(e.id_d, e.reason) for e in report.errors] == [(broken, "erreur_serveur")]
    assert sorted(i.id_d for i in report.captured) == sorted(set(ids) - {broken})
    assert sum(1 for e in sim.request_log if e.path.endswith(f"/document/{broken}")) == 3
    assert raw_store.get_json(layout.watermark_key(ENTITE, FLUX)) is None  # never moved past the failure

    sim.reset_log()
    again = capture()  # no --since: the watermark window still covers the failed document
    assert [i.id_d for i in again.captured] == [broken]
    assert not again.errors
    assert raw_store.get_json(layout.watermark_key(ENTITE, FLUX)) is not None


def test_a_transient_500_is_retried_transparently(sim, capture):
    ids = acknowledged_ids(sim)
    sim.inject_fault(rf".*/document/{ids[0]}/file/arrete/0$", 503, times=1)
    report = capture(since="2024-01-01")
    assert not report.errors and len(report.captured) == len(ids)


def test_rate_limit_429_waits_retry_after(sim, capture, clock):
    sim.inject_fault(r".*/entite$", 429, times=1, headers={"Retry-after": "60"})
    report = capture(since="2024-01-01")
    assert not report.errors
    assert 60.0 in clock.sleeps


def test_read_only_account_fails_clearly_and_captures_nothing(sim, capture, make_client, raw_store):
    from regate_local.pastell_sim import READONLY_LOGIN, READONLY_PASSWORD

    client = make_client(auth=PastellAuth(READONLY_LOGIN, READONLY_PASSWORD))
    report = capture(client=client, since="2024-01-01")
    assert report.captured == []
    assert len(report.errors) == len(acknowledged_ids(sim))
    assert {e.reason for e in report.errors} == {"droit_manquant"}
    assert f"{FLUX}:edition" in report.errors[0].message
    assert "needs the right" in report.errors[0].message
    assert list(raw_store.list_keys("pastell/")) == []


def test_bad_credentials_stop_at_once_without_retrying(sim, capture, make_client):
    report = capture(client=make_client(auth=PastellAuth("regate", "wrong")), since="2024-01-01")
    assert [e.reason for e in report.errors] == ["auth"]
    assert len(sim.request_log) == 1  # one attempt: never burn the 5-logins-per-minute budget


def test_bearer_token_and_uuid_ids(sim, capture, make_client, raw_store):
    from regate_local.pastell_sim import DEMO_TOKEN

    client = make_client(auth=PastellAuth(token=DEMO_TOKEN))
    report = capture(client=client, entites=("31",), since="2024-01-01")
    assert not report.errors
    uuids = [i.id_d for i in report.captured if len(i.id_d) == 36]
    assert uuids, "the seed has a UUID id_d in entity 31"
    assert load(raw_store, "31", uuids[0]).capture.id_d == uuids[0]


def test_malformed_detail_is_reported_and_others_continue(sim, capture):
    ids = acknowledged_ids(sim)
    body = '{"status":"error","error-message":"Impossible d\'encoder le résultat en JSON [code 5]"}'.encode()
    sim.inject_fault(rf".*/document/{ids[0]}$", 200, times=1, body=body)
    report = capture(since="2024-01-01")
    assert [(e.id_d, e.reason) for e in report.errors] == [(ids[0], "reponse_invalide")]
    assert len(report.captured) == len(ids) - 1


def test_unknown_flux_is_skipped_with_a_reason(capture):
    report = capture(flux=("flux-inexistant",), since="2024-01-01")
    assert [(s.flux, s.reason) for s in report.skipped] == [("flux-inexistant", "flux_absent")]
    assert not report.errors
    json.dumps(report.as_dict())


def test_flux_without_tdt_is_harvested_at_termine(sim, capture):
    report = capture(
        flux=("autres-studio-sans-tdt",), flux_sans_tdt=("autres-studio-sans-tdt",), since="2024-01-01"
    )
    assert sorted(i.id_d for i in report.captured) == [
        "AiDUPvs",
        "UBxqJ3b",
    ]  # not the one still in modification
    listing = [e for e in sim.request_log if e.path.endswith(f"/entite/{ENTITE}/document")]
    # harvested at termine; later transitions without the TdT ones (never sent to the préfecture)
    assert sorted({e.query.get("etatTransit") for e in listing}) == ["modification", "reouverture", "termine"]


def test_a_backfill_starting_after_the_watermark_does_not_jump_the_gap(capture, raw_store, clock):
    from datetime import timedelta

    from regate.capture.watermark import Watermark, save_watermark

    save_watermark(
        raw_store, Watermark(id_e=ENTITE, flux=FLUX, high_water="2024-01-01 00:00:00", updated_at="x")
    )
    clock.current += timedelta(days=1)
    capture(since="2025-06-01")
    assert raw_store.get_json(layout.watermark_key(ENTITE, FLUX))["high_water"] == "2024-01-01 00:00:00"
    capture()  # the regular run from the mark covers the gap, then moves it
    assert raw_store.get_json(layout.watermark_key(ENTITE, FLUX))["high_water"] == "2026-01-11 10:00:00"


def test_a_backfill_never_marks_a_transition_it_did_not_list_from_the_start(capture, raw_store, clock):
    from datetime import timedelta

    capture(since="2025-06-01")
    mark = raw_store.get_json(layout.watermark_key(ENTITE, FLUX))
    assert "transitions" not in mark  # cancellations before 2025-06 are still to be listed
    clock.current += timedelta(hours=1)
    capture()
    mark = raw_store.get_json(layout.watermark_key(ENTITE, FLUX))
    assert set(mark["transitions"].values()) == {"2026-01-10 11:00:00"}
