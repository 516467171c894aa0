"""``/v1/deliberations?q=`` on a normalised chain: words only inside a PDF or a scanned annex find their act
with snippets and the matched document flagged; withheld acts are never found; invalid queries are 422;
paging, ``in``, filters, ETags; and the result follows a withdrawal on the next normalisation."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_chain import (
    CANTINE_ACTS,
    MAIN_ID_D,
    MAIN_NUMERO,
    RENNES,
    WITHHELD_WORD,
    seed,
)

from regate.api.app import build_services, create_app
from regate.normalize.run import run_normalize
from regate.storage import layout
from regate_local.serve.server import http_api_event

pytestmark = [pytest.mark.integration, pytest.mark.slow]


class _Client:
    def __init__(self, services: Any) -> None:
        self.app = create_app(services)

    def get(self, target: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        return self.app.resolve(http_api_event("GET", target, headers or {}), {})

    def json(self, target: str, status: int = 200) -> Any:
        response = self.get(target)
        assert response["statusCode"] == status, response["body"][:500]
        return json.loads(response["body"])


@pytest.fixture()
def chain(raw_store, curated_store, settings, s3_client, tmp_path: Path):
    settings = settings.model_copy(
        update={
            "search_cache_dir": str(tmp_path / "search"),
            "api_cache_dir": str(tmp_path / "api"),
            "search_shards": 2,
            "search_manifest_ttl_seconds": 0,
        }
    )
    report = seed(raw_store, curated_store, settings)
    assert report.errors == []
    services = build_services(settings, s3_client, list_ttl_seconds=0)
    return {"client": _Client(services), "settings": settings, "raw": raw_store, "curated": curated_store}


def test_words_inside_pdf_and_scanned_annex_find_the_act(chain) -> None:
    client = chain["client"]
    body = client.json("/v1/deliberations?q=xylophonique")
    assert body["total"] == 1
    (row,) = body["data"]
    assert row["delib_id"] == MAIN_NUMERO and row["delib_url"].endswith(
        "/v1/documents/" + row["recherche"]["documents"][0]["document_id"]
    )
    main = row["recherche"]["documents"][0]
    assert (
        main["role"] == "acte"
        and main["correspond"]
        and "<mark>xylophonique</mark>" in main["extrait"]["html"]
    )
    assert row["recherche"]["annexe_seule"] is False

    body = client.json("/v1/deliberations?q=ornithorynques")
    (row,) = body["data"]
    assert row["delib_id"] == MAIN_NUMERO and row["recherche"]["annexe_seule"] is True
    annex = next(d for d in row["recherche"]["documents"] if d["role"] == "annexe")
    assert annex["correspond"] and annex["methode"] == "ocr" and "<mark>" in annex["extrait"]["html"]
    assert annex["url"].endswith(f"/v1/documents/{annex['document_id']}")
    assert not next(d for d in row["recherche"]["documents"] if d["role"] == "acte")["correspond"]

    # scope: the PDF word is not in the objet; the objet word is not searched in documents only
    assert client.json("/v1/deliberations?q=xylophonique&in=objet")["total"] == 0
    assert client.json("/v1/deliberations?q=xylophonique&in=documents")["total"] == 1
    assert client.json("/v1/deliberations?q=associations&in=documents")["total"] == 0
    assert client.json("/v1/deliberations?q=associations&in=objet")["total"] == 1


def test_withheld_never_found_and_invalid_queries_are_422(chain) -> None:
    client = chain["client"]
    for q in (WITHHELD_WORD, "DEL2024_099", "retenu", '"acte retenu"'):
        response = client.get(f"/v1/deliberations?q={quote(q)}")
        assert response["statusCode"] == 200
        assert json.loads(response["body"])["total"] == 0, q
        assert WITHHELD_WORD not in response["body"] and "Retenu01" not in response["body"]
    for q, code in (('"cantine', "guillemets_desequilibres"), ("cantine OR tarifs", None), ("*ine", None)):
        response = client.get(f"/v1/deliberations?q={quote(q)}")
        assert response["statusCode"] == 422, q
        error = json.loads(response["body"])["erreur"]
        assert error["details"]["parametre"] == "q" and error["message"].startswith("Recherche invalide")
        if code:
            assert error["details"]["code"] == code
    assert client.get("/v1/deliberations?q=cantine&in=tout")["statusCode"] == 422
    assert client.get("/v1/deliberations?in=objet")["statusCode"] == 422  # in without q
    assert client.get("/v1/deliberations?q=cantine&publie=true")["statusCode"] == 422
    assert client.get("/v1/deliberations?q=cantine&sort=siren")["statusCode"] == 422


def test_paging_filters_sort_and_etag(chain) -> None:
    client = chain["client"]
    seen: list[str] = []
    target = "/v1/deliberations?q=cantine&limit=10"
    totals = set()
    while target:
        body = client.json(target)
        totals.add(body["total"])
        seen.extend(row["acte_id"] for row in body["data"])
        target = body["next"] and body["next"].replace("https://regate.example.org", "")
    assert totals == {CANTINE_ACTS} and len(seen) == len(set(seen)) == CANTINE_ACTS
    # a cursor of another search is refused
    first = client.json("/v1/deliberations?q=cantine&limit=10")
    cursor = parse_qs(urlsplit(first["next"]).query)["cursor"][0]
    assert client.get(f"/v1/deliberations?q=tarifs&limit=10&cursor={cursor}")["statusCode"] == 422
    # filters: matière prefix, dates, SIREN; fields
    by_matiere = client.json("/v1/deliberations?q=cantine&matiere=8&limit=100")
    assert by_matiere["total"] == len(range(1, CANTINE_ACTS, 3))
    assert {r["delib_matiere_code"][:1] for r in by_matiere["data"]} == {"8"}
    dated = client.json("/v1/deliberations?q=cantine&date_min=2024-03-01&date_max=2024-03-31&limit=100")
    assert dated["total"] > 0 and all(r["delib_date"].startswith("2024-03") for r in dated["data"])
    assert client.json("/v1/deliberations?q=cantine&siren=200000001")["total"] == 0
    assert client.json(f"/v1/deliberations?q=cantine&siren={RENNES}&annee=2023")["total"] == 0
    narrow = client.json("/v1/deliberations?q=cantine&fields=delib_objet&limit=2")
    assert all(set(r) == {"delib_objet", "recherche"} for r in narrow["data"])
    newest = client.json("/v1/deliberations?q=cantine&sort=-delib_date&limit=5")
    dates = [r["delib_date"] for r in newest["data"]]
    assert dates == sorted(dates, reverse=True)
    # ETag: same answer → 304
    response = client.get("/v1/deliberations?q=cantine")
    again = client.get("/v1/deliberations?q=cantine", {"If-None-Match": response["headers"]["ETag"]})
    assert again["statusCode"] == 304


def test_withdrawal_changes_results_on_next_normalisation(chain) -> None:
    client = chain["client"]
    assert client.json("/v1/deliberations?q=xylophonique")["total"] == 1
    chain["raw"].delete(layout.document_detail_key("12", MAIN_ID_D))
    report = run_normalize(chain["raw"], chain["curated"], chain["settings"])
    assert {i.id_d for i in report.withdrawn} == {MAIN_ID_D}
    assert client.json("/v1/deliberations?q=xylophonique")["total"] == 0
    assert client.json("/v1/deliberations?q=ornithorynques")["total"] == 0
    assert client.json("/v1/deliberations?q=cantine")["total"] == CANTINE_ACTS  # the others stay
