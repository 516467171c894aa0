"""Exports (``/v1/exports/deliberations.{csv,parquet}``, and ``/v1/deliberations?format=…`` → 307).

Lambda caps a response at 6 MB; above ``api_inline_export_max_bytes`` a *fixed* export (everything, one
year, one SIREN, one SIREN-year, default order) is written under ``public/exports/{sha256}.{fmt}`` and the
API redirects to it; any other large export is a 413. The downloaded bytes must equal the inline body,
and no sequence of distinct anonymous queries may create more objects than there are fixed exports.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyarrow.parquet as pq
import pytest
import requests
from api_scenario import RENNES, Client, FakeDirectory, scenario_actes
from botocore.exceptions import ClientError

from regate.api.app import ApiServices, build_services
from regate.api.exports import payload_size, store_export, stored_length
from regate.api.query import Filtres
from regate.storage import ObjectStore, layout
from regate_local.sampledata import write_partitions

TARGET = f"/v1/exports/deliberations.csv?siren={RENNES}"


def _services(fresh_env: tuple[Any, Any, Any], threshold: int) -> ApiServices:
    settings, client, _ = fresh_env
    return build_services(
        settings.model_copy(update={"api_inline_export_max_bytes": threshold}),
        client,
        directory=FakeDirectory(),
        list_ttl_seconds=0,
    )


def _inline_bytes(response: dict[str, Any]) -> bytes:
    assert response["statusCode"] == 200, response
    if response.get("isBase64Encoded"):
        return base64.b64decode(response["body"])
    return response["body"].encode()


def _download(response: dict[str, Any]) -> requests.Response:
    assert response["statusCode"] == 302, response
    downloaded = requests.get(response["headers"]["Location"], timeout=10)
    assert downloaded.status_code == 200, downloaded.text
    return downloaded


def _export_keys(curated: Any) -> list[str]:
    return sorted(curated.list_keys(layout.PUBLIC_EXPORTS_PREFIX))


def test_small_export_stays_inline(fresh_services: ApiServices, seeded: Any) -> None:
    assert fresh_services.settings.api_inline_export_max_bytes == 5_000_000
    response = Client(fresh_services).get(TARGET)
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("text/csv")
    assert response["headers"]["Content-Disposition"] == 'attachment; filename="deliberations.csv"'
    assert "Location" not in response["headers"]
    assert _export_keys(seeded) == []


def test_format_parameter_redirects_to_the_export_route(fresh_services: ApiServices) -> None:
    """``/v1/deliberations?format=csv`` keeps working through a 307 to the (separately throttled) export
    route: filters and sort kept; pagination and columns, which do not apply to an export, dropped."""
    client = Client(fresh_services)
    target = f"/v1/deliberations?format=csv&siren={RENNES}&q=budget&sort=siren&limit=3&fields=acte_id"
    response = client.get(target, follow=False)
    assert response["statusCode"] == 307 and response["body"] == ""
    location = urlsplit(response["headers"]["Location"])
    assert location.path == "/v1/exports/deliberations.csv" and not location.netloc
    assert parse_qs(location.query) == {"siren": [RENNES], "q": ["budget"], "sort": ["siren"]}
    assert client.get(target)["body"] == client.get(response["headers"]["Location"])["body"]
    parquet = client.get("/v1/deliberations?format=parquet", follow=False)
    assert parquet["headers"]["Location"] == "/v1/exports/deliberations.parquet"
    # parameters are still validated before redirecting
    assert client.get("/v1/deliberations?format=csv&limit=0", follow=False)["statusCode"] == 422
    assert client.get("/v1/exports/deliberations.csv?limit=3")["statusCode"] == 400


def test_head_on_the_export_route(fresh_services: ApiServices) -> None:
    client = Client(fresh_services)
    get = client.get(TARGET)
    head = client.get(TARGET, method="HEAD")
    assert head["statusCode"] == 200 and head["body"] == ""
    assert head["headers"] == {**get["headers"], "Content-Length": str(len(get["body"].encode()))}


NOT_FIXED = [
    f"siren={RENNES}&q=budget",
    f"siren={RENNES}&matiere=7",
    f"siren={RENNES}&date_min=2024-01-01",
    f"siren={RENNES}&publie=true",
    f"siren={RENNES}&siren=243500139",
    f"siren={RENNES}&sort=acte_id",
    "q=conseil",
]


@pytest.mark.parametrize("query", NOT_FIXED)
def test_large_export_that_is_not_a_fixed_one_is_refused(
    fresh_env: tuple[Any, Any, Any], seeded: Any, query: str
) -> None:
    response = Client(_services(fresh_env, 0)).get(f"/v1/exports/deliberations.csv?{query}")
    assert response["statusCode"] == 413, response
    error = json.loads(response["body"])["erreur"]
    assert error["code"] == 413 and "Export trop volumineux" in error["message"]
    assert "/v1/deliberations/{siren}/{annee}.csv" in error["message"]
    assert error["details"]["maximum"] == 0 and error["details"]["taille"] > 0
    assert response["headers"]["Cache-Control"] == "no-cache"
    assert _export_keys(seeded) == []


def test_distinct_anonymous_queries_never_multiply_stored_objects(
    fresh_env: tuple[Any, Any, Any], seeded: Any
) -> None:
    """Distinct query strings (new SIRENs, years, searches, dates) store no more than the fixed
    exports the data holds."""
    empty = _inline_bytes(
        Client(_services(fresh_env, 5_000_000)).get("/v1/exports/deliberations.csv?annee=1999")
    )
    rennes = _inline_bytes(Client(_services(fresh_env, 5_000_000)).get(TARGET))
    limit = len(empty) + 10  # an empty export is inline, Rennes' acts are not
    assert len(rennes) > limit
    client = Client(_services(fresh_env, limit))
    queries = [f"siren={n:09d}" for n in range(100_000_000, 100_000_015)]
    queries += [f"annee={year}" for year in range(1990, 2000)]
    queries += [f"siren={RENNES}&q=mot{n}" for n in range(10)] + [f"q=a{n}" for n in range(10)]
    queries += [f"siren={RENNES}&date_min=2024-01-{day:02d}" for day in range(1, 8)]
    queries += [f"siren={RENNES}", f"siren={RENNES}&siren={RENNES}", f"siren={RENNES}&annee=2024", ""]
    statuses = {client.get(f"/v1/exports/deliberations.csv?{q}")["statusCode"] for q in queries}
    assert statuses == {200, 302, 413}
    # the fixed exports asked for that are large: Rennes, Rennes 2024 and everything
    assert len(_export_keys(seeded)) == 3


def test_threshold_is_on_the_body_size(fresh_env: tuple[Any, Any, Any], seeded: Any) -> None:
    """Exactly at the limit stays inline, one byte over redirects."""
    body = _inline_bytes(Client(_services(fresh_env, 5_000_000)).get(TARGET))
    assert Client(_services(fresh_env, len(body))).get(TARGET)["statusCode"] == 200
    assert _export_keys(seeded) == []
    assert Client(_services(fresh_env, len(body) - 1)).get(TARGET)["statusCode"] == 302


def test_large_csv_redirects_to_identical_bytes(fresh_env: tuple[Any, Any, Any], seeded: Any) -> None:
    inline = Client(_services(fresh_env, 5_000_000)).get(TARGET)
    large_services = _services(fresh_env, 0)
    response = Client(large_services).get(TARGET)
    assert response["body"] == ""
    headers = response["headers"]
    # same validators and caching as the inline answer
    assert headers["ETag"] == inline["headers"]["ETag"]
    assert headers["Cache-Control"] == inline["headers"]["Cache-Control"] == "public, max-age=300"
    assert (
        headers["Access-Control-Allow-Origin"] == "*" and "ETag" in headers["Access-Control-Expose-Headers"]
    )
    location = urlsplit(headers["Location"])
    query = parse_qs(location.query)
    assert query["response-content-disposition"] == ['attachment; filename="deliberations.csv"']
    assert query["response-content-type"] == ["text/csv; charset=utf-8"]
    assert query["X-Amz-Expires"] == [str(large_services.settings.api_presign_seconds)]
    # content-addressed key: data version + filters + sort + format
    filtres = Filtres(sirens=(RENNES,), natures=(1,))
    version = large_services.query.version(filtres)
    key = layout.public_export_key(filtres.export_digest(version, "-delib_date", "csv"), "csv")
    assert location.path.endswith("/" + key)
    assert _export_keys(seeded) == [key]
    downloaded = _download(response)
    assert downloaded.content == _inline_bytes(inline)
    assert downloaded.headers["Content-Disposition"] == 'attachment; filename="deliberations.csv"'
    assert downloaded.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(downloaded.content.decode())))
    assert len(rows) - 1 == 8


def test_second_request_reuses_the_stored_export(fresh_env: tuple[Any, Any, Any], seeded: Any) -> None:
    first = Client(_services(fresh_env, 0)).get(TARGET)
    (key,) = _export_keys(seeded)
    before = seeded.list_versions(key)
    # same container, then a cold one: same key, no new S3 version
    again = Client(_services(fresh_env, 0)).get(TARGET)
    assert Client(_services(fresh_env, 0)).get(TARGET)["statusCode"] == 302
    assert urlsplit(again["headers"]["Location"]).path == urlsplit(first["headers"]["Location"]).path
    assert seeded.list_versions(key) == before and len(before) == 1
    # spelling the same filters differently (repeated siren) names the same object
    Client(_services(fresh_env, 0)).get(f"{TARGET}&siren={RENNES}")
    assert _export_keys(seeded) == [key]
    # another order is not one of the fixed exports: refused when large, nothing stored
    refused = Client(_services(fresh_env, 0)).get(f"{TARGET}&sort=delib_date")
    assert refused["statusCode"] == 413
    assert _export_keys(seeded) == [key]


def test_large_parquet_redirects_to_identical_bytes(fresh_env: tuple[Any, Any, Any], seeded: Any) -> None:
    target = f"/v1/exports/deliberations.parquet?siren={RENNES}&annee=2024"
    inline = Client(_services(fresh_env, 5_000_000)).get(target)
    assert inline["isBase64Encoded"] is True
    response = Client(_services(fresh_env, 0)).get(target)
    downloaded = _download(response)
    assert downloaded.content == _inline_bytes(inline)
    assert downloaded.headers["Content-Type"] == "application/vnd.apache.parquet"
    assert downloaded.headers["Content-Disposition"] == 'attachment; filename="deliberations.parquet"'
    assert pq.read_table(io.BytesIO(downloaded.content)).num_rows == 6  # R000-R004 minus 2023, plus R900
    (key,) = _export_keys(seeded)
    assert key.endswith(".parquet")


def test_parquet_limit_counts_the_base64_payload(fresh_env: tuple[Any, Any, Any], seeded: Any) -> None:
    """Binary bodies reach Lambda base64-encoded: the limit applies to that size, not the raw bytes."""
    target = f"/v1/exports/deliberations.parquet?siren={RENNES}"
    raw = _inline_bytes(Client(_services(fresh_env, 5_000_000)).get(target))
    encoded = payload_size(len(raw), "parquet")
    assert encoded == len(base64.b64encode(raw)) > len(raw)
    assert Client(_services(fresh_env, encoded)).get(target)["statusCode"] == 200
    assert Client(_services(fresh_env, len(raw))).get(target)["statusCode"] == 302


def test_if_none_match_answers_304_for_large_exports(fresh_env: tuple[Any, Any, Any], seeded: Any) -> None:
    client = Client(_services(fresh_env, 0))
    etag = client.get(TARGET)["headers"]["ETag"]
    again = client.get(TARGET, {"if-none-match": etag})
    assert again["statusCode"] == 304 and again["body"] == ""
    assert again["headers"]["ETag"] == etag and "Location" not in again["headers"]
    assert client.get(TARGET, {"if-none-match": '"autre"'})["statusCode"] == 302


def test_withheld_acts_never_appear_in_an_export(
    fresh_env: tuple[Any, Any, Any], seeded: Any, api_settings: Any
) -> None:
    client = Client(_services(fresh_env, 0))
    first = client.get(TARGET)
    content = _download(first).content.decode()
    # the act kept out of public/ by the publication decision
    assert "Acte retenu secret" not in content and "R999" not in content
    assert "Budget primitif 2025" in content
    # an act withdrawn later: new data version, new object, never the stale one
    kept = [
        a
        for a in scenario_actes(api_settings.public_base_url)
        if a.siren == RENNES and a.delib_date.year == 2024 and a.delib_objet != "Budget primitif 2025"
    ]
    write_partitions(seeded, kept)
    second = client.get(TARGET, {"if-none-match": first["headers"]["ETag"]})
    assert second["statusCode"] == 302 and second["headers"]["ETag"] != first["headers"]["ETag"]
    assert urlsplit(second["headers"]["Location"]).path != urlsplit(first["headers"]["Location"]).path
    content = _download(second).content.decode()
    assert "Budget primitif 2025" not in content and "Acte retenu secret" not in content
    assert content.encode() == _inline_bytes(Client(_services(fresh_env, 5_000_000)).get(TARGET))
    assert len(_export_keys(seeded)) == 2


class ForbiddenHead(ObjectStore):
    """S3 as the API role sees it in AWS: a HEAD on a missing key under a prefix-scoped ListBucket is 403."""

    def head(self, key: str) -> dict[str, Any] | None:
        raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")


def test_store_export_is_create_only(seeded: Any) -> None:
    """Concurrent writers (or an unknowable HEAD) never add a second version of an export."""
    key = layout.public_export_key("1" * 64, "csv")
    assert store_export(seeded, key, b"a,b\r\n", "csv") is True
    assert store_export(seeded, key, b"a,b\r\n", "csv") is False  # HEAD sees it
    assert store_export(seeded, key, b"a,b\r\n", "csv", checked=True) is False  # If-None-Match: *
    blind = ForbiddenHead(seeded.client, seeded.bucket)
    assert stored_length(blind, key) is None
    assert store_export(blind, key, b"a,b\r\n", "csv") is False
    assert len(seeded.list_versions(key)) == 1
    assert seeded.get_bytes(key) == b"a,b\r\n"
    assert stored_length(seeded, key) == 5


def test_store_export_from_a_file(seeded: Any, tmp_path: Any) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(b"x" * 3_000_000)
    key = layout.public_export_key("3" * 64, "csv")
    assert store_export(seeded, key, path, "csv") is True
    assert store_export(seeded, key, path, "csv", checked=True) is False
    head = seeded.head(key)
    assert head["ContentLength"] == 3_000_000 and head["ContentType"].startswith("text/csv")
    assert head["ContentDisposition"] == 'attachment; filename="deliberations.csv"'
    assert len(seeded.list_versions(key)) == 1


def test_store_export_propagates_other_s3_errors(seeded: Any) -> None:
    class Broken(ObjectStore):
        def head(self, key: str) -> dict[str, Any] | None:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "boom"}}, "HeadObject")

    with pytest.raises(ClientError):
        stored_length(Broken(seeded.client, seeded.bucket), layout.public_export_key("2" * 64, "csv"))


@pytest.mark.parametrize(
    ("digest", "fmt"),
    [("a" * 63, "csv"), ("../" + "a" * 61, "csv"), ("A" * 64, "csv"), ("a" * 64, "json"), ("a" * 64, "")],
)
def test_export_key_rejects_bad_parts(digest: str, fmt: str) -> None:
    with pytest.raises(ValueError):
        layout.public_export_key(digest, fmt)


def test_export_key_is_under_public_exports() -> None:
    assert layout.public_export_key("0" * 64, "parquet") == f"public/exports/{'0' * 64}.parquet"
