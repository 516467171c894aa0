"""Capture never loses or freezes: R15-like missing files, late cancellations, deletions, page-capping
proxies, slow / huge / endless answers, long Retry-after and run deadlines — simulator over HTTP, moto S3."""

from __future__ import annotations

import csv
import io
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from capture_sim_fixtures import ENTITE, FLUX

from regate.capture.envelope import RawDocument
from regate.capture.pull import CaptureOptions, run_capture
from regate.clock import PARIS, FakeClock
from regate.http.limits import Deadline
from regate.http.retry import RetryingSession, RetryPolicy
from regate.pastell.client import PastellAuth, PastellClient, PastellLimits
from regate.storage import layout

pytestmark = pytest.mark.integration

R15_SEED = Path(__file__).resolve().parents[2] / "fixtures" / "capture" / "seed_r15.json"
RENNES_SIREN, RENNES_SIRET = "213502388", "21350238800019"
OTHER = "14"  # another entity with acknowledged deliberations


def client_for(url: str, clock: FakeClock, attempts: int = 3, **limits: float) -> PastellClient:
    from regate_local.pastell_sim import DEMO_LOGIN, DEMO_PASSWORD

    policy = RetryPolicy(max_attempts=attempts, backoff_base=0.0, backoff_max=0.0, timeout=5)
    return PastellClient(
        url,
        PastellAuth(DEMO_LOGIN, DEMO_PASSWORD),
        RetryingSession(policy, requests.Session(), clock),
        PastellLimits(**limits),
    )


def options(**changes) -> CaptureOptions:
    values = {"flux": (FLUX,), "entites": (ENTITE,), "concurrency": 4, "page_size": 3, "reconcile": False}
    values.update(changes)
    return CaptureOptions(**values)


def acknowledged(sim, id_e=ENTITE, flux=FLUX) -> list[str]:
    return sorted(
        d.id_d
        for d in sim.platform.documents.values()
        if d.id_e == id_e and d.type == flux and any(h.action == "acquiter-tdt" for h in d.history)
    )


def load(raw_store, id_e: str, id_d: str) -> RawDocument:
    return RawDocument.model_validate_json(raw_store.get_bytes(layout.document_detail_key(id_e, id_d)))


def paris(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=PARIS).astimezone(UTC)


def saved_report(raw_store) -> dict:
    return raw_store.get_json(layout.run_report_key("capture"))


# ------------------------------------------------------------------------------- normalisation side
def configure_rennes(curated_store) -> None:
    curated_store.put_if_changed(
        layout.CONFIG_COLLECTIVITES_KEY,
        "siren,siret,nom,open_data,documents,annexes\n"
        f"{RENNES_SIREN},{RENNES_SIRET},Ville de Rennes,,,\n".encode(),
    )


def normalise(raw_store, curated_store, settings, clock):
    from regate.normalize.run import run_normalize

    return run_normalize(raw_store, curated_store, settings, workers=1, clock=clock)


def record_of(curated_store, id_e: str, id_d: str) -> dict | None:
    pointer = curated_store.get_json(layout.record_pointer_key(id_e, id_d))
    return curated_store.get_json(pointer["record_key"]) if pointer else None


def scdl_ids(curated_store, annee: int) -> dict[str, dict[str, str]]:
    key = layout.scdl_deliberations_key(RENNES_SIREN, annee)
    if not curated_store.exists(key):
        return {}
    rows = csv.DictReader(io.StringIO(curated_store.get_bytes(key).decode("utf-8")))
    return {row["DELIB_ID"]: row for row in rows}


def public_parquet_ids(curated_store, annee: int) -> set[str]:
    import pyarrow.parquet as pq

    key = layout.actes_parquet_key(RENNES_SIREN, annee, public=True)
    if not curated_store.exists(key):
        return set()
    table = pq.read_table(io.BytesIO(curated_store.get_bytes(key)))
    return set(table.column("delib_id").to_pylist())


def public_documents(curated_store) -> list[str]:
    return sorted(curated_store.list_keys(layout.PUBLIC_DOCUMENTS_PREFIX))


