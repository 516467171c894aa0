"""The budgets routes of the API on moto, over partitions written by the real budget chain (BP, DM and CA of
generated TOTEM documents, two collectivités, one with a budget annexe)."""

from __future__ import annotations

import base64
import io
import json
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest

from regate.api.app import build_services, create_app
from regate.api.collectivites import EmptyDirectory
from regate.clock import FakeClock
from regate.flux.budgets.chain import (
    BudgetEntry,
    entry_body,
    rebuild_budget_national,
    rebuild_budget_partition,
)
from regate.flux.budgets.convert import convert_document
from regate.flux.budgets.totem import read_totem
from regate.storage import layout
from regate_local.budgets.totem_generator import generate_totem
from regate_local.serve.server import http_api_event

pytestmark = pytest.mark.integration

RENNES, RENNES_SIRET, ANNEXE_SIRET = "213502388", "21350238800019", "21350238800027"
METRO, METRO_SIRET = "243500139", "24350013900189"
DOCS = (  # (siren, siret, etape, annee, seed, lignes, libelle_etab, cod_bud)
    (RENNES, RENNES_SIRET, "BP", 2025, 1, 40, "VILLE DE RENNES", "00"),
    (RENNES, RENNES_SIRET, "DM", 2025, 2, 25, "VILLE DE RENNES", "00"),
    (RENNES, ANNEXE_SIRET, "BP", 2025, 3, 15, "BUDGET ANNEXE EAU", "01"),
    (RENNES, RENNES_SIRET, "CA", 2024, 4, 30, "VILLE DE RENNES", "00"),
    (METRO, METRO_SIRET, "BP", 2025, 5, 20, "RENNES METROPOLE", "00"),
)


def entries() -> list[BudgetEntry]:
    found = []
    for n, (siren, siret, etape, annee, seed, lignes, etab, cod_bud) in enumerate(DOCS):
        out = io.BytesIO()
        generate_totem(
            out,
            etape=etape,
            exercice=annee,
            lignes=lignes,
            seed=seed,
            siret=siret,
            libelle_etab=etab,
            cod_bud=cod_bud,
            fonctions=True,
            scellement=f"{annee}-0{n + 1}-10T10:00:00",
        )
        lu = read_totem(out.getvalue())
        conversion = convert_document(lu, document_id=f"13.doc{n}")
        found.append(
            BudgetEntry(
                id_e="13",
                id_d=f"doc{n}",
                siren=siren,
                exercice=annee,
                decision="publier",
                fichier="t.xml",
                metadata=lu.metadata,
                lignes=conversion.lignes,
            )
        )
    return found


