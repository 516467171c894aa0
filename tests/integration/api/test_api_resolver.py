"""Functional tests of the resolver with API Gateway v2 events, on moto, for every route."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyarrow.parquet as pq
import pytest
import requests
from api_scenario import (
    ANNEXE_PUBLIC,
    BREST,
    DOC_PUBLIC,
    DOC_WITHHELD_ACT,
    DOC_WITHHELD_META,
    EPCI,
    EVENTS_DIR,
    RENNES,
    Client,
    scenario_actes,
)

from regate.storage import layout
from regate_local.sampledata import Acte, write_partitions

pytestmark = pytest.mark.integration


def _ids(body: dict[str, Any]) -> list[str]:
    return [row["acte_id"] for row in body["data"]]


# ------------------------------------------------------------------------------------ health
def test_health_reports_freshness(fresh_client: Client, raw_store: Any, seeded: Any) -> None:
    body = fresh_client.json("/v1/health")
    assert body["status"] == "ok"
    assert body["derniere_capture"] is None and body["partitions"] == 4
    raw_store.put_json_if_changed(
        layout.run_report_key("capture"),
        {"stage": "capture", "started_at": "2024-12-17T01:00:00Z", "finished_at": "2024-12-17T01:05:00Z"},
    )
    seeded.put_json_if_changed(
        layout.run_report_key("publish"),
        {"stage": "publish", "started_at": "2024-12-17T02:00:00Z", "finished_at": "2024-12-17T02:01:00Z"},
    )
    body = fresh_client.json("/v1/health")
    assert body["derniere_capture"] == "2024-12-17T01:05:00Z"
    assert body["derniere_publication"] == "2024-12-17T02:01:00Z"


def test_health_degraded_on_malformed_run_report(fresh_client: Client, seeded: Any) -> None:
    seeded.put_if_changed(layout.run_report_key("publish"), b"{not json")
    body = fresh_client.json("/v1/health")
    assert body["status"] == "degrade"
    assert body["derniere_publication"] is None


# ---------------------------------------------------------------------------- deliberations
def test_deliberations_only_nature_1_sorted_by_date_desc(client: Client) -> None:
    body = client.json("/v1/deliberations")
    assert body["total"] == 10  # 7 + withheld documents + EPCI + Brest; not the arrêté (nature 2)
    assert "rennes-a01" not in _ids(body)
    dates = [r["delib_date"] for r in body["data"]]
    assert dates == sorted(dates, reverse=True)
    assert body["next"] is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (f"siren={EPCI}", {"metro-001"}),
        (f"siren={EPCI}&siren={BREST}", {"metro-001", "brest-001"}),
        (f"siren={EPCI},{BREST}", {"metro-001", "brest-001"}),
        ("annee=2023", {"rennes-005", "rennes-006"}),
        ("date_min=2024-11-05&date_max=2024-12-01", {"rennes-001", "rennes-002"}),
        ("matiere=7", {"rennes-000", "rennes-001", "rennes-002", "rennes-900"}),
        ("matiere=7.1", {"rennes-000"}),  # 7.10 is not under 7.1
        ("matiere=7.10", {"rennes-002"}),
        ("q=eglise", {"rennes-003"}),
        ("q=%C3%89COLE%20musique", {"rennes-002"}),
        ("q=associations%20sportives", {"rennes-001"}),
        ("q=sportives%20budget", set()),  # AND match
        ("q=l%27%C3%A9cole", {"rennes-002"}),
        ("publie=false", {"rennes-900"}),
        (f"publie=oui&siren={BREST}", {"brest-001"}),
    ],
)
def test_deliberations_filters(client: Client, query: str, expected: set[str]) -> None:
    body = client.json(f"/v1/deliberations?{query}&limit=1000")
    assert set(_ids(body)) == expected
    assert body["total"] == len(expected)


def test_deliberations_fields_and_sort(client: Client) -> None:
    body = client.json(f"/v1/deliberations?fields=delib_objet,delib_date&sort=delib_date&siren={RENNES}")
    assert all(set(row) == {"delib_objet", "delib_date"} for row in body["data"])
    dates = [r["delib_date"] for r in body["data"]]
    assert dates == sorted(dates)


def test_deliberations_withheld_documents_have_no_url(client: Client) -> None:
    body = client.json("/v1/deliberations?publie=false")
    (row,) = body["data"]
    assert row["delib_url"] is None and row["annexes"] == []
    published = client.json("/v1/deliberations?q=budget%20primitif")["data"][0]
    assert published["delib_url"].endswith(f"/v1/documents/{DOC_PUBLIC}")
    assert published["annexes"][0]["url"].endswith(f"/v1/documents/{ANNEXE_PUBLIC}")


def test_pagination_with_cursor_visits_every_row_once(client: Client) -> None:
    seen: list[str] = []
    target = "/v1/deliberations?limit=3"
    while target:
        body = client.json(target)
        seen.extend(_ids(body))
        assert body["total"] == 10
        target = body["next"] and body["next"].removeprefix("https://regate.example.org")
    assert len(seen) == len(set(seen)) == 10


def test_cursor_stable_under_concurrent_inserts(fresh_client: Client, seeded: Any, api_settings: Any) -> None:
    first = fresh_client.json(f"/v1/deliberations?siren={RENNES}&limit=3")
    before = _ids(first)
    # Meanwhile the normaliser republishes the 2024 partition with new acts: one newer than the page,
    # one on the same date as the cursor row, one older.
    base = api_settings.public_base_url
    actes = [a for a in scenario_actes(base) if a.siren == RENNES and a.delib_date.year == 2024]
    actes.append(
        Acte(
            RENNES,
            date(2024, 12, 31),
            "Nouvel acte tardif",
            delib_id="N1",
            acte_id="rennes-n1",
            base_url=base,
            document_id="newdoc0001",
        )
    )
    actes.append(
        Acte(
            RENNES,
            date(2024, 11, 5),
            "Même jour",
            delib_id="N2",
            acte_id="rennes-0005",
            base_url=base,
            document_id="newdoc0002",
        )
    )
    actes.append(
        Acte(
            RENNES,
            date(2024, 1, 2),
            "Plus ancien",
            delib_id="N3",
            acte_id="rennes-n3",
            base_url=base,
            document_id="newdoc0003",
        )
    )

    withheld_meta = Acte(
        RENNES,
        date(2024, 5, 2),
        "Convention confidentielle",
        documents_publics=False,
        document_id=DOC_WITHHELD_META,
        delib_id="R900",
        acte_id="rennes-900",
        base_url=base,
    )
    actes = [a for a in actes if a.acte_id != "rennes-900"] + [withheld_meta]
    write_partitions(
        seeded,
        [a for a in actes if a.nature == 1]
        + [
            Acte(
                RENNES,
                date(2024, 4, 4),
                "Arrêté de circulation",
                nature=2,
                acte_id="rennes-a01",
                base_url=base,
            )
        ],
    )
    rest: list[str] = []
    target = first["next"].removeprefix(base)
    while target:
        body = fresh_client.json(target)
        rest.extend(_ids(body))
        target = body["next"] and body["next"].removeprefix(base)
    everything = before + rest
    assert len(everything) == len(set(everything)), "no row twice"
    originals = {f"rennes-{i:03d}" for i in range(7)} | {"rennes-900"}
    assert originals <= set(everything), "no original row skipped"
    assert "rennes-n1" not in everything  # newer than the first page: belongs before the cursor
    assert {"rennes-0005", "rennes-n3"} <= set(rest)  # after the cursor position: picked up


@pytest.mark.parametrize(
    ("query", "parametre"),
    [
        ("limit=1001", "limit"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("annee=20x4", "annee"),
        ("annee=1800", "annee"),
        ("siren=12345", "siren"),
        ("date_min=2024-13-01", "date_min"),
        ("date_min=01/02/2024", "date_min"),
        ("matiere=7.x", "matiere"),
        ("publie=peut-etre", "publie"),
        ("fields=delib_objet,secret_column", "fields"),
        ("sort=random()", "sort"),
        ("format=xml", "format"),
        ("cursor=%%%notbase64", "cursor"),
        ("annee=2024&annee=2023", "annee"),
    ],
)
def test_deliberations_invalid_values_are_422_in_french(client: Client, query: str, parametre: str) -> None:
    response = client.get(f"/v1/deliberations?{query}")
    assert response["statusCode"] == 422, response
    body = json.loads(response["body"])
    assert body["erreur"]["details"]["parametre"] == parametre
    assert "Valeur invalide" in body["erreur"]["message"]
    assert response["headers"]["Access-Control-Allow-Origin"] == "*"


def test_cursor_reused_with_other_filters_is_422(client: Client) -> None:
    body = client.json("/v1/deliberations?limit=2")
    cursor = parse_qs(urlsplit(body["next"]).query)["cursor"][0]
    response = client.get(f"/v1/deliberations?limit=2&annee=2024&cursor={cursor}")
    assert response["statusCode"] == 422
    assert "autres filtres" in json.loads(response["body"])["erreur"]["message"]
    response = client.get(f"/v1/deliberations?limit=2&sort=siren&cursor={cursor}")
    assert response["statusCode"] == 422


def test_deliberations_sql_injection_is_just_text(client: Client) -> None:
    body = client.json("/v1/deliberations?q=%27%29%20OR%201%3D1%20--")
    assert body["total"] == 0


def test_format_csv_is_scdl_of_the_whole_filtered_set(client: Client) -> None:
    response = client.get(f"/v1/deliberations?format=csv&siren={RENNES}&limit=1")
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response["body"])))
    assert rows[0][:4] == ["COLL_NOM", "COLL_SIRET", "DELIB_ID", "DELIB_DATE"] and len(rows[0]) == 17
    assert len(rows) - 1 == 8  # limit ignored: the whole filtered set
    withheld = next(r for r in rows if r[2] == "R900")
    assert withheld[16] == ""  # no DELIB_URL for withheld documents
    assert rows[1][3] == "2024-12-16"


def test_format_parquet(client: Client) -> None:
    response = client.get(f"/v1/deliberations?format=parquet&siren={RENNES}&annee=2023")
    import base64

    assert response["isBase64Encoded"] is True
    table = pq.read_table(io.BytesIO(base64.b64decode(response["body"])))
    assert table.num_rows == 2
    assert "document_id" not in table.column_names
    empty = client.get(f"/v1/deliberations?format=parquet&siren={RENNES}&annee=2001")
    assert pq.read_table(io.BytesIO(base64.b64decode(empty["body"]))).num_rows == 0


# ------------------------------------------------------------------------------ SCDL files
def test_scdl_file_is_byte_identical(client: Client, seeded: Any) -> None:
    response = client.get(f"/v1/deliberations/{RENNES}/2024.csv")
    assert response["statusCode"] == 200
    assert response["body"].encode() == seeded.get_bytes(layout.scdl_deliberations_key(RENNES, 2024))
    assert client.get(f"/v1/deliberations/{RENNES}/2023.csv")["statusCode"] == 404
    assert client.get("/v1/deliberations/12/2024.csv")["statusCode"] == 422


def test_national_scdl_file_is_served_as_published(fresh_client: Client, seeded: Any) -> None:
    """``all`` is the national yearly file: the URL remote resources on data.gouv.fr point at."""
    assert fresh_client.get("/v1/deliberations/all/2024.csv")["statusCode"] == 404  # not written yet
    national = seeded.get_bytes(layout.scdl_deliberations_key(RENNES, 2024))
    seeded.put_if_changed(layout.scdl_deliberations_national_key(2024), national, "text/csv")
    response = fresh_client.get("/v1/deliberations/all/2024.csv")
    assert response["statusCode"] == 200
    assert response["body"].encode() == national
    assert 'filename="all-2024.csv"' in response["headers"]["Content-Disposition"]
    assert fresh_client.get("/v1/deliberations/ALL/2024.csv")["statusCode"] == 422


# ---------------------------------------------------------------------------- collectivités
def test_collectivites(client: Client) -> None:
    body = client.json("/v1/collectivites")
    by_siren = {c["siren"]: c for c in body["data"]}
    assert set(by_siren) == {RENNES, EPCI, BREST} and body["total"] == 3
    rennes = by_siren[RENNES]
    assert rennes["code_insee"] == "35238" and rennes["level"] == "Commune" and rennes["kind"] == "commune"
    assert rennes["annees"] == {
        "2023": {"deliberations": 2, "actes": 2},
        "2024": {"deliberations": 6, "actes": 7},
    }
    assert rennes["derniere_deliberation"] == "2024-12-16"
    assert rennes["urls"]["scdl"]["2024"].endswith(f"/v1/deliberations/{RENNES}/2024.csv")
    assert by_siren[EPCI]["level"] == "Intercommunalité"
    assert by_siren[BREST]["lon"] is None and by_siren[BREST]["nom"] == "Ville de Brest"
    assert {c["siren"] for c in client.json("/v1/collectivites?dep=35")["data"]} == {RENNES, EPCI}
    assert client.get("/v1/collectivites?dep=999x")["statusCode"] == 422


def test_geojson_layer(client: Client) -> None:
    response = client.get("/v1/collectivites.geojson?annee=2024")
    assert response["headers"]["Content-Type"] == "application/geo+json"
    body = json.loads(response["body"])
    assert body["type"] == "FeatureCollection" and "crs" not in body
    features = {f["properties"]["siren"]: f for f in body["features"]}
    assert set(features) == {RENNES, EPCI}  # Brest has no known point; 2022 anyway
    rennes = features[RENNES]
    assert rennes["geometry"] == {"type": "Point", "coordinates": [-1.67494, 48.093066]}
    props = rennes["properties"]
    assert props["deliberation_publie"] == "OUI" and props["nb_delib_publie"] == 6
    assert props["annee"] == "2024" and props["nb_acte_reg"] == 1 and props["nb_actes"] == 7
    assert props["url_actes"].startswith("https://regate.example.org/v1/deliberations?siren=213502388")
    assert props["deliberations"][0] == {
        "date": "2024-12-16",
        "objet": "Budget primitif 2025",
        "matiere": "7.1",
        "url": f"https://regate.example.org/v1/documents/{DOC_PUBLIC}",
    }
    all_years = json.loads(client.get("/v1/collectivites.geojson")["body"])
    assert {(f["properties"]["siren"], f["properties"]["annee"]) for f in all_years["features"]} == {
        (RENNES, "2023"),
        (RENNES, "2024"),
        (EPCI, "2024"),
    }


# ------------------------------------------------------------------------------------ stats
def test_stats_groups(client: Client) -> None:
    by_annee = client.json("/v1/stats?group=annee")
    assert {r["cle"]: r["nombre"] for r in by_annee["data"]} == {"2022": 1, "2023": 2, "2024": 7}
    by_nature = client.json("/v1/stats?group=nature")
    assert {r["cle"]: r["nombre"] for r in by_nature["data"]} == {"1": 10, "2": 1}
    assert by_nature["data"][0]["libelle"] == "Délibérations"
    by_mois = client.json(f"/v1/stats?group=mois&siren={RENNES}&annee=2024")
    assert {r["cle"]: r["nombre"] for r in by_mois["data"]}["2024-11"] == 2
    by_matiere = client.json("/v1/stats?group=matiere&matiere=7")
    assert {r["cle"] for r in by_matiere["data"]} == {"7.1", "7.5", "7.10"} and by_matiere["total"] == 4
    by_coll = client.json("/v1/stats?group=collectivite&q=plan")
    assert {r["cle"]: r["nombre"] for r in by_coll["data"]} == {RENNES: 1, EPCI: 1}
    assert client.json("/v1/stats?group=nature&nature=2")["total"] == 1
    assert client.get("/v1/stats?group=semaine")["statusCode"] == 422


# ---------------------------------------------------------------------------------- mReport
def test_mreport_rows_for_one_collectivite(client: Client) -> None:
    response = client.get(f"/v1/mreport/deliberations?dataid={RENNES}")
    rows = json.loads(response["body"])["data"]
    assert rows and all(isinstance(v, str) for row in rows for v in row.values())
    assert all(set(row) == {"dataid", "dataviz", "dataset", "order", "label", "data"} for row in rows)
    keys = [
        (r["dataviz"], int(r["dataset"]) if r["dataset"].isdigit() else r["dataset"], int(r["order"]))
        for r in rows
    ]
    assert [k[0] for k in keys] == sorted(k[0] for k in keys)
    vizs = {r["dataviz"] for r in rows}
    assert {
        "delib_title",
        "delib_nb_annee",
        "delib_par_mois",
        "delib_par_matiere",
        "delib_dernieres",
        "delib_carte",
    } <= vizs
    title = next(r for r in rows if r["dataviz"] == "delib_title")
    assert title["label"] == "Ville de Rennes" and title["data"] == ""
    figure = next(r for r in rows if r["dataviz"] == "delib_nb_annee")
    assert figure == {
        "dataid": RENNES,
        "dataviz": "delib_nb_annee",
        "dataset": "1",
        "order": "1",
        "label": "Délibérations publiées en 2024",
        "data": "6",
    }
    months = [r for r in rows if r["dataviz"] == "delib_par_mois"]
    # previous and current calendar year, zero-filled (checked with a fixed clock in test_api_reuse_clients)
    assert len(months) == 24 and len({r["dataset"] for r in months}) == 2
    carte = next(r for r in rows if r["dataviz"] == "delib_carte")
    assert carte["data"] == "POINT(-1.67494 48.093066)"
    objets = [r["data"] for r in rows if r["dataviz"] == "delib_dernieres" and r["dataset"] == "2"]
    assert any("l&#x27;ÉCOLE" in o for o in objets)  # escaped HTML
    csv_response = client.get(f"/v1/mreport/deliberations?dataid={RENNES}&format=csv")
    parsed = list(csv.DictReader(io.StringIO(csv_response["body"])))
    assert parsed == rows


def test_mreport_entity_list_and_errors(client: Client) -> None:
    rows = client.json("/v1/mreport/deliberations")["data"]
    assert [(r["dataid"], r["dataviz"]) for r in rows] == [
        (BREST, "delib_title"),
        (RENNES, "delib_title"),
        (EPCI, "delib_title"),
    ]
    assert client.json("/v1/mreport/deliberations?dataid=200000172")["data"] == []
    assert client.get("/v1/mreport/inconnu")["statusCode"] == 404
    assert client.get("/v1/mreport/deliberations?dataid=abc")["statusCode"] == 422


# -------------------------------------------------------------------------------- documents
def test_published_document_redirects_to_presigned_url(client: Client) -> None:
    for doc in (DOC_PUBLIC, ANNEXE_PUBLIC):
        response = client.get(f"/v1/documents/{doc}")
        assert response["statusCode"] == 302
        location = response["headers"]["Location"]
        assert "X-Amz-Expires=300" in location and "Signature" in location
        fetched = requests.get(location, timeout=10)
        assert fetched.status_code == 200 and fetched.content == b"%PDF-1.4 " + doc.encode()


@pytest.mark.parametrize(
    "doc", [DOC_WITHHELD_META, DOC_WITHHELD_ACT, "unknown0000000", "..%2F..%2Fconfig", "a", "x" * 200]
)
def test_unpublished_documents_are_404(client: Client, doc: str) -> None:
    response = client.get(f"/v1/documents/{doc}")
    assert response["statusCode"] == 404
    assert "Location" not in response["headers"]


WITHHELD_MARKERS = (DOC_WITHHELD_ACT, DOC_WITHHELD_META, "Acte retenu secret", "rennes-999")
ALL_TARGETS = [
    "/v1/health",
    "/v1/deliberations?limit=1000",
    "/v1/deliberations?q=secret",
    "/v1/deliberations?q=retenu",
    "/v1/deliberations?format=csv",
    "/v1/deliberations?publie=false&limit=1000",
    f"/v1/deliberations?siren={RENNES}&annee=2024&fields=acte_id,delib_url,annexes,delib_objet",
    "/v1/collectivites",
    "/v1/collectivites.geojson",
    "/v1/collectivites.geojson?annee=2024",
    "/v1/stats?group=collectivite",
    f"/v1/mreport/deliberations?dataid={RENNES}",
    f"/v1/mreport/deliberations?dataid={RENNES}&format=csv",
    "/v1/mreport/deliberations",
]


@pytest.mark.parametrize("target", ALL_TARGETS)
def test_withheld_acts_and_documents_unreachable(client: Client, target: str) -> None:
    response = client.get(target)
    assert response["statusCode"] == 200
    for marker in WITHHELD_MARKERS:
        assert marker not in response["body"], (target, marker)


def test_withheld_act_not_counted(client: Client) -> None:
    assert client.json(f"/v1/deliberations?siren={RENNES}&annee=2024&limit=1000")["total"] == 6


# --------------------------------------------------------------------------------- catalogue
def test_catalog_404_then_served(fresh_client: Client, seeded: Any) -> None:
    for suffix in ("jsonld", "csv"):
        response = fresh_client.get(f"/v1/catalog.{suffix}")
        assert response["statusCode"] == 404
        assert "catalogue" in json.loads(response["body"])["erreur"]["message"]
    seeded.put_if_changed(layout.CATALOG_JSONLD_KEY, b'{"@context": "https://www.w3.org/ns/dcat.jsonld"}')
    seeded.put_if_changed(layout.CATALOG_CSV_KEY, "COLL_NOM,ID\nRennes,é\n".encode())
    response = fresh_client.get("/v1/catalog.jsonld")
    assert response["statusCode"] == 200 and response["headers"]["Content-Type"] == "application/ld+json"
    assert json.loads(response["body"])["@context"].startswith("https://")
    assert fresh_client.get("/v1/catalog.csv")["body"] == "COLL_NOM,ID\nRennes,é\n"


# ---------------------------------------------------------------------- ETag, 304, CORS, 4xx
@pytest.mark.parametrize(
    "target",
    [
        "/v1/health",
        "/v1/openapi.json",
        "/v1/docs",
        "/v1/deliberations",
        "/v1/collectivites",
        "/v1/collectivites.geojson",
        "/v1/stats",
        f"/v1/mreport/deliberations?dataid={RENNES}",
        f"/v1/deliberations/{RENNES}/2024.csv",
    ],
)
def test_etag_304_cache_control_and_cors(client: Client, target: str) -> None:
    first = client.get(target)
    assert first["statusCode"] == 200
    headers = first["headers"]
    assert headers["ETag"].startswith('"') and headers["Cache-Control"] == "public, max-age=300"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in headers["Access-Control-Expose-Headers"]
    again = client.get(target, {"if-none-match": headers["ETag"]})
    assert again["statusCode"] == 304 and again["body"] == ""
    assert again["headers"]["ETag"] == headers["ETag"]
    assert again["headers"]["Access-Control-Allow-Origin"] == "*"
    other = client.get(target, {"if-none-match": '"something-else"'})
    assert other["statusCode"] == 200


def test_etag_changes_when_data_changes(fresh_client: Client, seeded: Any, api_settings: Any) -> None:
    etag = fresh_client.get(f"/v1/deliberations?siren={EPCI}")["headers"]["ETag"]
    other_etag = fresh_client.get(f"/v1/deliberations?siren={BREST}")["headers"]["ETag"]
    write_partitions(
        seeded,
        [
            Acte(
                EPCI,
                date(2024, 7, 2),
                "Nouvel acte",
                acte_id="metro-002",
                base_url=api_settings.public_base_url,
            )
        ],
    )
    changed = fresh_client.get(f"/v1/deliberations?siren={EPCI}", {"if-none-match": etag})
    assert changed["statusCode"] == 200 and changed["headers"]["ETag"] != etag
    # another collectivité's data did not change: still 304
    assert (
        fresh_client.get(f"/v1/deliberations?siren={BREST}", {"if-none-match": other_etag})["statusCode"]
        == 304
    )


def test_cors_preflight(client: Client) -> None:
    response = client.app.resolve(json.loads((EVENTS_DIR / "preflight.json").read_text()), {})
    assert response["statusCode"] == 204
    assert response["headers"]["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    "target",
    [
        "/v1/health?x=1",
        "/v1/deliberations?anne=2024",
        "/v1/stats?groupe=annee",
        "/v1/collectivites?annee=2024",
        "/v1/collectivites.geojson?year=2024",
        "/v1/mreport/deliberations?siren=213502388",
        f"/v1/documents/{DOC_PUBLIC}?download=1",
        "/v1/catalog.csv?v=2",
        "/v1/openapi.json?x",
    ],
)
def test_unknown_parameter_is_400(client: Client, target: str) -> None:
    response = client.get(target)
    assert response["statusCode"] == 400
    body = json.loads(response["body"])
    assert body["erreur"]["message"].startswith("Paramètre")
    assert response["headers"]["Access-Control-Allow-Origin"] == "*"
    assert response["headers"]["Cache-Control"] == "no-cache" and response["headers"]["ETag"]


def test_unknown_route_is_404_in_french(client: Client) -> None:
    response = client.get("/v1/actes")
    assert response["statusCode"] == 404
    assert "introuvable" in json.loads(response["body"])["erreur"]["message"]


@pytest.mark.parametrize("name", ["deliberations_search", "health", "document", "geojson"])
def test_sample_events(client: Client, name: str) -> None:
    """The sample API Gateway v2 events under tests/events/api resolve as documented in each file."""
    event = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    expected = event.pop("_expected_status")
    response = client.app.resolve(event, {})
    assert response["statusCode"] == expected, response


def test_only_needed_partitions_are_downloaded(fresh_client: Client, fresh_services: Any) -> None:
    fresh_client.json(f"/v1/deliberations?siren={EPCI}&annee=2024")
    assert fresh_services.query.dataset.downloads == 1
    fresh_client.json(f"/v1/deliberations?siren={EPCI}&annee=2024")
    assert fresh_services.query.dataset.downloads == 1  # cached by version in the cache dir