# ------------------------------------------------------------------------------------- R15-like acts
@pytest.fixture()
def r15_url():
    from regate_local.pastell_sim import PastellSimulator, load_seed

    sim = PastellSimulator(seed=load_seed(R15_SEED))
    with sim.serve(host="127.0.0.1", port=0) as server:
        yield sim, server.url


def test_r15_missing_files_are_recorded_the_watermark_moves_and_the_scdl_row_stays(
    r15_url, raw_store, curated_store, settings, clock
):
    sim, url = r15_url
    report = run_capture(client_for(url, clock), raw_store, clock, options())
    assert report.errors == []
    assert sorted(i.id_d for i in report.captured) == ["R15anx1", "R15main", "R15okk1"]
    warned = sorted((w.id_d, w.reason, w.message.split(" ")[0]) for w in report.warnings)
    assert warned == [
        ("R15anx1", "fichier_inexistant", "annexes_tamponnees/1"),
        ("R15anx1", "fichier_inexistant", "autre_document_attache/1"),
        ("R15main", "fichier_inexistant", "acte_tamponne/0"),
        ("R15main", "fichier_inexistant", "arrete/0"),
    ]
    main = load(raw_store, ENTITE, "R15main")
    assert {(m.field, m.status) for m in main.capture.missing_files} == {
        ("arrete", 400),
        ("acte_tamponne", 400),
    }
    assert all("Ce fichier n'existe pas" in m.message for m in main.capture.missing_files)
    assert {f.field for f in main.capture.files} == {
        "autre_document_attache",
        "aractes",
        "bordereau",
        "type_piece_fichier",
    }
    assert raw_store.get_json(layout.watermark_key(ENTITE, FLUX))["high_water"] == "2026-01-10 10:00:00"
    assert saved_report(raw_store)["warnings"]  # in the saved report too
    assert "missing_files" not in raw_store.get_json(layout.document_detail_key(ENTITE, "R15okk1"))["capture"]

    sim.reset_log()  # a permanent condition: listed again, neither retried nor failed
    again = run_capture(client_for(url, clock), raw_store, clock, options(since="2025-01-01"))
    assert again.errors == [] and again.captured == [] and len(again.unchanged) == 3
    assert not [e for e in sim.request_log if "/file/" in e.path]

    configure_rennes(curated_store)
    normalise(raw_store, curated_store, settings, clock)
    lost = record_of(curated_store, ENTITE, "R15main")
    assert lost["decision"]["decision"] == "metadonnees"
    assert lost["decision"]["motif"] == "fichier_principal_manquant"
    assert lost["documents"] == [] and lost["row"]["delib_url"] is None
    assert {w["code"] for w in lost["avertissements"]} == {"fichier_principal_manquant"}
    rows = scdl_ids(curated_store, 2025)
    assert rows["DEL2025_101"]["DELIB_URL"] == ""  # the SCDL row is produced, without a document
    annex = record_of(curated_store, ENTITE, "R15anx1")
    assert annex["decision"]["decision"] == "publier"
    assert sorted(d["nom"] for d in annex["documents"]) == ["DEL2025_102-tampon.pdf", "convention-tampon.pdf"]
    assert {w["code"] for w in annex["avertissements"]} == {"fichier_manquant"}
    assert record_of(curated_store, ENTITE, "R15okk1")["decision"]["decision"] == "publier"
    assert {"DEL2025_101", "DEL2025_102", "DEL2025_103"} <= set(rows)
    assert not any("DEL2025_101" in k for k in public_documents(curated_store))
    assert not any("plan" in k for k in public_documents(curated_store))


# ------------------------------------------------------------------------- late cancellation, deletion
@pytest.fixture()
def handler_settings(settings, sim_url):
    from pydantic import SecretStr

    from regate_local.pastell_sim import DEMO_LOGIN, DEMO_PASSWORD

    return settings.model_copy(
        update={
            "pastell_url": sim_url,
            "pastell_user": DEMO_LOGIN,
            "pastell_password": SecretStr(DEMO_PASSWORD),
            "pastell_flux": (FLUX,),
            "http_backoff_base_seconds": 0.0,
            "http_max_attempts": 2,
        }
    )


