"""Budget acts (nature 5, TOTEM XML as main file) through the normaliser on moto: SCDL budget files per
(SIREN, exercice) and national, Parquet internal/public, the raw XML never public, idempotence, a new DM
replacing only what it should, a withheld budget without public rows, a PDF budget without rows."""

from __future__ import annotations

import csv
import io
import json
import warnings
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import RENNES_SIRET, SHARED_DIR  # type: ignore[import-not-found]

from regate.flux.budgets.scdl import validate_budget_csv
from regate.normalize.pipeline import Normalizer
from regate.normalize.reports import RunReport
from regate.storage import layout
from regate_local.budgets.totem_generator import generate_totem

pytestmark = pytest.mark.integration

SIREN = "213502388"
CSV_KEY = layout.scdl_budgets_key(SIREN, 2024)
NATIONAL_KEY = layout.scdl_budgets_national_key(2024)


def totem(
    etape: str, scellement: str, *, seed: int, date_decision: str | None = None, lignes: int = 40
) -> bytes:
    out = io.BytesIO()
    generate_totem(
        out,
        etape=etape,
        exercice=2024,
        nomenclature="M57-M57_A",
        lignes=lignes,
        seed=seed,
        siret=RENNES_SIRET,
        scellement=scellement,
        date_decision=date_decision,
    )
    return out.getvalue()


def put_budget(seeder, id_d: str, xml: bytes, *, code: str = "3", tamponne: bool = False) -> None:
    drop = () if tamponne else ("acte_tamponne",)
    doc = seeder.put(
        "pull_deliberation.json",
        id_d=id_d,
        data={"acte_nature": "5", "numero_de_lacte": f"BUD_{id_d}", "publication_open_data": code},
        drop=drop,
        files={"arrete": xml},
    )
    if not tamponne:  # an XML budget is never stamped: no acte_tamponne file either
        doc["capture"]["files"] = [f for f in doc["capture"]["files"] if f["field"] != "acte_tamponne"]
        seeder.raw.put_if_changed(
            layout.document_detail_key("12", id_d),
            json.dumps(doc, ensure_ascii=False, sort_keys=True).encode(),
        )


def run(raw_store, curated_store, settings) -> RunReport:
    report = RunReport()
    Normalizer.from_stores(raw_store, curated_store, settings, report=report).run_pending(report)
    return report


def rows(curated_store, key: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(curated_store.get_bytes(key).decode("utf-8"))))


def versions(store) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for page in store.client.get_paginator("list_object_versions").paginate(Bucket=store.bucket):
        for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
            out.setdefault(v["Key"], []).append(v["VersionId"])
    return out


def validata_errors(data: bytes, tmp_path: Path) -> list:
    validata_core = pytest.importorskip("validata_core")
    schema = json.loads((SHARED_DIR / "reference/schemas/scdl_budget_0.8.3_schema.json").read_text())
    path = tmp_path / "budget.csv"
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(validata_core.validate(str(path), schema).to_dict()["errors"])


def test_budget_acts_become_valid_scdl_budget_files(
    seeder, raw_store, curated_store, settings, rennes_config, tmp_path
):
    bp = totem("BP", "2024-03-01T10:00:00", seed=1)
    put_budget(seeder, "BUDBP1", bp, tamponne=True)
    report = run(raw_store, curated_store, settings)
    assert not report.quarantined, report.quarantined

    data = curated_store.get_bytes(CSV_KEY)
    first = rows(curated_store, CSV_KEY)
    assert first and {r["BGT_NATDEC"] for r in first} == {"budget primitif"}
    assert {r["BGT_SIRET"] for r in first} == {RENNES_SIRET}
    assert validate_budget_csv(data, strict=True).valid
    assert validata_errors(data, tmp_path) == []
    national = curated_store.get_bytes(NATIONAL_KEY)
    assert national == data  # one SIREN: the national file is the same bytes

    internal = pq.read_table(io.BytesIO(curated_store.get_bytes(layout.budgets_parquet_key(SIREN, 2024))))
    public = pq.read_table(io.BytesIO(curated_store.get_bytes(layout.budgets_parquet_key(SIREN, 2024, True))))
    assert internal.num_rows == public.num_rows == len(first)
    assert set(internal.column("etape").to_pylist()) == {"BP"}
    assert set(internal.column("cod_bud").to_pylist()) == {"00"}
    assert "typopbudg" in internal.column_names

    # the raw XML is never public; the stamped PDF is
    public_docs = list(curated_store.list_keys(layout.PUBLIC_DOCUMENTS_PREFIX))
    assert public_docs
    assert all(curated_store.get_bytes(k) != bp for k in public_docs)
    assert all(not curated_store.get_bytes(k).lstrip().startswith(b"<") for k in public_docs)

    # a second run changes nothing
    before = versions(curated_store)
    again = run(raw_store, curated_store, settings)
    assert again.files_written == [] and again.files_deleted == []
    assert versions(curated_store) == before

    # a DM is added beside the BP; a re-sealed BP replaces the BP, and only it
    dm = totem("DM", "2024-06-01T10:00:00", seed=2, date_decision="2024-05-30", lignes=10)
    put_budget(seeder, "BUDDM1", dm)
    run(raw_store, curated_store, settings)
    second = rows(curated_store, CSV_KEY)
    bp_rows = [r for r in second if r["BGT_NATDEC"] == "budget primitif"]
    dm_rows = [r for r in second if r["BGT_NATDEC"] == "décision modificative"]
    assert bp_rows == first and len(dm_rows) == 10

    bp2 = totem("BP", "2024-04-01T10:00:00", seed=3, lignes=25)
    put_budget(seeder, "BUDBP2", bp2)
    run(raw_store, curated_store, settings)
    third = rows(curated_store, CSV_KEY)
    assert [r for r in third if r["BGT_NATDEC"] == "décision modificative"] == dm_rows
    assert len([r for r in third if r["BGT_NATDEC"] == "budget primitif"]) == 25
    assert validata_errors(curated_store.get_bytes(CSV_KEY), tmp_path) == []
    assert curated_store.get_bytes(NATIONAL_KEY) == curated_store.get_bytes(CSV_KEY)

    # an older sealing arriving late does not win
    bp0 = totem("BP", "2024-02-01T10:00:00", seed=4, lignes=5)
    put_budget(seeder, "BUDBP0", bp0)
    run(raw_store, curated_store, settings)
    assert rows(curated_store, CSV_KEY) == third


