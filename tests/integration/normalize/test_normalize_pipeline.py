"""End to end on the moto server: raw documents → records → SCDL CSV, Parquet, public documents."""

from __future__ import annotations

import csv
import io
import json

import pyarrow.parquet as pq
import pytest
from conftest import NORMALIZE_FIXTURES, RENNES_SIRET, validata_errors  # type: ignore[import-not-found]

from regate.normalize.pipeline import Normalizer
from regate.normalize.reports import RunReport
from regate.storage import layout
from regate.storage.datasets import ACTES_SCHEMA, PUBLIC_ACTES_SCHEMA

pytestmark = pytest.mark.integration


def run(raw_store, curated_store, settings, mode: str = "normalize") -> RunReport:
    report = RunReport()
    normalizer = Normalizer.from_stores(raw_store, curated_store, settings, report=report)
    if mode == "rebuild":
        return normalizer.rebuild_all(report)
    return normalizer.run_pending(report)


def csv_rows(curated_store, key: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(curated_store.get_bytes(key).decode("utf-8"))))


def all_versions(store) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    paginator = store.client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=store.bucket):
        for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
            out.setdefault(v["Key"], []).append(v["VersionId"])
    return out


def test_normalize_cell_by_cell(seeder, raw_store, curated_store, settings, rennes_config, tmp_path):
    seeder.put("pull_deliberation.json")  # 7.5, publier (code 3 = "Oui" in the captured flux definition)
    seeder.put(
        "pull_deliberation.json",
        id_d="Lvl3Quo",
        data={
            "numero_de_lacte": "DEL2024_013",
            "classification": "1.1.2 Marchés publics",
            "objet": 'Travaux "rue de l\'Église", lot 2\nsuite ’ œ € 🎉 Ωmega',
            "acte_unique_id": "",
            "date_ar": "",
        },
    )  # ARActe read from raw for IDActe and date_ar
    seeder.put(
        "pull_deliberation.json",
        id_d="EarlyAR",
        data={"numero_de_lacte": "DEL2024_014", "date_de_lacte": "2024-02-10", "date_ar": "2024-02-01"},
    )
    seeder.put(
        "pull_deliberation.json",
        id_d="Indiv01",
        data={"numero_de_lacte": "AI2024_001", "acte_nature": "3", "publication_open_data": ""},
    )
    seeder.put("push_deliberation.json")  # date 2024-3-5 from a depot ZIP
    report = run(raw_store, curated_store, settings)

    rows = csv_rows(curated_store, layout.scdl_deliberations_key("213502388", 2024))
    by_id = {r["DELIB_ID"]: r for r in rows}
    assert next(iter(rows[0])) == "COLL_NOM" and len(rows[0]) == 17
    assert set(by_id) == {"DEL2024_012", "DEL2024_013", "DEL2024_014", "CM_2024_031"}  # no acte individuel
    first = by_id["DEL2024_012"]
    assert first["COLL_NOM"] == "Ville de Rennes" and first["COLL_SIRET"] == RENNES_SIRET
    assert first["DELIB_DATE"] == "2024-01-15" and first["PREF_DATE"] == "2024-01-18"
    assert (
        first["DELIB_MATIERE_CODE"] == "7.5" and first["DELIB_MATIERE_NOM"] == "finances locales/subventions"
    )
    assert first["PREF_ID"] == "PREF035" and first["BUDGET_ANNEE"] == "" and first["VOTE_EFFECTIF"] == ""
    assert first["DELIB_URL"].startswith("https://regate.example.org/v1/documents/")
    third = by_id["DEL2024_013"]
    assert third["DELIB_MATIERE_CODE"] == "1.1"
    assert third["DELIB_MATIERE_NOM"] == "commande publique/marchés publics"
    assert third["DELIB_OBJET"] == 'Travaux "rue de l\'Église", lot 2 suite ’ œ € 🎉 Ωmega'
    assert third["PREF_ID"] == "PREF035" and third["PREF_DATE"] == "2024-01-18"  # from the ARActe
    assert by_id["DEL2024_014"]["PREF_DATE"] == ""
    assert any(w.code == "pref_date_anterieure" and w.id_d == "EarlyAR" for w in report.warnings)
    assert by_id["CM_2024_031"]["DELIB_DATE"] == "2024-03-05"
    assert by_id["CM_2024_031"]["DELIB_MATIERE_NOM"] == "finances locales/fiscalité"
    assert [r["DELIB_ID"] for r in rows] == sorted(by_id, key=lambda i: (by_id[i]["DELIB_DATE"], i))
    assert (
        validata_errors(curated_store.get_bytes(layout.scdl_deliberations_key("213502388", 2024)), tmp_path)
        == []
    )
    national = curated_store.get_bytes(layout.scdl_deliberations_national_key(2024))
    assert national == curated_store.get_bytes(layout.scdl_deliberations_key("213502388", 2024))
    assert validata_errors(national, tmp_path) == []

    # Parquet: exact schemas; the acte individuel only in the internal dataset
    actes = pq.read_table(io.BytesIO(curated_store.get_bytes(layout.actes_parquet_key("213502388", 2024))))
    public = pq.read_table(
        io.BytesIO(curated_store.get_bytes(layout.actes_parquet_key("213502388", 2024, public=True)))
    )
    assert actes.schema.equals(ACTES_SCHEMA) and public.schema.equals(PUBLIC_ACTES_SCHEMA)
    assert actes.num_rows == 5 and public.num_rows == 4
    assert "AI2024_001" not in public.column("delib_id").to_pylist()
    internal = {r["delib_id"]: r for r in actes.to_pylist()}
    assert internal["AI2024_001"]["decision"] == "retenir"
    assert internal["AI2024_001"]["decision_motif"] == "acte_individuel_prive_par_defaut"
    assert internal["DEL2024_012"]["decision_motif"] == "pastell_oui"

    # documents: stamped act + annex of the published acts; nothing of the acte individuel
    doc_keys = set(curated_store.list_keys(layout.PUBLIC_DOCUMENTS_PREFIX))
    published = {r["document_id"] for r in public.to_pylist()}
    assert {k.split("/")[2] for k in doc_keys} >= published
    assert not any(internal["AI2024_001"]["id_d"] in k for k in doc_keys)
    indiv_files = json.loads(internal["AI2024_001"]["fichiers"])
    assert all(f["sha256"] not in "".join(doc_keys) for f in indiv_files)
    main_doc = internal["DEL2024_012"]["document_id"]
    assert curated_store.get_bytes(layout.public_document_key(main_doc, "DEL2024_012-tampon.pdf")).startswith(
        b"%PDF"
    )
    assert curated_store.exists(layout.dirty_partition_key("213502388", 2024))
    assert curated_store.exists(layout.dirty_partition_key("all", 2024))
    saved = curated_store.get_json(layout.run_report_key("normalize"))
    assert saved is None or saved["stage"] == "normalize"  # the CLI saves it; the library does not

    # idempotency: a second run writes nothing anywhere
    before = all_versions(curated_store)
    again = run(raw_store, curated_store, settings)
    assert all_versions(curated_store) == before
    assert again.files_written == [] and again.documents_skipped == 5