def scheduled_run(handler_settings, clock, context=None) -> dict:
    from capture_handler import handle

    from regate_local.runtime.events import LocalLambdaContext

    event = {"entite": [ENTITE]}  # an EventBridge Scheduler input narrowing the entity; no --since
    return handle(
        event, context or LocalLambdaContext(function_name="regate-capture"), handler_settings, clock
    )


def test_an_act_cancelled_60_days_after_its_acknowledgement_is_withdrawn_by_the_scheduled_run(
    sim, handler_settings, raw_store, curated_store, settings, clock
):
    target = "UbvRFdb"  # publication_open_data 3: published with its documents
    acknowledged_at = next(
        h.date for h in sim.platform.documents[target].history if h.action == "acquiter-tdt"
    )
    ack = paris(acknowledged_at)
    clock.current = ack + timedelta(days=1)
    assert scheduled_run(handler_settings, clock)["errors"] == 0
    configure_rennes(curated_store)
    normalise(raw_store, curated_store, settings, clock)
    numero = sim.platform.documents[target].data["numero_de_lacte"]
    assert record_of(curated_store, ENTITE, target)["decision"]["decision"] == "publier"
    assert numero in scdl_ids(curated_store, 2025) and numero in public_parquet_ids(curated_store, 2025)
    documents_before = public_documents(curated_store)
    published = [d["document_id"] for d in record_of(curated_store, ENTITE, target)["documents"]]
    assert published and all(any(p in k for k in documents_before) for p in published)

    clock.current = ack + timedelta(days=30)  # the hourly schedule kept running: the watermark moved on
    assert scheduled_run(handler_settings, clock)["captured"] == 0
    cancelled_at = (ack + timedelta(days=60)).astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S")
    sim.cancel(ENTITE, target, cancelled_at)
    clock.current = ack + timedelta(days=60, hours=1)
    sim.reset_log()
    result = scheduled_run(handler_settings, clock)
    assert result["captured"] == 1 and result["errors"] == 0
    main_listing = [
        e
        for e in sim.request_log
        if e.query.get("etatTransit") == "acquiter-tdt" and "state_begin" in e.query
    ]
    # the acknowledgement is far outside the incremental window: the annuler-tdt listing saw it
    assert main_listing and all(e.query["state_begin"] > acknowledged_at for e in main_listing)
    assert load(raw_store, ENTITE, target).detail["last_action"]["action"] == "annuler-tdt"

    report = normalise(raw_store, curated_store, settings, clock)
    assert target in [w.id_d for w in report.withdrawn]
    assert record_of(curated_store, ENTITE, target) is None
    assert numero not in scdl_ids(curated_store, 2025)
    assert numero not in public_parquet_ids(curated_store, 2025)
    assert not any(p in k for p in published for k in public_documents(curated_store))


def test_a_document_deleted_in_pastell_is_found_by_reconciliation_and_withdrawn(
    sim, make_client, raw_store, curated_store, settings, clock
):
    report = run_capture(make_client(), raw_store, clock, options(since="2024-01-01"))
    assert not report.errors
    configure_rennes(curated_store)
    normalise(raw_store, curated_store, settings, clock)
    target = "ytinWFa"
    numero = sim.platform.documents[target].data["numero_de_lacte"]
    assert numero in scdl_ids(curated_store, 2024)
    sim.delete(ENTITE, target, "2025-12-01 10:00:00")

    clock.current += timedelta(days=1)
    incremental = run_capture(make_client(), raw_store, clock, options())
    assert incremental.removed == []  # a deletion is invisible to listings by state
    reconciled = run_capture(make_client(), raw_store, clock, options(reconcile=True))
    assert [(i.id_d, i.reason) for i in reconciled.removed] == [(target, "supprime_dans_pastell")]
    assert reconciled.errors == []
    document = load(raw_store, ENTITE, target)
    assert document.capture.removed is not None and "n'appartient pas" in document.capture.removed.evidence
    assert document.detail["last_action"]["action"] == "termine"  # the detail stays as last received
    assert raw_store.get_json(layout.reconcile_state_key(ENTITE))["reconciled_at"]

    normalise(raw_store, curated_store, settings, clock)
    assert record_of(curated_store, ENTITE, target) is None
    assert numero not in scdl_ids(curated_store, 2024) and numero not in public_parquet_ids(
        curated_store, 2024
    )
    versions = raw_store.list_versions(layout.document_detail_key(ENTITE, target))
    again = run_capture(make_client(), raw_store, clock, options(reconcile=True))
    assert (
        again.removed == []
        and raw_store.list_versions(layout.document_detail_key(ENTITE, target)) == versions
    )


