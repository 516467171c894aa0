"""The marchés routes of the API on moto, over what capture (Atexo simulator) → normalisation produced."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from regate.api.app import build_services, create_app
from regate.api.collectivites import EmptyDirectory
from regate.flux.marches import batch, table
from regate.profil_acheteur.capture import MarchesCaptureOptions, capture_marches, run_date
from regate.storage import layout
from regate_local.serve.server import http_api_event

pytestmark = pytest.mark.integration
BUYERS = ("213502388", "212900195")
RENNES = "21350238800019"


@pytest.fixture()
def api(sim, client_factory, raw_store, curated_store, settings, s3_client, clock, tmp_path) -> Any:
    clock.current = datetime(2025, 2, 14, 8, tzinfo=UTC)
    _simulator, url = sim
    capture_marches(
        client_factory(url), raw_store, MarchesCaptureOptions(plateforme="megalis", sirens=BUYERS), clock
    )
    normalized = batch.build(raw_store, run_date(clock))
    batch.write_outputs(curated_store, normalized)
    services = build_services(
        settings.model_copy(update={"api_cache_dir": str(tmp_path / "cache")}),
        s3_client,
        directory=EmptyDirectory(),
        list_ttl_seconds=0,
    )
    app = create_app(services)

    def get(target: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        return app.resolve(http_api_event("GET", target, headers or {}), {})

    get.services = services  # type: ignore[attr-defined]
    get.normalized = normalized  # type: ignore[attr-defined]
    get.curated = curated_store  # type: ignore[attr-defined]
    return get


def _json(response: dict[str, Any], status: int = 200) -> Any:
    assert response["statusCode"] == status, response
    return json.loads(response["body"])


def test_listing_filters_sort_and_cursor(api) -> None:
    published = api.normalized.published
    body = _json(api("/v1/marches?limit=1000"))
    assert body["total"] == len(published) == len(body["data"])
    dates = [r["date_notification"] or r["date_signature"] for r in body["data"]]
    assert dates == sorted(dates, reverse=True)

    rennes = _json(api(f"/v1/marches?acheteur={RENNES}&annee=2024&limit=1000"))
    assert rennes["total"] > 0 and {r["acheteur_siret"] for r in rennes["data"]} == {RENNES}
    assert {r["annee"] for r in rennes["data"]} == {2024}
    by_siren = _json(api("/v1/marches?acheteur=213502388&annee=2024&limit=1000"))
    assert by_siren["total"] == rennes["total"]

    # walk every page with a cursor: same rows, no duplicate
    seen: list[str] = []
    target = "/v1/marches?limit=7&sort=montant&fields=uid,kind,montant,valeur_globale"
    while target:
        page = _json(api(target))
        seen.extend(f"{r['kind']}:{r['uid']}" for r in page["data"])
        assert all(set(r) == {"uid", "kind", "montant", "valeur_globale"} for r in page["data"])
        target = urlsplit(page["next"])._replace(scheme="", netloc="").geturl() if page["next"] else ""
    assert len(seen) == len(set(seen)) == len(published)

    sample = next(r for r in published if r.kind == "marche" and r.record.get("codeCPV"))
    cpv, amount = sample.record["codeCPV"][:3], sample.record["montant"]
    rows = _json(api(f"/v1/marches?cpv={cpv}&montant_min={amount}&montant_max={amount}"))["data"]
    assert sample.record["id"] in {r["id"] for r in rows}
    assert all(r["code_cpv"].startswith(cpv) and r["montant"] == amount for r in rows)

    holder = sample.record["titulaires"][0]["titulaire"]["id"]
    if len(holder) == 14:
        rows = _json(api(f"/v1/marches?titulaire={holder}&limit=1000"))["data"]
        assert sample.record["id"] in {r["id"] for r in rows}
        assert all(holder in {t["identifiant"] for t in r["titulaires"]} for r in rows)

    procedure = sample.record["procedure"]
    rows = _json(api(f"/v1/marches?procedure={quote(procedure)}&nature={quote(sample.record['nature'])}"))
    assert rows["total"] > 0 and {r["procedure"] for r in rows["data"]} == {procedure}

    word = next(w for w in sample.record["objet"].split() if len(w) > 5)
    rows = _json(api(f"/v1/marches?q={quote(word.upper())}&limit=1000"))["data"]
    assert sample.record["id"] in {r["id"] for r in rows}


def test_csv_format_and_etag(api) -> None:
    response = api(f"/v1/marches?acheteur={RENNES}&format=csv")
    assert response["statusCode"] == 200 and response["headers"]["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response["body"], newline="")))
    assert rows and {r["acheteur_siret"] for r in rows} == {RENNES}
    # the same lines as the lake's CSV view of the published contracts (one dialect)
    contrats, _ = table.rows_from(api.normalized.published)
    contrats = [c for c in contrats if c.acheteur_siret == RENNES]
    expected = table.to_csv(contrats, table.ContratRow).decode().split("\r\n")
    got = response["body"].split("\r\n")
    assert got[0] == expected[0] and sorted(got[1:]) == sorted(expected[1:])
    etag = response["headers"]["ETag"]
    again = api(f"/v1/marches?acheteur={RENNES}&format=csv", {"If-None-Match": etag})
    assert again["statusCode"] == 304


def test_decp_file_is_byte_identical(api) -> None:
    for key in (layout.decp_key(RENNES, 2024), layout.decp_national_key(2024)):
        stored = api.curated.get_bytes(key)
        scope = layout.parse_decp_key(key)[0]
        response = api(f"/v1/marches/{scope}/2024.json")
        assert response["statusCode"] == 200
        assert response["body"].encode("utf-8") == stored
    assert _json(api(f"/v1/marches/{RENNES}/1999.json"), 404)["erreur"]["message"]


def test_large_files_redirect_and_large_csv_is_refused(api) -> None:
    import requests

    api.services.settings = api.services.settings.model_copy(update={"api_inline_export_max_bytes": 1000})
    app = create_app(api.services)
    response = app.resolve(http_api_event("GET", "/v1/marches/all/2024.json", {}), {})
    assert response["statusCode"] == 302
    fetched = requests.get(response["headers"]["Location"], timeout=10)
    assert fetched.content == api.curated.get_bytes(layout.decp_national_key(2024))
    again = app.resolve(
        http_api_event("GET", "/v1/marches/all/2024.json", {"If-None-Match": response["headers"]["ETag"]}), {}
    )
    assert again["statusCode"] == 304
    refused = app.resolve(http_api_event("GET", "/v1/marches?format=csv", {}), {})
    assert refused["statusCode"] == 413 and "restreignez" in json.loads(refused["body"])["erreur"]["message"]


def test_stats_by_cpv_procedure_month(api) -> None:
    published = api.normalized.published
    for group in ("cpv", "procedure", "mois"):
        body = _json(api(f"/v1/marches/stats?group={group}"))
        assert body["total"] == len(published) == sum(r["nombre"] for r in body["data"])
    by_procedure = {r["cle"]: r["nombre"] for r in _json(api("/v1/marches/stats?group=procedure"))["data"]}
    expected: dict[str, int] = {}
    for r in published:
        expected[r.record["procedure"]] = expected.get(r.record["procedure"], 0) + 1
    assert by_procedure == expected
    months = [r["cle"] for r in _json(api("/v1/marches/stats?group=mois&annee=2024"))["data"]]
    assert months and all(m.startswith("2024-") for m in months)


@pytest.mark.parametrize(
    ("target", "status", "needle"),
    [
        ("/v1/marches?acheteurs=213502388", 400, "Paramètre inconnu"),
        ("/v1/marches?acheteur=1234", 422, "acheteur"),
        ("/v1/marches?acheteur=213502388%27%20OR%201=1--", 422, "acheteur"),
        ("/v1/marches?titulaire=213502388", 422, "titulaire"),
        ("/v1/marches?cpv=45%25", 422, "cpv"),
        ("/v1/marches?nature=DROP%20TABLE", 422, "nature"),
        ("/v1/marches?procedure=x", 422, "procedure"),
        ("/v1/marches?montant_min=10&montant_max=5", 422, "montant_max"),
        ("/v1/marches?montant_min=-1", 422, "montant_min"),
        ("/v1/marches?montant_min=abc", 422, "montant_min"),
        ("/v1/marches?annee=20245", 422, "annee"),
        ("/v1/marches?annee=2024&annee=2025", 422, "annee"),
        ("/v1/marches?sort=objet", 422, "sort"),
        ("/v1/marches?fields=uid,secret", 422, "fields"),
        ("/v1/marches?limit=100000", 422, "limit"),
        ("/v1/marches?cursor=!!!", 422, "cursor"),
        ("/v1/marches?q=" + "x" * 300, 422, "q"),
        ("/v1/marches?format=xml", 422, "format"),
        ("/v1/marches?format=csv&limit=5", 400, "format=csv"),
        ("/v1/marches/stats?group=objet", 422, "group"),
        ("/v1/marches/stats?sort=date", 400, "Paramètre inconnu"),
        ("/v1/marches/2135023880001/2024.json", 422, "siret"),
        ("/v1/marches/..%2F..%2Fconfig/2024.json", 422, "siret"),
        ("/v1/marches/all/24.json", 422, "annee"),
        ("/v1/marches/all/2024.json?x=1", 400, "Paramètre inconnu"),
    ],
)
def test_hostile_query_strings(api, target: str, status: int, needle: str) -> None:
    response = api(target)
    body = _json(response, status)
    assert needle in body["erreur"]["message"], body
    assert response["headers"]["Content-Type"] == "application/json"


def test_cursor_bound_to_its_filters(api) -> None:
    first = _json(api("/v1/marches?limit=2&annee=2024"))
    cursor = first["next"].split("cursor=")[1]
    body = _json(api(f"/v1/marches?limit=2&annee=2025&cursor={cursor}"), 422)
    assert "autres filtres" in body["erreur"]["message"]


@pytest.mark.slow
def test_no_input_causes_a_server_error(api) -> None:
    """schemathesis over the marchés operations, on real data (valid and invalid generated inputs)."""
    import threading

    import schemathesis
    from hypothesis import HealthCheck, given, settings

    from regate_local.serve.server import make_server

    server = make_server("127.0.0.1", 0, factory=lambda: create_app(api.services))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = "http://{}:{}".format(*server.server_address[:2])
    try:
        schema = schemathesis.openapi.from_url(f"{base}/v1/openapi.json")
        operations = [
            r.ok()
            for r in schema.get_all_operations()
            if "/v1/marches" in r.ok().path and r.ok().method == "get"
        ]
        assert len(operations) == 3
        checked = 0
        for operation in operations:
            strategy = operation.as_strategy() | operation.as_strategy(schemathesis.GenerationMode.NEGATIVE)

            @given(case=strategy)
            @settings(
                max_examples=60,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def run(case: schemathesis.Case) -> None:
                nonlocal checked
                response = case.call(base_url=base, allow_redirects=False, timeout=60)
                checked += 1
                assert response.status_code < 500, (case.path, case.query, response.text[:500])

            run()
        assert checked >= 3 * 30
    finally:
        server.shutdown()
        server.server_close()