def test_normalize_cancelled_and_deleted_acts_are_withdrawn(
    seeder, raw_store, curated_store, settings, rennes_config
):
    seeder.put("pull_deliberation.json")
    seeder.put("pull_deliberation.json", id_d="Gone001", data={"numero_de_lacte": "DEL2024_020"})
    run(raw_store, curated_store, settings)
    docs_before = set(curated_store.list_keys(layout.PUBLIC_DOCUMENTS_PREFIX))
    assert len(docs_before) == 4
    seeder.put("pull_deliberation.json", last_action="annuler-tdt")
    raw_store.delete(layout.document_detail_key("12", "Gone001"))
    report = run(raw_store, curated_store, settings)
    assert {(w.id_d, w.reason) for w in report.withdrawn} == {("Xk3P9aQ", "annule"), ("Gone001", "supprime")}
    assert not curated_store.exists(layout.scdl_deliberations_key("213502388", 2024))
    assert not curated_store.exists(layout.actes_parquet_key("213502388", 2024))
    assert not curated_store.exists(layout.actes_parquet_key("213502388", 2024, public=True))
    assert list(curated_store.list_keys(layout.PUBLIC_DOCUMENTS_PREFIX)) == []
    assert list(curated_store.list_keys(layout.RECORDS_PREFIX)) == []
    dirty = curated_store.get_json(layout.dirty_partition_key("213502388", 2024))
    assert dirty["deleted"] is True


def test_normalize_quarantine_and_pending(seeder, raw_store, curated_store, settings, rennes_config):
    seeder.put("malformed_no_siren.json")
    seeder.put("malformed_bad_date.json")
    seeder.put_bytes("12", "Broken1", b'{"capture": {"source": "pull"}, "detail": ')
    seeder.put("pull_deliberation.json", id_e="77", id_d="NoSiret", data={"numero_de_lacte": "DEL2024_099"})
    raw_store.put_if_changed(  # an entity whose collectivité has no SIRET anywhere
        layout.document_detail_key("77", "NoSiret"),
        raw_store.get_bytes(layout.document_detail_key("77", "NoSiret")).replace(b"213502388", b"200046977"),
    )
    report = run(raw_store, curated_store, settings)
    reasons = {q.id_d: q.reason for q in report.quarantined}
    assert reasons == {"NoSiren1": "siren_absent", "BadDate1": "date_invalide", "Broken1": "json_invalide"}
    entry = curated_store.get_json(layout.quarantine_key("99", "NoSiren1"))
    assert entry["reason"] == "siren_absent" and entry["raw_key"] == "pastell/99/NoSiren1/detail.json"
    assert ("NoSiret", "siret_inconnu") in {(p.id_d, p.reason) for p in report.pending}
    assert not curated_store.exists(layout.scdl_deliberations_key("200046977", 2024))
    assert curated_store.exists(layout.actes_parquet_key("200046977", 2024))
    # unchanged quarantined documents are not reprocessed
    again = run(raw_store, curated_store, settings)
    assert again.quarantined == [] and again.documents_skipped == 4