def test_reconciliation_concludes_nothing_from_an_incomplete_listing_or_a_proxy_404(
    sim, make_client, raw_store, clock
):
    run_capture(make_client(), raw_store, clock, options(since="2024-01-01"))
    target = "ytinWFa"
    sim.delete(ENTITE, target, "2025-12-01 10:00:00")
    clock.current += timedelta(days=1)
    sim.set_proxy(ignore_offset=True)  # the full listing cannot be trusted: page 2 = page 1
    broken = run_capture(make_client(), raw_store, clock, options(reconcile=True))
    assert broken.removed == [] and "listing_incomplet" in {e.reason for e in broken.errors}
    sim.set_proxy()
    sim.inject_fault(rf"/document/{target}$", 404, times=10, body=b"<html>404 Not Found (proxy)</html>")
    proxied = run_capture(make_client(), raw_store, clock, options(reconcile=True))
    assert proxied.removed == [] and [e.id_d for e in proxied.errors] == [target]
    assert load(raw_store, ENTITE, target).capture.removed is None
    assert raw_store.get_json(layout.reconcile_state_key(ENTITE)) is None  # retried by the next run


def test_reconciliation_runs_on_its_schedule_and_captures_an_acknowledged_document_never_captured(
    sim, make_client, raw_store, clock
):
    def full_listings() -> int:
        return sum(
            1
            for e in sim.request_log
            if "etatTransit" in e.query and "state_begin" not in e.query and e.query.get("offset") == "0"
        )

    # a past run that missed the acts of 2024 (e.g. a window that began too late)
    run_capture(make_client(), raw_store, clock, options(since="2025-01-01", reconcile=None))
    assert full_listings() == 0  # the first run only starts the entity's clock
    missed = sorted(
        d.id_d
        for d in sim.platform.documents.values()
        if d.id_e == ENTITE
        and d.type == FLUX
        and min((h.date for h in d.history if h.action == "acquiter-tdt"), default="9") < "2025-01-01"
    )
    assert missed and not any(raw_store.exists(layout.document_detail_key(ENTITE, i)) for i in missed)
    sim.reset_log()
    clock.current += timedelta(hours=23)
    run_capture(make_client(), raw_store, clock, options(reconcile=None, reconcile_interval_hours=24))
    assert full_listings() == 0
    clock.current += timedelta(hours=2)
    report = run_capture(
        make_client(), raw_store, clock, options(reconcile=None, reconcile_interval_hours=24)
    )
    assert full_listings() == 1 and sorted(i.id_d for i in report.captured) == missed
    assert [e for e in sim.request_log if e.query.get("tri") == "titre"]


# ------------------------------------------------------------------------------------ listing paging
def test_a_page_capping_proxy_loses_nothing(sim, make_client, raw_store, clock):
    sim.set_proxy(page_cap=2)  # asked 5, answered 2: a short page that is not the end
    report = run_capture(make_client(), raw_store, clock, options(since="2024-01-01", page_size=5))
    assert sorted(i.id_d for i in report.captured) == acknowledged(sim) and not report.errors
    offsets = [
        int(e.query["offset"]) for e in sim.request_log if e.query.get("etatTransit") == "acquiter-tdt"
    ]
    assert offsets[:3] == [0, 2, 4]  # the next offset is what was received, not the page size asked


def test_a_proxy_ignoring_the_offset_fails_the_pair_and_keeps_its_watermark(
    sim, make_client, raw_store, clock
):
    sim.set_proxy(ignore_offset=True)
    report = run_capture(make_client(), raw_store, clock, options(since="2024-01-01", page_size=3))
    assert {(e.id_e, e.id_d, e.reason) for e in report.errors} == {(ENTITE, None, "listing_incomplet")}
    assert report.captured  # what was read is captured
    assert raw_store.get_json(layout.watermark_key(ENTITE, FLUX)) is None