@pytest.fixture()
def api(curated_store, settings, s3_client, tmp_path) -> Any:
    made = entries()
    for entry in made:
        curated_store.put_if_changed(entry.key, entry_body(entry), "application/json")
    for siren, annee in sorted({(e.siren, e.exercice) for e in made}):
        assert not rebuild_budget_partition(curated_store, siren, annee).problems
    for annee in (2024, 2025):
        rebuild_budget_national(curated_store, annee)
    services = build_services(
        settings.model_copy(update={"api_cache_dir": str(tmp_path / "cache")}),
        s3_client,
        directory=EmptyDirectory(),
        list_ttl_seconds=0,
    )
    services.clock = FakeClock(datetime(2025, 6, 1, 8, tzinfo=UTC))
    app = create_app(services)

    def get(target: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        return app.resolve(http_api_event("GET", target, headers or {}), {})

    get.entries = made  # type: ignore[attr-defined]
    get.curated = curated_store  # type: ignore[attr-defined]
    return get


def _json(response: dict[str, Any], status: int = 200) -> Any:
    assert response["statusCode"] == status, response
    return json.loads(response["body"])


def _path(url: str | None) -> str:
    return urlsplit(url)._replace(scheme="", netloc="").geturl() if url else ""


def test_listing_filters_fields_sort_and_cursor(api) -> None:
    lines = [line for e in api.entries for line in e.lignes]
    body = _json(api("/v1/budgets?limit=1000"))  # no siren: the national Parquet of each exercice
    assert body["total"] == len(lines) == len(body["data"])
    assert api.curated.exists(layout.budgets_national_parquet_key(2025))
    six = ",".join([RENNES, METRO, "200000001", "200000002", "200000003", "200000004"])  # > per-SIREN lists
    assert _json(api(f"/v1/budgets?siren={six}&limit=1"))["total"] == len(lines)
    # without the national file (an older deployment), the per-SIREN files answer the same
    for annee in (2024, 2025):
        api.curated.delete(layout.budgets_national_parquet_key(annee))
    assert _json(api("/v1/budgets?limit=1000"))["data"] == body["data"]
    assert [r["siren"] for r in body["data"]] == sorted(r["siren"] for r in body["data"])

    rennes_bp = [x for x in lines if x.siren == RENNES and x.annee == 2025 and x.etape == "BP"]
    got = _json(api(f"/v1/budgets?siren={RENNES}&annee=2025&etape=bp&limit=1000"))
    assert got["total"] == len(rennes_bp) and {r["etape"] for r in got["data"]} == {"BP"}

    expected = [x for x in lines if x.section == "investissement" and x.codrd == "dépense"]
    got = _json(api("/v1/budgets?section=investissement&sens=depense&limit=1000"))
    assert got["total"] == len(expected) > 0
    assert all(r["section"] == "investissement" and r["codrd"] == "dépense" for r in got["data"])

    chapitre = rennes_bp[0].contnat
    got = _json(api(f"/v1/budgets?chapitre={chapitre}&limit=1000"))
    assert got["total"] == sum(1 for x in lines if x.contnat == chapitre)
    fonction = next(x.fonction for x in lines if x.fonction)
    got = _json(api(f"/v1/budgets?fonction={fonction[:1]}&limit=1000"))
    assert got["total"] == sum(1 for x in lines if x.fonction and x.fonction.startswith(fonction[:1]))
    got = _json(api(f"/v1/budgets?siret={ANNEXE_SIRET}&limit=1000"))
    assert {r["nom"] for r in got["data"]} == {"BUDGET ANNEXE EAU"}

    # every page of a cursor walk, by amount descending: every line once, in order
    seen: list[tuple[Any, ...]] = []
    amounts: list[float] = []
    target = "/v1/budgets?limit=13&sort=-montant&fields=siren,siret,annee,ligne,montant,etape"
    while target:
        page = _json(api(target))
        assert all(set(r) == {"siren", "siret", "annee", "ligne", "montant", "etape"} for r in page["data"])
        seen += [(r["siret"], r["annee"], r["etape"], r["ligne"]) for r in page["data"]]
        amounts += [r["montant"] for r in page["data"]]
        target = _path(page["next"])
    assert len(seen) == len(set(seen)) == len(lines)
    assert amounts == sorted(amounts, reverse=True)

    for bad in ("sens=autre", "etape=XX", "siren=12", "fields=nope", "chapitre=a;b", "sort=objet"):
        assert api(f"/v1/budgets?{bad}")["statusCode"] in {400, 422}, bad
    cursor = _json(api("/v1/budgets?limit=2"))["next"]
    other = _path(cursor).replace("limit=2", "limit=2&annee=2025")
    assert api(other)["statusCode"] == 422  # a cursor is bound to its filters


def test_scdl_file_is_byte_identical_and_csv_parquet_formats(api, tmp_path) -> None:
    for siren, annee in ((RENNES, 2025), ("all", 2025), (METRO, 2025)):
        key = (
            layout.scdl_budgets_national_key(annee)
            if siren == "all"
            else layout.scdl_budgets_key(siren, annee)
        )
        response = api(f"/v1/budgets/{siren}/{annee}.csv")
        assert response["statusCode"] == 200 and response["headers"]["Content-Type"].startswith("text/csv")
        assert response["body"].encode("utf-8") == api.curated.get_bytes(key)
        etag = response["headers"]["ETag"]
        assert api(f"/v1/budgets/{siren}/{annee}.csv", {"If-None-Match": etag})["statusCode"] == 304
    assert api(f"/v1/budgets/{METRO}/2024.csv")["statusCode"] == 404
    assert api("/v1/budgets/12345/2024.csv")["statusCode"] in {400, 404, 422}

    # format=csv: the same cells as the published file (its writer), here one collectivité-year
    response = api(f"/v1/budgets?siren={METRO}&annee=2025&format=csv")
    assert response["statusCode"] == 200
    published = api.curated.get_bytes(layout.scdl_budgets_key(METRO, 2025)).decode().split("\r\n")
    got = response["body"].split("\r\n")
    assert got[0] == published[0] and sorted(got[1:]) == sorted(published[1:])
    assert api("/v1/budgets?format=csv&limit=3")["statusCode"] == 400

    import duckdb

    response = api(f"/v1/budgets?siren={RENNES}&format=parquet")
    assert response["statusCode"] == 200
    body = response["body"]
    data = base64.b64decode(body) if response.get("isBase64Encoded") else body
    path = tmp_path / "budgets.parquet"
    path.write_bytes(data if isinstance(data, bytes) else data.encode("latin-1"))
    count = duckdb.sql(f"SELECT count(*) FROM '{path}'").fetchone()[0]
    assert count == sum(len(e.lignes) for e in api.entries if e.siren == RENNES)


def test_synthese_uses_the_stage_amount_and_matches_hand_totals(api) -> None:
    body = _json(api(f"/v1/budgets/{RENNES}/2025/synthese"))
    assert body["siren"] == RENNES and body["annee"] == 2025
    assert [e["etape"] for e in body["etapes"]] == ["BP", "DM"]
    assert {b["siret"] for b in body["budgets"]} == {RENNES_SIRET, ANNEXE_SIRET}
    assert body["fichier"].endswith(f"/v1/budgets/{RENNES}/2025.csv")
    lines = [x for e in api.entries if e.siren == RENNES and e.exercice == 2025 for x in e.lignes]
    field = {"BP": "mt_prev", "DM": "mt_prop_nouv"}
    for etape in body["etapes"]:
        assert etape["montant"] == field[etape["etape"]]
        mine = [x for x in lines if x.etape == etape["etape"]]
        # hand totals from the TOTEM amounts themselves (not from the montant column)
        totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for x in mine:
            totals[(x.section, x.codrd)] += getattr(x, field[etape["etape"]]) or Decimal(0)
        for section in etape["sections"]:
            assert section["recettes"] == float(totals[(section["section"], "recette")])
            assert section["depenses"] == float(totals[(section["section"], "dépense")])
        by_chapter: dict[str, Decimal] = defaultdict(Decimal)
        for x in mine:
            if x.codrd == "dépense":
                by_chapter[x.contnat] += getattr(x, field[etape["etape"]]) or Decimal(0)
        assert {p["code"]: p["montant"] for p in etape["depenses_par_chapitre"]} == {
            k: float(v) for k, v in by_chapter.items()
        }
        montants = [p["montant"] for p in etape["depenses_par_chapitre"]]
        assert montants == sorted(montants, reverse=True)
        assert len(etape["top_depenses"]) <= 10
        assert etape["recettes_par_fonction"] or etape["depenses_par_fonction"]
    ca = _json(api(f"/v1/budgets/{RENNES}/2024/synthese?etape=CA"))
    [only] = ca["etapes"]
    assert only["montant"] == "mt_real"
    real = sum(
        (x.mt_real or Decimal(0))
        for e in api.entries
        if e.exercice == 2024
        for x in e.lignes
        if x.codrd == "dépense"
    )
    assert round(sum(s["depenses"] for s in only["sections"]), 2) == float(real)
    annexe = _json(api(f"/v1/budgets/{RENNES}/2025/synthese?siret={ANNEXE_SIRET}"))
    assert [b["siret"] for b in annexe["budgets"]] == [ANNEXE_SIRET]
    assert api(f"/v1/budgets/{METRO}/2024/synthese")["statusCode"] == 404


def test_mreport_budgets(api) -> None:
    entities = _json(api("/v1/mreport/budgets"))["data"]
    assert [r["dataid"] for r in entities] == [RENNES, METRO] or {r["dataid"] for r in entities} == {
        RENNES,
        METRO,
    }
    assert {r["dataviz"] for r in entities} == {"budgets_title"}
    rows = _json(api(f"/v1/mreport/budgets?dataid={RENNES}"))["data"]
    vizs = {r["dataviz"] for r in rows}
    assert {"budgets_title", "budgets_etape", "budgets_total_depenses", "budgets_sections",
            "budgets_depenses_chapitre", "budgets_top_depenses", "budgets_fichiers"} <= vizs  # fmt: skip
    assert all(isinstance(v, str) for r in rows for v in r.values())
    [shown] = [r for r in rows if r["dataviz"] == "budgets_etape"]
    assert "décision modificative 2025" in shown["data"]  # the latest exercice's most advanced stage
    files = [r["data"] for r in rows if r["dataviz"] == "budgets_fichiers" and r["dataset"] == "2"]
    assert len(files) == 2 and f"/v1/budgets/{RENNES}/2025.csv" in files[0]
    response = api(f"/v1/mreport/budgets?dataid={RENNES}&format=csv")
    assert response["statusCode"] == 200 and response["body"].startswith("dataid,dataviz")
    assert _json(api("/v1/mreport/budgets?dataid=999999999"))["data"] == []
