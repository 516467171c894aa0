"""End to end (issue 9.2): a takedown by `config/collectivites.csv` and one by `config/overrides.csv` are
applied by the normal chain — S3 events on the operator files → normalise → dirty markers → publish — and the
acts are gone from every API route, every SCDL file, the public documents and the simulated data.gouv.fr
portal. Removing the override publishes the act again."""

from __future__ import annotations

import csv
import io
import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from regate.storage import ObjectStore, layout, make_s3_client
from regate_local.runtime.chain import LocalChain
from regate_local.runtime.demo import DEMO_COLLECTIVITES_CSV, demo_settings, push_depot_zips
from regate_local.runtime.environment import create_buckets, export_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]
METROPOLE, RENNES = "243500139", "213502388"


def public_rows(curated: ObjectStore) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for key in curated.list_keys(layout.PUBLIC_ACTES_PARQUET_PREFIX):
        rows.extend(pq.read_table(io.BytesIO(curated.get_bytes(key))).to_pylist())
    return rows


def internal_rows(curated: ObjectStore) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for key in curated.list_keys(layout.ACTES_PARQUET_PREFIX):
        rows.extend(pq.read_table(io.BytesIO(curated.get_bytes(key))).to_pylist())
    return rows


def csv_ids(data: bytes) -> set[tuple[str, str]]:
    """(COLL_SIRET[:9], DELIB_ID) of an SCDL file."""
    return {(r["COLL_SIRET"][:9], r["DELIB_ID"]) for r in csv.DictReader(io.StringIO(data.decode("utf-8")))}


def documents_of(row: dict[str, Any]) -> set[str]:
    return {row["document_id"]} | {a["document_id"] for a in json.loads(row["annexes"] or "[]")} - {None}


class World:
    """Simulators, buckets and the chain, as `regate demo` wires them."""

    def __init__(self, stack: ExitStack, moto_endpoint: str, tmp_path: Path, name: str = "takedown") -> None:
        from regate_local.datagouv_sim import DatagouvSimulator
        from regate_local.pastell_sim import PastellSimulator

        self.pastell = PastellSimulator()
        pastell_url = stack.enter_context(self.pastell.serve()).url
        self.datagouv = DatagouvSimulator()
        datagouv_url = stack.enter_context(self.datagouv.serve()).url
        self.settings = demo_settings(moto_endpoint, pastell_url, datagouv_url, 8000).model_copy(
            update={
                "raw_bucket": f"{name}-raw",
                "curated_bucket": f"{name}-curated",
                "api_cache_dir": str(tmp_path / "api-cache"),
            }
        )
        export_settings(self.settings)
        client = make_s3_client(self.settings)
        create_buckets(client, self.settings)
        self.raw = ObjectStore(client, self.settings.raw_bucket)
        self.curated = ObjectStore(client, self.settings.curated_bucket)
        self.curated.put_if_changed(
            layout.CONFIG_COLLECTIVITES_KEY, DEMO_COLLECTIVITES_CSV.read_bytes(), "text/csv"
        )
        self.chain = LocalChain(client, self.settings.raw_bucket, self.settings.curated_bucket)

    def run(self) -> None:
        result = self.chain.run()
        assert result.ok, {s.name: s.failures for s in result.stages if s.failures}

    def api(self, target: str) -> dict[str, Any]:
        """A fresh API container each time (no warm cache can hide a withdrawal)."""
        from regate_local.runtime.lambdas import LocalFunction
        from regate_local.serve.server import http_api_event

        return LocalFunction("api").invoke(http_api_event("GET", target, {}))

    def portal_ids(self) -> set[tuple[str, str]]:
        """Every délibération the simulated portal serves, across datasets and hosted resources."""
        found: set[tuple[str, str]] = set()
        for dataset in self.datagouv.datasets.values():
            if dataset.get("deleted"):
                continue
            for resource in dataset.get("resources", []):
                try:
                    found |= csv_ids(self.datagouv.file_bytes(resource["id"]))
                except KeyError:  # not a hosted file
                    continue
        return found

    def scdl_ids(self) -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        for key in self.curated.list_keys(layout.SCDL_DELIBERATIONS_PREFIX):
            found |= csv_ids(self.curated.get_bytes(key))
        return found

    def api_ids(self, years: set[int], sirens: set[str]) -> set[tuple[str, str]]:
        """What every read route exposes about délibérations (JSON pages, CSV export, SCDL files)."""
        found: set[tuple[str, str]] = set()
        page = self.api("/v1/deliberations?limit=1000")
        assert page["statusCode"] == 200, page
        found |= {(r["siren"], r["delib_id"]) for r in json.loads(page["body"])["data"]}
        redirect = self.api("/v1/deliberations?format=csv")
        assert redirect["statusCode"] == 307, redirect["statusCode"]  # exports have their own route
        export = self.api("/v1/exports/deliberations.csv")
        assert export["statusCode"] == 200, export["statusCode"]
        found |= csv_ids(export["body"].encode())
        for year in years:
            for siren in [*sirens, "all"]:
                scdl = self.api(f"/v1/deliberations/{siren}/{year}.csv")
                assert scdl["statusCode"] in {200, 404}, scdl
                if scdl["statusCode"] == 200:
                    found |= csv_ids(scdl["body"].encode())
        return found

    def views_of(self, siren: str) -> dict[str, bool]:
        """Does each aggregate route still show ``siren``?"""
        listed = json.loads(self.api("/v1/collectivites")["body"])["data"]
        features = json.loads(self.api("/v1/collectivites.geojson")["body"])["features"]
        mreport = json.loads(self.api(f"/v1/mreport/deliberations?dataid={siren}")["body"])["data"]
        stats = json.loads(self.api("/v1/stats?group=collectivite")["body"])["data"]
        return {
            "collectivites": any(c["siren"] == siren for c in listed),
            "geojson": any(f["properties"]["siren"] == siren for f in features),
            "mreport": any(r["dataviz"] == "delib_nb_total" and r["data"] not in ("", "0") for r in mreport),
            "stats": any(siren in json.dumps(row) for row in stats),
        }