# ------------------------------------------------------------------- slow, huge, endless, rate limited
def test_a_slow_drip_answer_ends_at_its_deadline_and_only_that_document_fails(sim, sim_url, raw_store, clock):
    slow, other = acknowledged(sim)[0], acknowledged(sim)[1]
    sim.inject_slow_body(rf"/document/{slow}$", delay_s=0.2, chunk=1, times=5)
    sim.inject_slow_body(rf"/document/{other}/file/arrete/0$", delay_s=0.2, chunk=1, times=5)
    client = client_for(sim_url, clock, attempts=1, call_deadline_seconds=1.0, file_deadline_seconds=1.0)
    started = time.monotonic()
    report = run_capture(client, raw_store, clock, options(since="2024-01-01"))
    assert time.monotonic() - started < 15
    assert sorted((e.id_d, e.reason) for e in report.errors) == sorted(
        [(slow, "delai_depasse"), (other, "delai_depasse")]
    )
    assert len(report.captured) == len(acknowledged(sim)) - 2
    assert raw_store.get_json(layout.watermark_key(ENTITE, FLUX)) is None  # retried by the next run
    assert {e["id_d"] for e in saved_report(raw_store)["errors"]} == {slow, other}


def test_an_endless_listing_is_cut_at_its_byte_cap_in_bounded_memory(sim, sim_url, raw_store, clock):
    sim.inject_endless_body(rf"/entite/{ENTITE}/document$", times=10)
    client = client_for(sim_url, clock, attempts=1, json_max_bytes=4 * 1024 * 1024, call_deadline_seconds=20)
    tracemalloc.start()
    started = time.monotonic()
    try:
        report = run_capture(client, raw_store, clock, options(since="2024-01-01", entites=(ENTITE, OTHER)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 20
    assert peak < 64 * 1024 * 1024, peak
    assert {(e.id_e, e.reason) for e in report.errors} == {(ENTITE, "reponse_trop_volumineuse")}
    assert sorted(i.id_d for i in report.captured) == acknowledged(sim, OTHER)  # the other entity goes on
    assert saved_report(raw_store)["errors"]


def test_a_multi_gigabyte_file_is_refused_at_its_cap_without_filling_memory_or_disk(
    sim, sim_url, raw_store, clock
):
    huge = acknowledged(sim)[0]
    sim.inject_endless_body(
        rf"/document/{huge}/file/arrete/0$", content_type="application/pdf", declared_length=5 * 1024**3
    )
    client = client_for(sim_url, clock, attempts=1, file_max_bytes=8 * 1024 * 1024, file_deadline_seconds=30)
    tracemalloc.start()
    try:
        report = run_capture(client, raw_store, clock, options(since="2024-01-01"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(e.id_d, e.reason) for e in report.errors] == [(huge, "reponse_trop_volumineuse")]
    assert peak < 64 * 1024 * 1024, peak
    assert not list(raw_store.list_keys(layout.document_prefix(ENTITE, huge)))  # nothing half-written


def test_retry_after_beyond_the_run_budget_fails_the_pair_without_sleeping(sim, sim_url, raw_store, clock):
    sim.inject_fault(rf"/entite/{ENTITE}/document$", 429, times=1, headers={"Retry-after": "3600"})
    started = time.monotonic()
    report = run_capture(
        client_for(sim_url, clock),
        raw_store,
        clock,
        options(since="2024-01-01", entites=(ENTITE, OTHER)),
        deadline=Deadline(600),
    )
    assert time.monotonic() - started < 20 and 3600 not in clock.sleeps and 300 not in clock.sleeps
    assert [(e.id_e, e.reason) for e in report.errors] == [(ENTITE, "limite_de_debit")]
    assert "3600" in report.errors[0].message
    assert sorted(i.id_d for i in report.captured) == acknowledged(sim, OTHER)
    assert raw_store.get_json(layout.watermark_key(ENTITE, FLUX)) is None
    assert raw_store.get_json(layout.watermark_key(OTHER, FLUX)) is not None


def test_a_long_retry_after_on_a_detail_throttles_only_that_pair(sim, settings, sim_url, raw_store, clock):
    from regate.pastell.client import make_pastell_session

    first = acknowledged(sim)[0]
    sim.inject_fault(rf"/document/{first}$", 429, times=1, headers={"Retry-after": "3600"})
    session = make_pastell_session(settings.model_copy(update={"http_backoff_base_seconds": 0.0}), clock)
    from regate_local.pastell_sim import DEMO_LOGIN, DEMO_PASSWORD

    client = PastellClient(sim_url, PastellAuth(DEMO_LOGIN, DEMO_PASSWORD), session)  # production policy
    report = run_capture(client, raw_store, clock, options(since="2024-01-01", entites=(ENTITE, OTHER)))
    assert clock.sleeps == []
    assert [(e.id_d, e.reason) for e in report.errors] == [(first, "limite_de_debit")]
    skipped = {i.id_d for i in report.skipped if i.reason == "limite_de_debit"}
    captured = {i.id_d for i in report.captured}
    assert skipped | captured | {first} >= set(acknowledged(sim))
    assert set(acknowledged(sim, OTHER)) <= captured


def test_the_run_deadline_stops_cleanly_with_the_report_saved(sim, sim_url, raw_store, clock):
    # every detail answer takes seconds: one at a time, the documents cannot all fit in the run's 2 s
    sim.inject_slow_body(r"/document/[^/]+$", delay_s=0.2, chunk=64, times=1000)
    client = client_for(sim_url, clock, attempts=1)
    started = time.monotonic()
    report = run_capture(
        client, raw_store, clock, options(since="2024-01-01", concurrency=2), deadline=Deadline(2.0)
    )
    assert time.monotonic() - started < 12
    assert report.interrupted == "delai_du_run"
    assert report.skipped or report.errors  # the documents not done are said, none is lost silently
    assert {i.reason for i in report.skipped} <= {"delai_du_run"}
    assert {e.reason for e in report.errors} <= {"delai_depasse"}
    assert len(report.captured) < len(acknowledged(sim))
    assert saved_report(raw_store)["interrupted"] == "delai_du_run"
    assert raw_store.get_json(layout.watermark_key(ENTITE, FLUX)) is None


def test_the_lambda_run_keeps_its_margin_before_the_timeout(sim, handler_settings, raw_store, clock):
    # every detail answer takes seconds: one at a time, the documents cannot all fit in the run's 2 s
    sim.inject_slow_body(r"/document/[^/]+$", delay_s=0.2, chunk=64, times=1000)

    class Context:
        function_name = "regate-capture"

        def get_remaining_time_in_millis(self) -> int:
            return 4_000  # 4 s left, 2 s of margin: the run must stop after about 2 s

    settings = handler_settings.model_copy(
        update={"pastell_run_margin_seconds": 2.0, "pastell_concurrency": 1}
    )
    started = time.monotonic()
    result = scheduled_run(settings, clock, Context())
    assert time.monotonic() - started < 10
    assert result["stage"] == "capture"
    assert saved_report(raw_store)["interrupted"] == "delai_du_run"


def test_any_exception_on_one_document_is_that_documents_error(
    sim, make_client, raw_store, clock, monkeypatch
):
    from regate.capture import pull

    bad = acknowledged(sim)[0]
    real = pull.content_sha256

    def buggy(detail, *args, **kwargs):
        if detail.get("info", {}).get("id_d") == bad:
            raise KeyError("unexpected bug")
        return real(detail, *args, **kwargs)

    monkeypatch.setattr(pull, "content_sha256", buggy)
    report = run_capture(make_client(), raw_store, clock, options(since="2024-01-01"))
    assert [(e.id_d, e.reason) for e in report.errors] == [(bad, "erreur_interne")]
    assert len(report.captured) == len(acknowledged(sim)) - 1
    assert saved_report(raw_store)["errors"][0]["id_d"] == bad


def test_a_bug_outside_documents_still_saves_the_report(make_client, raw_store, clock, monkeypatch):
    from regate.capture import pull

    def broken(*args, **kwargs):
        raise RuntimeError("listing bug")

    monkeypatch.setattr(pull, "_list_pair", broken)
    report = run_capture(make_client(), raw_store, clock, options(since="2024-01-01", concurrency=1))
    assert [e.reason for e in report.errors] == ["erreur_interne"]
    assert saved_report(raw_store)["errors"][0]["message"].startswith("RuntimeError")