def test_normalize_rebuild_is_byte_identical(seeder, raw_store, curated_store, settings, rennes_config):
    seeder.put("pull_deliberation.json")
    seeder.put("push_deliberation.json")
    seeder.put(
        "pull_deliberation.json",
        id_d="Y2023ab",
        data={"numero_de_lacte": "DEL2023_1", "date_de_lacte": "2023-12-01"},
    )
    run(raw_store, curated_store, settings, mode="rebuild")
    first = {
        k: curated_store.get_bytes(k) for k in curated_store.list_keys("") if not k.startswith("_state/")
    }
    versions = all_versions(curated_store)
    # wipe the products (not raw) and rebuild: same bytes; a second rebuild writes nothing
    for key in list(curated_store.list_keys("scdl/")) + list(curated_store.list_keys("public/")):
        curated_store.delete(key)
    run(raw_store, curated_store, settings, mode="rebuild")
    second = {
        k: curated_store.get_bytes(k) for k in curated_store.list_keys("") if not k.startswith("_state/")
    }
    assert second == first
    versions = all_versions(curated_store)
    run(raw_store, curated_store, settings, mode="rebuild")
    assert all_versions(curated_store) == versions
    assert curated_store.exists(layout.scdl_deliberations_national_key(2023))


def test_normalize_flux_table_overrides_and_switches(seeder, raw_store, curated_store, settings, tmp_path):
    raw_store.put_if_changed(
        layout.flux_definition_key("deliberations-studio"),
        (NORMALIZE_FIXTURES / "flux_deliberations_studio.json").read_bytes(),
    )
    curated_store.put_if_changed(
        layout.CONFIG_COLLECTIVITES_KEY,
        (
            "siren,siret,nom,open_data,documents,annexes\n"
            f"213502388,{RENNES_SIRET},Ville de Rennes,oui,non,\n"
        ).encode(),
    )
    curated_store.put_if_changed(
        layout.CONFIG_OVERRIDES_KEY,
        (b"siren,id_d,numero,decision,motif\n213502388,Over001,,retenir,donnees_personnelles\n"),
    )
    seeder.put("pull_deliberation.json")  # "3" is not in this flux's table → a_statuer
    seeder.put(
        "pull_deliberation.json", id_d="Oui0001", data={"numero_de_lacte": "D2", "publication_open_data": "1"}
    )
    seeder.put(
        "pull_deliberation.json", id_d="Over001", data={"numero_de_lacte": "D3", "publication_open_data": "1"}
    )
    report = run(raw_store, curated_store, settings)
    decisions = {p.id_d: (p.decision, p.motif) for p in report.published + report.withheld + report.pending}
    assert decisions["Xk3P9aQ"] == ("a_statuer", "publication_open_data_inconnu")
    assert decisions["Oui0001"] == ("metadonnees", "collectivite_documents_desactives")
    assert decisions["Over001"] == ("retenir", "surcharge_operateur")
    assert report.errors == []
    rows = csv_rows(curated_store, layout.scdl_deliberations_key("213502388", 2024))
    assert [(r["DELIB_ID"], r["DELIB_URL"]) for r in rows] == [("D2", "")]  # metadata only, no URL
    assert list(curated_store.list_keys(layout.PUBLIC_DOCUMENTS_PREFIX)) == []
    public = pq.read_table(
        io.BytesIO(curated_store.get_bytes(layout.actes_parquet_key("213502388", 2024, public=True)))
    )
    assert public.column("delib_id").to_pylist() == ["D2"]
    assert (
        validata_errors(curated_store.get_bytes(layout.scdl_deliberations_key("213502388", 2024)), tmp_path)
        == []
    )


def test_normalize_push_and_pull_of_one_act_make_one_row(
    seeder, raw_store, curated_store, settings, rennes_config, tmp_path
):
    seeder.put("pull_deliberation.json")
    seeder.put(
        "push_deliberation.json", data={"numero_de_lacte": "DEL2024_012", "date_de_lacte": "2024-1-15"}
    )
    report = run(raw_store, curated_store, settings)
    rows = csv_rows(curated_store, layout.scdl_deliberations_key("213502388", 2024))
    assert [r["DELIB_ID"] for r in rows] == ["DEL2024_012"]
    assert [(w.code, w.id_d) for w in report.warnings if w.code == "acte_en_double"] == [
        ("acte_en_double", "Ab12Cd3")
    ]
    actes = pq.read_table(io.BytesIO(curated_store.get_bytes(layout.actes_parquet_key("213502388", 2024))))
    assert actes.column("source").to_pylist() == ["pull"]
    assert (
        validata_errors(curated_store.get_bytes(layout.scdl_deliberations_key("213502388", 2024)), tmp_path)
        == []
    )