def assert_gone(world: World, acts: list[dict[str, Any]], years: set[int], sirens: set[str]) -> None:
    ids = {(a["siren"], a["delib_id"]) for a in acts}
    assert not ids & {(r["siren"], r["delib_id"]) for r in public_rows(world.curated)}
    assert not ids & world.scdl_ids(), "still in an SCDL file of the curated bucket"
    assert not ids & world.api_ids(years, sirens), "still served by the API"
    assert not ids & world.portal_ids(), "still on the simulated data.gouv.fr"
    documents = {d for a in acts for d in documents_of(a)}
    assert documents
    stored = {k.split("/")[2] for k in world.curated.list_keys(layout.PUBLIC_DOCUMENTS_PREFIX)}
    assert not documents & stored, "a public document is still stored"
    for document in documents:
        assert world.api(f"/v1/documents/{document}")["statusCode"] == 404


def test_takedowns_by_config_and_by_override_reach_every_route_file_and_the_portal(
    moto_endpoint: str, tmp_path: Path
) -> None:
    with ExitStack() as stack:
        world = World(stack, moto_endpoint, tmp_path)
        push_depot_zips(world.pastell, world.raw)
        world.run()

        before = [r for r in public_rows(world.curated) if r["nature"] == 1 and r["documents_publics"]]
        metropole = [r for r in before if r["siren"] == METROPOLE]
        rennes = sorted((r for r in before if r["siren"] == RENNES), key=lambda r: r["delib_id"])
        assert metropole and len(rennes) >= 2, "the seed publishes délibérations of both"
        target = rennes[0]
        years = {r["annee"] for r in before}
        sirens = {METROPOLE, RENNES}
        served = world.api_ids(years, sirens)
        assert world.views_of(METROPOLE) == dict.fromkeys(
            ("collectivites", "geojson", "mreport", "stats"), True
        )
        assert {(r["siren"], r["delib_id"]) for r in [*metropole, target]} <= served
        assert {(r["siren"], r["delib_id"]) for r in [*metropole, target]} <= world.portal_ids()

        # the operator takes down the Métropole (open_data=non) and one Rennes act (override, by numéro
        # typed the way people type it); then only the normal chain runs
        config = DEMO_COLLECTIVITES_CSV.read_text(encoding="utf-8").replace(
            f"{METROPOLE},24350013900189,Rennes Métropole,oui,",
            f"{METROPOLE},24350013900189,Rennes Métropole,non,",
        )
        assert "Rennes Métropole,non," in config
        world.curated.put_if_changed(layout.CONFIG_COLLECTIVITES_KEY, config.encode(), "text/csv")
        numero = f" {target['delib_id'].lower()}. "
        world.curated.put_if_changed(
            layout.CONFIG_OVERRIDES_KEY,
            f"siren,id_d,numero,decision,motif\n{RENNES},,{numero},Retenir,donnees_personnelles\n".encode(),
            "text/csv",
        )
        world.run()

        assert_gone(world, [*metropole, target], years, sirens)
        decided = {(r["siren"], r["delib_id"]): r for r in internal_rows(world.curated)}
        assert decided[(RENNES, target["delib_id"])]["decision_motif"] == "surcharge_operateur"
        assert (
            decided[(METROPOLE, metropole[0]["delib_id"])]["decision_motif"]
            == "collectivite_open_data_desactive"
        )
        others = {(r["siren"], r["delib_id"]) for r in rennes[1:]}
        assert others <= world.api_ids(years, sirens) and others <= world.portal_ids()  # the rest stays
        assert world.views_of(METROPOLE) == dict.fromkeys(
            ("collectivites", "geojson", "mreport", "stats"), False
        )
        assert world.views_of(RENNES)["collectivites"] and world.views_of(RENNES)["mreport"]

        # the override is lifted: the next normal run publishes the act again (and its documents)
        world.curated.delete(layout.CONFIG_OVERRIDES_KEY)
        world.run()
        back = {(r["siren"], r["delib_id"]) for r in public_rows(world.curated)}
        assert (RENNES, target["delib_id"]) in back
        assert (RENNES, target["delib_id"]) in world.api_ids(years, sirens) & world.portal_ids()
        assert world.api(f"/v1/documents/{target['document_id']}")["statusCode"] == 302