def test_withheld_budget_has_no_public_rows_and_pdf_budget_no_rows(
    seeder, raw_store, curated_store, settings, rennes_config
):
    put_budget(seeder, "BUDNO", totem("BP", "2024-03-01T10:00:00", seed=5), code="1")  # « Non »
    put_budget(seeder, "BUDPDF", b"%PDF-1.4 budget en PDF")
    report = run(raw_store, curated_store, settings)
    assert not report.quarantined
    assert not curated_store.exists(CSV_KEY) and not curated_store.exists(NATIONAL_KEY)
    assert not curated_store.exists(layout.budgets_parquet_key(SIREN, 2024, public=True))
    internal = pq.read_table(io.BytesIO(curated_store.get_bytes(layout.budgets_parquet_key(SIREN, 2024))))
    assert internal.num_rows == 40  # kept internally
    assert list(curated_store.list_keys(layout.budget_document_prefix(SIREN, 2024))) == [
        layout.budget_document_key(SIREN, 2024, "12", "BUDNO")
    ]

    # the withheld act is cancelled: its lines leave the lake
    put_budget(seeder, "BUDNO", totem("BP", "2024-03-01T10:00:00", seed=5), code="3")
    run(raw_store, curated_store, settings)
    assert len(rows(curated_store, CSV_KEY)) == 40
    raw_store.client.delete_object(Bucket=raw_store.bucket, Key=layout.document_detail_key("12", "BUDNO"))
    run(raw_store, curated_store, settings)
    assert not curated_store.exists(CSV_KEY) and not curated_store.exists(NATIONAL_KEY)
    assert not curated_store.exists(layout.budgets_parquet_key(SIREN, 2024))
    assert list(curated_store.list_keys(layout.budget_document_prefix(SIREN, 2024))) == []


def test_hostile_totem_gives_no_rows_and_is_never_public(
    seeder, raw_store, curated_store, settings, rennes_config
):
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        b'<DocumentBudgetaire xmlns="http://www.minefi.gouv.fr/cp/demat/docbudgetaire">&lol2;</DocumentBudgetaire>'
    )
    put_budget(seeder, "BUDEVIL", hostile)
    report = run(raw_store, curated_store, settings)
    assert not report.quarantined  # the act itself is fine: it stays a document without rows
    assert "totem_invalide" in {w.code for w in report.warnings}
    assert not curated_store.exists(CSV_KEY)
    assert list(curated_store.list_keys(layout.BUDGET_DOCUMENTS_PREFIX)) == []
    for key in curated_store.list_keys(layout.PUBLIC_DOCUMENTS_PREFIX):
        assert curated_store.get_bytes(key) != hostile


def test_rebuild_restores_the_budget_products_byte_for_byte(
    seeder, raw_store, curated_store, settings, rennes_config
):
    put_budget(seeder, "BUDBP1", totem("BP", "2024-03-01T10:00:00", seed=1), tamponne=True)
    put_budget(
        seeder, "BUDDM1", totem("DM", "2024-06-01T10:00:00", seed=2, date_decision="2024-05-30", lignes=9)
    )

    def rebuild() -> None:
        report = RunReport(mode="rebuild")
        Normalizer.from_stores(raw_store, curated_store, settings, report=report).rebuild_all(report)

    rebuild()
    products = ("scdl/budgets/", "budgets/lignes/", "public/budgets/")
    first = {k: curated_store.get_bytes(k) for p in products for k in curated_store.list_keys(p)}
    assert len(first) == 5  # SIREN file, national file, internal, public and national public Parquet
    for key in first:
        curated_store.delete(key)
    rebuild()
    assert {k: curated_store.get_bytes(k) for p in products for k in curated_store.list_keys(p)} == first
