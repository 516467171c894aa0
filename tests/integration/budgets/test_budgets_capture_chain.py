"""Budget acts from capture to curated files on moto: a BP pulled from the Pastell simulator (a real TOTEM
sample as the ``arrete`` of a « documents budgétaires » act) and a DM pushed as a depot ZIP, normalised
into ``scdl/budgets/{siren}/{annee}.csv`` (valid for the project's validator and validata-table), the
national file and the Parquet; a second pass changes nothing; a later DM
replaces nothing but adds its rows."""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil
import sys
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from regate.capture.pull import CaptureOptions, run_capture
from regate.capture.push import DEPOT_FLUX, ingest_inbox_object
from regate.clock import FakeClock
from regate.flux.budgets.scdl import validate_budget_csv
from regate.http.retry import RetryingSession, RetryPolicy
from regate.normalize.pipeline import Normalizer
from regate.normalize.reports import RunReport
from regate.pastell.client import PastellAuth, PastellClient
from regate.storage import layout
from regate_local.budgets.totem_generator import generate_totem
from regate_local.pastell_sim import DEMO_LOGIN, DEMO_PASSWORD, PastellSimulator, default_seed
from regate_local.pastell_sim.seed import SeedDocument

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared" / "reference"
SAMPLE = SHARED / "budget" / "totem-exemples" / "DOCBUDG-21560046100085-056025-BP-2022-07042022000000.xml"
SCHEMA = SHARED / "schemas" / "scdl_budget_0.8.3_schema.json"
GED_DEFINITION = REPO / "tests" / "fixtures" / "normalize" / "flux_ged_megalis_opendata.json"
ENTITE = "13"  # Ville de Rennes in the default seed
SIREN = "213502388"
SAMPLE_SIREN, SAMPLE_SIRET = "215600461", "21560046100085"
FLUX = "documents-budgetaires-studio"
HISTORY = [["creation", "2022-04-07 08:00:00"], ["send-tdt", "2022-04-07 09:00:00"],
           ["acquiter-tdt", "2022-04-08 10:00:00"], ["termine", "2022-04-08 10:05:00"]]  # fmt: skip


def budget_doc(
    id_d: str, numero: str, name: str, xml: bytes, *, pulled: bool = True, code: str = "3"
) -> SeedDocument:
    return SeedDocument.model_validate(
        {
            "id_d": id_d,
            "id_e": ENTITE,
            "type": FLUX,
            "data": {
                "acte_nature": "5",
                "numero_de_lacte": numero,
                "objet": f"Budget {numero}",
                "date_de_lacte": "2022-04-07",
                "classification": "7.1 Décisions budgétaires",
                "type_acte": "99_BU",
                "envoi_tdt_actes": "checked",
                "publication_open_data": code,
                "date_ar": "2022-04-08",
                "acte_unique_id": f"035-{SIREN}-20220407-{numero}-BF",
            },
            "files": {
                "arrete": [{"kind": "base64", "name": name, "content_base64": base64.b64encode(xml).decode()}]
            },
            "history": HISTORY if pulled else HISTORY[:2],  # not acknowledged yet: not pulled
        }
    )


def dm_totem(seed: int, date_decision: str, lignes: int) -> bytes:
    out = io.BytesIO()
    generate_totem(
        out,
        etape="DM",
        exercice=2022,
        nomenclature="M14-M14_COM_500_3500",
        lignes=lignes,
        seed=seed,
        siret=SAMPLE_SIRET,
        libelle_etab="COMMUNE",
        cod_bud="",
        scellement=f"{date_decision}T12:00:00",
        date_decision=date_decision,
    )
    return out.getvalue()


@pytest.fixture()
def sim():
    seed = default_seed()
    seed.documents.append(budget_doc("BudBP22", "BP2022", SAMPLE.name, SAMPLE.read_bytes()))
    # pushed only (depot ZIPs, "1" = oui for the GED connector): not acknowledged, so not pulled
    dm1, dm2 = dm_totem(1, "2022-06-01", 12), dm_totem(2, "2022-09-01", 7)
    seed.documents.append(budget_doc("BudDM22", "DM12022", "dm1.xml", dm1, pulled=False, code="1"))
    seed.documents.append(budget_doc("BudDM23", "DM22022", "dm2.xml", dm2, pulled=False, code="1"))
    return PastellSimulator(seed=seed, latency_ms=0)


def capture(sim_url: str, raw_store, clock) -> None:
    policy = RetryPolicy(max_attempts=2, backoff_base=0.0, backoff_max=0.0, timeout=10)
    session = RetryingSession(policy, requests.Session(), clock)
    client = PastellClient(sim_url, PastellAuth(DEMO_LOGIN, DEMO_PASSWORD), session)
    options = CaptureOptions(flux=(FLUX,), entites=(ENTITE,), concurrency=2, page_size=5)
    report = run_capture(client, raw_store, clock, options)
    assert not report.errors, report.errors


