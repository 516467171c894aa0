"""The API answers the same from the compacted read datasets (public/lake/) as from the partitions."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from api_scenario import BREST, EPCI, RENNES, Client, FakeDirectory

from regate.api.app import build_services
from regate.normalize.lake import LakeOptions, rebuild_lake
from regate.storage import layout

#: every read route the scenario exercises: pages (national, filtered, cursors), full text, stats, maps,
#: mReport, exports, documents
TARGETS = [
    "/v1/deliberations",
    "/v1/deliberations?limit=2",
    "/v1/deliberations?limit=1000&sort=siren",
    "/v1/deliberations?publie=false",
    "/v1/deliberations?q=budget%20primitif",
    "/v1/deliberations?q=voirie&sort=siren",
    "/v1/deliberations?q=secret",
    "/v1/deliberations?sort=acte_id&limit=3",
    "/v1/deliberations?matiere=7&annee=2024",
    "/v1/deliberations?date_min=2024-03-01&date_max=2024-11-30",
    f"/v1/deliberations?siren={RENNES}&annee=2023",
    f"/v1/deliberations?siren={EPCI}&annee=2024",
    f"/v1/deliberations?siren={BREST}",
    f"/v1/deliberations?fields=delib_objet,delib_date&sort=delib_date&siren={RENNES}",
    "/v1/stats?group=annee",
    "/v1/stats?group=matiere",
    "/v1/stats?group=matiere&matiere=7",
    "/v1/stats?group=mois",
    "/v1/stats?group=nature",
    "/v1/stats?group=nature&nature=2",
    "/v1/stats?group=collectivite",
    "/v1/stats?group=collectivite&q=plan",
    "/v1/stats?group=mois&date_min=2024-03-02",
    "/v1/stats?group=matiere&publie=true",
    "/v1/collectivites",
    "/v1/collectivites.geojson",
    "/v1/collectivites.geojson?annee=2024",
    f"/v1/mreport/deliberations?dataid={RENNES}",
    f"/v1/mreport/deliberations?dataid={EPCI}",
    "/v1/exports/deliberations.csv",
    f"/v1/deliberations?format=csv&siren={RENNES}&q=budget&sort=siren&limit=3&fields=acte_id",
    "/v1/documents/pubdoc0001aaaa",
    "/v1/documents/retenu0001dddd",
    "/v1/documents/withheld0001cccc",
]


def _answers(client: Client) -> dict[str, tuple[int, Any]]:
    out: dict[str, tuple[int, Any]] = {}
    for target in TARGETS:
        response = client.get(target)
        if response["statusCode"] == 302:  # presigned URL: its signature depends on the second
            out[target] = (302, response["headers"]["Location"].split("?", 1)[0])
            continue
        body = response.get("body") or ""
        with contextlib.suppress(ValueError):
            body = json.loads(body)
        out[target] = (response["statusCode"], body)
    return out


def _follow_cursor(client: Client, target: str) -> list[str]:
    ids: list[str] = []
    while target:
        page = client.json(target)
        ids += [row["acte_id"] for row in page["data"]]
        cursor = page.get("next_cursor") or (page.get("links") or {}).get("next")
        target = cursor if isinstance(cursor, str) and cursor.startswith("/v1/") else ""
    return ids


def test_lake_answers_equal_partition_answers(fresh_env: tuple[Any, Any, Any]) -> None:
    settings, client_s3, curated = fresh_env
    services = build_services(settings, client_s3, directory=FakeDirectory(), list_ttl_seconds=0)
    client = Client(services)
    before = _answers(client)
    assert services.query.lake is not None and services.query.lake.years() is None  # no lake: partitions

    result = rebuild_lake(curated, None, LakeOptions(row_group_rows=256))
    assert sorted(result.years) == [2022, 2023, 2024]
    assert curated.exists(layout.LAKE_MANIFEST_KEY)
    services.query.dataset.downloads = 0
    services.query.recorder = []
    after = _answers(client)
    sent = [sql for sql, _params in services.query.recorder]
    assert any("sum(nombre)" in sql for sql in sent)  # stats, maps, mReport from the counts dataset
    assert not any("actes_publics" in sql for sql in sent)  # never the in-memory national table
    assert services.query.lake.years() is not None
    not_200 = {t: status for t, (status, _) in before.items() if status != 200}
    assert not_200 == {  # published document redirected, withheld ones unknown: same as from partitions
        "/v1/documents/pubdoc0001aaaa": 302,
        "/v1/documents/retenu0001dddd": 404,
        "/v1/documents/withheld0001cccc": 404,
    }
    for target in TARGETS:
        assert after[target] == before[target], target
    # the lake path read the compacted files, never a partition
    local = {p.name for p in services.query.dataset.cache_dir.glob("*.parquet")}
    partitions = services.query.dataset.snapshot().partitions
    lake_files = [y.actes for y in services.query.lake.years().values()]
    assert len(local) >= len(lake_files)
    assert services.query.dataset.downloads <= 3 * len(lake_files)  # actes, comptes, comptes_nationaux
    assert len(partitions) > 0


def test_lake_pages_and_304(fresh_env: tuple[Any, Any, Any]) -> None:
    settings, client_s3, curated = fresh_env
    rebuild_lake(curated, None, LakeOptions(row_group_rows=256))
    services = build_services(settings, client_s3, directory=FakeDirectory(), list_ttl_seconds=0)
    client = Client(services)
    first = client.get("/v1/stats?group=matiere")
    etag = first["headers"]["ETag"]
    again = client.get("/v1/stats?group=matiere", headers={"If-None-Match": etag})
    assert again["statusCode"] == 304
    # a change in the lake changes the version (no stale 304)
    from datetime import date

    from regate_local.sampledata import Acte, write_partitions

    write_partitions(curated, [Acte(BREST, date(2022, 10, 1), "Nouvel acte", acte_id="brest-002")])
    rebuild_lake(curated, [2022], LakeOptions(row_group_rows=256))
    changed = client.get("/v1/stats?group=matiere", headers={"If-None-Match": etag})
    assert changed["statusCode"] == 200


def test_lake_manifest_read_at_most_once_per_ttl(fresh_env: tuple[Any, Any, Any]) -> None:
    settings, client_s3, curated = fresh_env
    rebuild_lake(curated, None, LakeOptions())
    services = build_services(settings, client_s3, directory=FakeDirectory(), list_ttl_seconds=3600)
    client = Client(services)
    for target in ("/v1/deliberations", "/v1/stats?group=matiere", "/v1/collectivites.geojson?annee=2024"):
        assert client.get(target)["statusCode"] == 200
    assert services.query.lake is not None and services.query.lake.manifest_reads == 1
    assert services.query.dataset.list_calls == 0  # no LIST of the partitions
