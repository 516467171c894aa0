"""HEAD on every GET route (resolver and over HTTP), and documents served as allow-listed attachments."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from api_scenario import DOC_PUBLIC, RENNES, Client

from regate.api import reports
from regate.api.routes import ROUTES
from regate.storage import layout

#: One 200 example per route of the route table (a new route must add one here).
EXAMPLES = {
    "health": "/v1/health",
    "openapi": "/v1/openapi.json",
    "docs": "/v1/docs",
    "deliberations": f"/v1/deliberations?siren={RENNES}&limit=2",
    "export_csv": f"/v1/exports/deliberations.csv?siren={RENNES}",
    "export_parquet": f"/v1/exports/deliberations.parquet?siren={RENNES}&annee=2024",
    "deliberations_scdl": f"/v1/deliberations/{RENNES}/2024.csv",
    "collectivites": "/v1/collectivites",
    "collectivites_geojson": "/v1/collectivites.geojson?annee=2024",
    "stats": "/v1/stats?group=annee",
    "mreport": f"/v1/mreport/deliberations?dataid={RENNES}",
    "document": f"/v1/documents/{DOC_PUBLIC}",
    "catalog_jsonld": "/v1/catalog.jsonld",
    "catalog_csv": "/v1/catalog.csv",
    "marque_blanche": f"/v1/marque-blanche?siren={RENNES}&theme=vert-tours",
    "marches": "/v1/marches?annee=2024",
    "marches_stats": "/v1/marches/stats?group=procedure",
    "marches_decp": "/v1/marches/all/2024.json",
    "budgets": f"/v1/budgets?siren={RENNES}&limit=2",
    "budgets_scdl": f"/v1/budgets/{RENNES}/2024.csv",
    "budgets_synthese": f"/v1/budgets/{RENNES}/2024/synthese",
}
OK = {"document": 302}


@pytest.fixture(scope="module", autouse=True)
def _catalog(shared_env: tuple[Any, Any, Any]) -> None:
    """The catalogue files, so that every route has something to answer."""
    curated = shared_env[2]
    for key, content_type in reports.catalog_keys().values():
        curated.put_if_changed(key, b'{"@context": {}}' if key.endswith("jsonld") else b"a\r\n", content_type)
    empty_decp = b'{\n  "marches": {\n    "marche": [],\n    "contrat-concession": []\n  }\n}\n'
    curated.put_if_changed(layout.decp_national_key(2024), empty_decp, "application/json")
    _budget(curated)


def _budget(curated: Any) -> None:
    """One budget partition of Rennes (public Parquet + SCDL file), for the budgets routes."""
    import io

    from regate.flux.budgets.convert import convert_document
    from regate.flux.budgets.model import budget_lines_table
    from regate.flux.budgets.scdl import write_budget_csv
    from regate.flux.budgets.totem import read_totem
    from regate.normalize.parquet import parquet_bytes
    from regate_local.budgets.totem_generator import generate_totem

    out = io.BytesIO()
    generate_totem(out, etape="BP", exercice=2024, lignes=8, seed=1, siret=f"{RENNES}00019")
    lines = convert_document(read_totem(out.getvalue()), document_id="13.b").lignes
    parquet = parquet_bytes(budget_lines_table(lines))
    curated.put_if_changed(layout.budgets_parquet_key(RENNES, 2024, public=True), parquet)
    curated.put_if_changed(layout.scdl_budgets_key(RENNES, 2024), write_budget_csv(lines), "text/csv")


def test_every_route_has_an_example() -> None:
    assert {r.operation_id for r in ROUTES} == set(EXAMPLES)


@pytest.mark.parametrize("operation", sorted(EXAMPLES))
def test_head_answers_like_get_without_body(client: Client, operation: str) -> None:
    target = EXAMPLES[operation]
    get = client.get(target)
    head = client.get(target, method="HEAD")
    assert get["statusCode"] == OK.get(operation, 200), get
    assert head["statusCode"] == get["statusCode"]
    assert head["body"] == "" and head["isBase64Encoded"] is False
    length = head["headers"].pop("Content-Length")
    if operation == "document":  # a fresh presigned URL each time (signature time)
        assert urlsplit(head["headers"].pop("Location")).path == urlsplit(get["headers"].pop("Location")).path
    assert head["headers"] == get["headers"]
    raw = get["body"].encode() if not get["isBase64Encoded"] else base64.b64decode(get["body"])
    assert int(length) == len(raw)


def test_head_of_errors_and_not_modified(client: Client) -> None:
    missing = client.get("/v1/nothing-here", method="HEAD")
    assert missing["statusCode"] == 404 and missing["body"] == ""
    bad = client.get("/v1/stats?groupe=x", method="HEAD")
    assert bad["statusCode"] == 400 and bad["body"] == "" and int(bad["headers"]["Content-Length"]) > 0
    etag = client.get("/v1/health")["headers"]["ETag"]
    cached = client.get("/v1/health", {"if-none-match": etag}, method="HEAD")
    assert cached["statusCode"] == 304 and "Content-Length" not in cached["headers"]


@pytest.mark.parametrize("operation", sorted(set(EXAMPLES) - {"document"}))
def test_head_over_http_has_the_get_headers(server_url: str, operation: str) -> None:
    url = server_url + EXAMPLES[operation]
    get = requests.get(url, timeout=30)
    head = requests.head(url, timeout=30)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    drop = {"Date"}
    assert {k: v for k, v in head.headers.items() if k not in drop} == {
        k: v for k, v in get.headers.items() if k not in drop
    }
    assert int(head.headers["Content-Length"]) == len(get.content)


# --------------------------------------------------------------------------------- documents
STORED_AS = [
    ("acte.pdf", "application/pdf"),
    ("plan.PNG", "image/png"),
    ("tableau.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("page.html", "application/octet-stream"),
    ("dessin.svg", "application/octet-stream"),
    ("script.js", "application/octet-stream"),
    ("sans-extension", "application/octet-stream"),
]


@pytest.mark.parametrize(("name", "served_type"), STORED_AS)
def test_documents_are_attachments_with_an_allow_listed_type(
    fresh_client: Client, seeded: Any, name: str, served_type: str
) -> None:
    """Whatever type the object was stored with (here the worst: text/html), S3 answers the presigned
    GET as a download with the allow-listed type."""
    prefix = layout.public_document_key(DOC_PUBLIC, "x")[:-1]
    for key in list(seeded.list_keys(prefix)):
        seeded.delete(key)
    seeded.put_if_changed(
        layout.public_document_key(DOC_PUBLIC, name), b"<script>alert(1)</script>", "text/html"
    )
    response = fresh_client.get(f"/v1/documents/{DOC_PUBLIC}")
    assert response["statusCode"] == 302
    assert response["headers"]["Cache-Control"] == "private, no-store"
    query = parse_qs(urlsplit(response["headers"]["Location"]).query)
    assert query["response-content-type"] == [served_type]
    assert query["response-content-disposition"][0].startswith("attachment; filename=")
    downloaded = requests.get(response["headers"]["Location"], timeout=30)
    assert downloaded.status_code == 200
    assert downloaded.headers["Content-Type"] == served_type
    assert downloaded.headers["Content-Disposition"] == f'attachment; filename="{name}"'


def test_document_with_a_non_ascii_name(fresh_client: Client, seeded: Any) -> None:
    prefix = layout.public_document_key(DOC_PUBLIC, "x")[:-1]
    for key in list(seeded.list_keys(prefix)):
        seeded.delete(key)
    seeded.put_if_changed(
        layout.public_document_key(DOC_PUBLIC, "Délibération n°3.pdf"), b"%PDF-1.4", "text/html"
    )
    location = fresh_client.get(f"/v1/documents/{DOC_PUBLIC}")["headers"]["Location"]
    downloaded = requests.get(location, timeout=30)
    assert downloaded.headers["Content-Type"] == "application/pdf"
    disposition = downloaded.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=\"Deliberation n3.pdf\"; filename*=UTF-8''D%C3%A9lib")