def push(sim, id_d: str, raw_store, clock, tmp_path: Path) -> None:
    path = sim.write_depot_zip(ENTITE, id_d, tmp_path / "depot")
    target = tmp_path / f"{id_d}.zip"
    shutil.copy(path, target)
    key = layout.INBOX_PREFIX + target.name
    raw_store.client.put_object(Bucket=raw_store.bucket, Key=key, Body=target.read_bytes())
    assert ingest_inbox_object(raw_store, key, clock).outcome == "captured"


def normalise(raw_store, curated_store, settings) -> RunReport:
    report = RunReport()
    Normalizer.from_stores(raw_store, curated_store, settings, report=report).run_pending(report)
    return report


def rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def validata_errors(data: bytes, tmp_path: Path) -> list:
    validata_core = pytest.importorskip("validata_core")
    path = tmp_path / "budget.csv"
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(validata_core.validate(str(path), json.loads(SCHEMA.read_text())).to_dict()["errors"])


def versions(store) -> list[tuple[str, str]]:
    found = []
    for page in store.client.get_paginator("list_object_versions").paginate(Bucket=store.bucket):
        found += [
            (v["Key"], v["VersionId"]) for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
    return sorted(f for f in found if not f[0].startswith(layout.STATE_PREFIX))  # run state: not a product


def test_budgets_from_pull_and_push_to_valid_files(sim, raw_store, curated_store, settings, tmp_path):
    clock = FakeClock(datetime(2026, 1, 10, 9, 0, tzinfo=UTC))
    with sim.serve(host="127.0.0.1", port=0) as server:
        capture(server.url, raw_store, clock)
    # depot ZIPs carry no flux definition: the operator captured the GED connector's (else a_statuer)
    raw_store.put_if_changed(layout.flux_definition_key(DEPOT_FLUX), GED_DEFINITION.read_bytes())
    push(sim, "BudDM22", raw_store, clock, tmp_path)
    report = normalise(raw_store, curated_store, settings)
    assert not report.quarantined, report.quarantined
    assert {w.code for w in report.warnings} >= {"totem_autre_siren"}  # the sample is another SIREN's

    key = layout.scdl_budgets_key(SIREN, 2022)
    data = curated_store.get_bytes(key)
    first = rows(data)
    stages = [r["BGT_NATDEC"] for r in first]
    assert stages.count("budget primitif") == 21 and stages.count("décision modificative") == 12
    assert {r["BGT_SIRET"] for r in first} == {SAMPLE_SIRET}
    assert validate_budget_csv(data, strict=True).valid
    assert validata_errors(data, tmp_path) == []
    assert curated_store.get_bytes(layout.scdl_budgets_national_key(2022)) == data
    assert curated_store.exists(layout.budgets_parquet_key(SIREN, 2022))
    assert curated_store.exists(layout.budgets_parquet_key(SIREN, 2022, public=True))
    for public in curated_store.list_keys(layout.PUBLIC_DOCUMENTS_PREFIX):
        assert not curated_store.get_bytes(public).lstrip().startswith(b"<"), public  # no raw XML

    # a second pass (capture and normalisation) changes nothing
    before = versions(curated_store), versions(raw_store)
    with sim.serve(host="127.0.0.1", port=0) as server:
        capture(server.url, raw_store, clock)
    again = normalise(raw_store, curated_store, settings)
    assert again.files_written == [] and again.files_deleted == []
    assert (versions(curated_store), versions(raw_store)) == before

    # a new DM: the BP and the first DM stay as they were, the new DM's rows are added
    push(sim, "BudDM23", raw_store, clock, tmp_path)
    normalise(raw_store, curated_store, settings)
    third = rows(curated_store.get_bytes(key))
    assert [r for r in third if r not in first] == [
        r for r in third if r["BGT_NATDEC"] == "décision modificative"
    ][12:]
    assert len(third) == len(first) + 7
    assert all(r in third for r in first)
    assert validata_errors(curated_store.get_bytes(key), tmp_path) == []


# ------------------------------------------------------------------ … → publication → API (issue 13, point 4)
def layout_years(curated_store) -> list[tuple[str, int]]:
    parsed = (layout.parse_scdl_budgets_key(k) for k in curated_store.list_keys(layout.SCDL_BUDGETS_PREFIX))
    return [p for p in parsed if p is not None and p[0] != layout.NATIONAL]


def publish(curated_store, portal_url: str, clock):
    from regate.datagouv.client import DATAGOUV_RETRY_STATUSES, DatagouvClient
    from regate.datagouv.publisher import PublishOptions
    from regate.flux.budgets.publication import publish_budgets
    from regate_local.datagouv_sim import DEMO_API_KEY, DEMO_ORG_SLUG

    policy = RetryPolicy(max_attempts=2, backoff_base=0.0, retry_statuses=DATAGOUV_RETRY_STATUSES)
    client = DatagouvClient(portal_url, DEMO_API_KEY, RetryingSession(policy, clock=clock))
    options = PublishOptions(
        mode="collectivite",
        org=DEMO_ORG_SLUG,
        public_base_url="https://regate.example.org",
        portal_url=portal_url,
    )
    report = publish_budgets(curated_store, client, options, clock=clock)
    assert report.failed == [], report.failed
    return report


def test_budgets_capture_to_publication_and_api(sim, raw_store, curated_store, settings, s3_client, tmp_path):
    from regate.api.app import build_services, create_app
    from regate.api.collectivites import EmptyDirectory
    from regate_local.datagouv_sim import DatagouvSimulator
    from regate_local.serve.server import http_api_event

    clock = FakeClock(datetime(2026, 1, 10, 9, 0, tzinfo=UTC))
    portal = DatagouvSimulator()
    services = build_services(
        settings.model_copy(update={"api_cache_dir": str(tmp_path / "cache")}),
        s3_client,
        directory=EmptyDirectory(),
        list_ttl_seconds=0,
    )
    app = create_app(services)

    def api(target: str) -> dict:
        response = app.resolve(http_api_event("GET", target, {}), {})
        assert response["statusCode"] == 200, response
        return response

    def resource() -> dict:
        [dataset] = [d for d in portal.datasets.values() if d["extras"].get("regate:flux") == "budgets"]
        [found] = [r for r in dataset["resources"] if r["extras"].get("regate:annee") == "2022"]
        return found  # (the default seed also holds Rennes' generated 2025 budgets: their own resource)

    key = layout.scdl_budgets_key(SIREN, 2022)
    with sim.serve(host="127.0.0.1", port=0) as server, portal.serve() as portal_server:
        capture(server.url, raw_store, clock)  # pull: the BP
        raw_store.put_if_changed(layout.flux_definition_key(DEPOT_FLUX), GED_DEFINITION.read_bytes())
        push(sim, "BudDM22", raw_store, clock, tmp_path)  # push: the first DM
        normalise(raw_store, curated_store, settings)
        first = publish(curated_store, portal_server.url, clock)
        assert first.created == len(layout_years(curated_store)) >= 1
        published = portal.file_bytes(resource()["id"])
        assert published == curated_store.get_bytes(key)
        assert resource()["schema"]["name"] == "scdl/budget" and resource()["schema"]["version"] == "0.8.3"
        assert not published.lstrip().startswith(b"<")  # SCDL rows, never the TOTEM
        # the API serves the very bytes published, and the lines behind them
        assert api(f"/v1/budgets/{SIREN}/2022.csv")["body"].encode() == published
        lines = json.loads(api(f"/v1/budgets?siren={SIREN}&annee=2022&limit=1000")["body"])
        assert lines["total"] == 33 and {r["siret"] for r in lines["data"]} == {SAMPLE_SIRET}
        synthese = json.loads(api(f"/v1/budgets/{SIREN}/2022/synthese")["body"])
        assert [(e["etape"], e["montant"]) for e in synthese["etapes"]] == [
            ("BP", "mt_prev"),
            ("DM", "mt_prop_nouv"),
        ]
        bp_total = sum(
            float(r["BGT_MTPREV"] or 0) for r in rows(published) if r["BGT_NATDEC"] == "budget primitif"
        )
        bp = synthese["etapes"][0]
        assert round(sum(s["recettes"] + s["depenses"] for s in bp["sections"]), 2) == round(bp_total, 2)

        # a second pass of every stage changes nothing: no S3 product version, no portal write
        before = versions(curated_store), versions(raw_store)
        portal.reset_log()
        capture(server.url, raw_store, clock)
        normalise(raw_store, curated_store, settings)
        again = publish(curated_store, portal_server.url, clock)
        assert again.unchanged == first.created and again.created == again.replaced == 0
        assert portal.write_calls() == []
        assert (versions(curated_store), versions(raw_store)) == before

        # a new DM: one replace upload of the same resource; the BP and the first DM stay as they were
        push(sim, "BudDM23", raw_store, clock, tmp_path)
        normalise(raw_store, curated_store, settings)
        rid = resource()["id"]
        portal.reset_log()
        third = publish(curated_store, portal_server.url, clock)
        assert third.replaced == 1 and resource()["id"] == rid
        uploads = [c for c in portal.write_calls() if c.path.endswith("/upload/")]
        assert len(uploads) == 1
        now = portal.file_bytes(rid)
        assert now == curated_store.get_bytes(key) != published
        old_rows, new_rows = rows(published), rows(now)
        assert all(r in new_rows for r in old_rows) and len(new_rows) == len(old_rows) + 7
        dm = json.loads(api(f"/v1/budgets?siren={SIREN}&annee=2022&etape=DM&limit=1000")["body"])
        assert dm["total"] == 19
        assert (
            json.loads(api(f"/v1/budgets?siren={SIREN}&annee=2022&etape=BP&limit=1000")["body"])["total"]
            == 21
        )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
