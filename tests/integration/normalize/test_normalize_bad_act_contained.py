"""One bad act never blocks its partition (issue 9.3): absurd numbers and dates are quarantined, a record the
build cannot take is quarantined and the partition rebuilt without it — the rest stays served."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import RENNES_SIRET  # type: ignore[import-not-found]

from regate.normalize.run import run_normalize
from regate.storage import layout

pytestmark = pytest.mark.integration
RENNES = "213502388"
VOTES = {
    "vote_effectif": "33",
    "vote_reel": "30",
    "vote_pour": "25",
    "vote_contre": "3",
    "vote_abstention": "2",
}


@pytest.fixture()
def api(settings, s3_client, tmp_path):
    """The real API resolver over the same buckets (API Gateway v2 events, like the Lambda)."""
    from regate.api.app import build_services, create_app
    from regate_local.serve.server import http_api_event

    services = build_services(
        settings.model_copy(update={"api_cache_dir": str(tmp_path / "api-cache")}),
        s3_client,
        list_ttl_seconds=0,
    )
    app = create_app(services)

    def get(target: str) -> dict:
        return app.resolve(http_api_event("GET", target, {}), {})

    return get


def scdl_ids(curated_store, annee: int = 2024) -> list[str]:
    key = layout.scdl_deliberations_key(RENNES, annee)
    return [r["DELIB_ID"] for r in csv.DictReader(io.StringIO(curated_store.get_bytes(key).decode()))]


def served(api, annee: int = 2024) -> tuple[set[str], set[str]]:
    page = api(f"/v1/deliberations?siren={RENNES}&annee={annee}&limit=100")
    assert page["statusCode"] == 200, page
    body = json.loads(page["body"])
    items = body["data"]
    scdl = api(f"/v1/deliberations/{RENNES}/{annee}.csv")
    assert scdl["statusCode"] == 200, scdl
    rows = csv.DictReader(io.StringIO(scdl["body"]))
    return {i["delib_id"] for i in items}, {r["DELIB_ID"] for r in rows}


@pytest.fixture()
def config(curated_store) -> None:
    curated_store.put_if_changed(
        layout.CONFIG_COLLECTIVITES_KEY,
        f"siren,siret,nom\n{RENNES},{RENNES_SIRET},Ville de Rennes\n".encode(),
    )


def test_absurd_numbers_and_dates_are_quarantined_and_the_rest_is_served(
    seeder, raw_store, curated_store, settings, config, api
):
    seeder.put("pull_deliberation.json", id_d="Good001", data={"numero_de_lacte": "G1", **VOTES})
    seeder.put("pull_deliberation.json", id_d="Good002", data={"numero_de_lacte": "G2"})
    seeder.put(
        "pull_deliberation.json",
        id_d="Vote2p40",
        data={**VOTES, "numero_de_lacte": "V40", "vote_pour": str(2**40)},
    )
    seeder.put(
        "pull_deliberation.json", id_d="VoteNeg", data={**VOTES, "numero_de_lacte": "VN", "vote_contre": "-1"}
    )
    seeder.put(
        "pull_deliberation.json",
        id_d="Year999",
        data={"numero_de_lacte": "Y999", "date_de_lacte": "0999-05-01"},
    )
    seeder.put(
        "pull_deliberation.json", id_d="Ar2999", data={"numero_de_lacte": "A2999", "date_ar": "2999-01-01"}
    )
    seeder.put(
        "pull_deliberation.json", id_d="Surrog1", data={"numero_de_lacte": "S1", "objet": "Objet SURROGATE"}
    )
    detail = layout.document_detail_key("12", "Surrog1")  # a lone surrogate, valid JSON, not encodable UTF-8
    raw_store.put_if_changed(detail, raw_store.get_bytes(detail).replace(b"SURROGATE", b"\\ud800"))
    report = run_normalize(raw_store, curated_store, settings, workers=2)
    reasons = {q.id_d: q.reason for q in report.quarantined}
    assert reasons == {
        "Vote2p40": "valeur_hors_bornes",
        "VoteNeg": "valeur_hors_bornes",
        "Year999": "date_hors_bornes",
        "Ar2999": "date_hors_bornes",
        "Surrog1": "json_invalide",  # pydantic reads JSON as strict UTF-8: contained before any record
    }
    assert "1099511627776" in next(q.message for q in report.quarantined if q.id_d == "Vote2p40")
    entry = curated_store.get_json(layout.quarantine_key("12", "Year999"))
    assert entry["reason"] == "date_hors_bornes" and "0999-05-01" in entry["message"]

    # the rest of the partition is built and served: SCDL file, national file, API routes
    assert scdl_ids(curated_store) == ["G1", "G2"]
    assert curated_store.exists(layout.scdl_deliberations_national_key(2024))
    assert served(api) == ({"G1", "G2"}, {"G1", "G2"})
    # nothing was written for the impossible year
    assert not [k for k in curated_store.list_keys("") if "/999/" in k or "annee=999/" in k or "/0999" in k]
    # unchanged quarantined documents are not reprocessed; a corrected one comes back
    assert run_normalize(raw_store, curated_store, settings).quarantined == []
    seeder.put("pull_deliberation.json", id_d="Vote2p40", data={**VOTES, "numero_de_lacte": "V40"})
    again = run_normalize(raw_store, curated_store, settings)
    assert again.quarantined == [] and not curated_store.exists(layout.quarantine_key("12", "Vote2p40"))
    assert served(api)[1] == {"G1", "G2", "V40"}


def test_a_record_the_partition_build_rejects_is_quarantined_and_the_partition_rebuilt(
    seeder, raw_store, curated_store, settings, config, api
):
    """Records written by an older version (or damaged) must not freeze the collectivité-year."""
    seeder.put("pull_deliberation.json", id_d="Good001", data={"numero_de_lacte": "G1", **VOTES})
    seeder.put("pull_deliberation.json", id_d="OldRec1", data={"numero_de_lacte": "OLD1", **VOTES})
    seeder.put("pull_deliberation.json", id_d="Broken1", data={"numero_de_lacte": "BRK1"})
    run_normalize(raw_store, curated_store, settings)
    assert served(api)[1] == {"G1", "OLD1", "BRK1"}
    old_key = layout.record_key(RENNES, 2024, "12", "OldRec1")
    record = curated_store.get_json(old_key)
    record["row"]["vote_pour"] = 2**40  # what an older normaliser could have stored
    curated_store.put_if_changed(old_key, json.dumps(record).encode())
    old_documents = [layout.public_document_key(d["document_id"], d["nom"]) for d in record["documents"]]
    assert all(curated_store.exists(k) for k in old_documents)
    curated_store.put_if_changed(layout.record_key(RENNES, 2024, "12", "Broken1"), b'{"version": 1, "id_e": ')

    seeder.put(
        "pull_deliberation.json", id_d="New0001", data={"numero_de_lacte": "N1"}
    )  # touches the partition
    report = run_normalize(raw_store, curated_store, settings)
    assert {(q.id_d, q.reason) for q in report.quarantined} == {
        ("OldRec1", "partition_invalide"),
        ("Broken1", "record_illisible"),
    }
    assert served(api) == ({"G1", "N1"}, {"G1", "N1"})
    assert not curated_store.exists(old_key) and not any(curated_store.exists(k) for k in old_documents)
    assert not curated_store.exists(layout.record_pointer_key("12", "OldRec1"))
    assert curated_store.get_json(layout.quarantine_key("12", "OldRec1"))["reason"] == "partition_invalide"

    # both are rebuilt from raw by the next run (their raw documents are fine under the current rules)
    rerun = run_normalize(raw_store, curated_store, settings)
    assert {("Broken1", "BRK1"), ("OldRec1", "OLD1")} <= {(p.id_d, p.numero) for p in rerun.published}
    assert rerun.quarantined == [] and list(curated_store.list_keys(layout.QUARANTINE_PREFIX)) == []
    assert served(api)[1] == {"G1", "N1", "BRK1", "OLD1"}


def test_an_act_whose_record_cannot_be_built_is_quarantined_not_the_run(
    seeder, raw_store, curated_store, settings, config, monkeypatch
):
    """Defence in depth: whatever a record build raises for one act is that act's quarantine."""
    import regate.normalize.pipeline as pipeline

    real = pipeline.build_record

    def fragile(acte, *args, **kwargs):
        if acte.numero == "BOOM":
            raise UnicodeEncodeError("utf-8", "x", 0, 1, "surrogates not allowed")
        return real(acte, *args, **kwargs)

    monkeypatch.setattr(pipeline, "build_record", fragile)
    seeder.put("pull_deliberation.json", id_d="Good001", data={"numero_de_lacte": "G1"})
    seeder.put("pull_deliberation.json", id_d="Boom001", data={"numero_de_lacte": "BOOM"})
    report = run_normalize(raw_store, curated_store, settings)
    assert [(q.id_d, q.reason) for q in report.quarantined] == [("Boom001", "record_invalide")]
    assert scdl_ids(curated_store) == ["G1"]
