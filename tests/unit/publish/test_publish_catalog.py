"""DCAT-AP JSON-LD (expanded offline with PyLD) and SCDL catalogue 0.1.3 CSV built from a publish state."""

from __future__ import annotations

import json

import pytest
from pyld import jsonld

from regate.datagouv.catalog import Producer, build_catalog_csv, build_catalog_jsonld, catalog_rows
from regate.datagouv.state import DatasetState, PublishState, ResourceState
from regate.scdl.validator import load_schema, validate_csv

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
SCHEMA = "https://schema.data.gouv.fr/schemas/scdl/deliberations/2.1.5/schema.json"
PRODUCER = Producer(
    nom="Mégalis Bretagne", siret="24350013900189", page="https://demo.data.gouv.fr/fr/organizations/m/"
)


def _resource(rid: str, annee: int) -> ResourceState:
    return ResourceState(
        resource_id=rid,
        title=f"deliberations-213502388-{annee}.csv",
        kind="hosted",
        sha1="a" * 40,
        filesize=1234,
        rows=3,
        url=f"https://demo.data.gouv.fr/fr/datasets/r/{rid}",
        first_published_at="2024-06-01T12:00:00Z",
        published_at="2024-06-02T12:00:00Z",
    )


def make_state() -> PublishState:
    coll = DatasetState(
        scope="213502388",
        dataset_id="6" * 24,
        title="Délibérations – Ville de Rennes",
        description="Liste des délibérations.\n\n**Mise à jour.** Quotidienne.",
        page="https://demo.data.gouv.fr/fr/datasets/deliberations-ville-de-rennes/",
        coll_nom="Ville de Rennes",
        coll_siret="21350238800019",
        coll_kind="commune",
        first_published_at="2024-06-01T12:00:00Z",
        modified_at="2024-06-02T12:00:00Z",
        resources={"2023": _resource("r-2023", 2023), "2024": _resource("r-2024", 2024)},
    )
    national = DatasetState(
        scope="all",
        dataset_id="7" * 24,
        title="Délibérations des collectivités accompagnées par Mégalis Bretagne",
        first_published_at="2024-06-01T12:00:00Z",
        modified_at="2024-06-01T12:00:00Z",
        resources={"2024": _resource("r-all-2024", 2024)},
    )
    empty = DatasetState(
        scope="243500139", dataset_id="8" * 24, title="vide", first_published_at="x", modified_at="x"
    )
    return PublishState(
        mode="collectivite", datasets={"c:213502388": coll, "o:all": national, "c:243500139": empty}
    )


def _no_remote(url: str, options: dict | None = None) -> dict:
    raise AssertionError(f"tried to fetch {url}: the context must be embedded")


def test_publish_dcat_expands_offline_and_lists_every_resource_with_schema() -> None:
    doc = json.loads(
        build_catalog_jsonld(make_state(), PRODUCER, "https://regate.example.org", "https://demo")
    )
    expanded = jsonld.expand(doc, {"documentLoader": _no_remote})
    catalog = expanded[0]
    assert catalog["@type"] == [DCAT + "Catalog"]
    datasets = catalog[DCAT + "dataset"]
    assert len(datasets) == 2  # the dataset without resources is not listed
    distributions = [d for ds in datasets for d in ds[DCAT + "distribution"]]
    ids = sorted(d[DCT + "identifier"][0]["@value"] for d in distributions)
    assert ids == ["r-2023", "r-2024", "r-all-2024"]
    for dist in distributions:
        assert dist["@type"] == [DCAT + "Distribution"]
        assert dist[DCT + "conformsTo"] == [{"@id": SCHEMA}]
        assert dist[DCAT + "downloadURL"][0]["@id"].startswith("https://")
        assert dist[DCAT + "accessURL"][0]["@id"].startswith("https://")
        assert DCT + "license" in dist
    for ds in datasets:
        for prop in ("publisher", "spatial", "modified", "license", "title", "description"):
            assert DCT + prop in ds, prop
        assert ds[DCT + "modified"][0]["@type"] == "http://www.w3.org/2001/XMLSchema#dateTime"


def test_publish_dcat_round_trips_through_nquads() -> None:
    doc = json.loads(
        build_catalog_jsonld(make_state(), PRODUCER, "https://regate.example.org", "https://demo")
    )
    nquads = jsonld.to_rdf(doc, {"format": "application/n-quads", "documentLoader": _no_remote})
    assert f"<{SCHEMA}>" in nquads
    assert "<http://www.w3.org/ns/dcat#Distribution>" in nquads


def test_publish_catalog_is_deterministic() -> None:
    a = build_catalog_jsonld(make_state(), PRODUCER, "https://r", "https://p")
    b = build_catalog_jsonld(make_state(), PRODUCER, "https://r", "https://p")
    assert a == b
    assert build_catalog_csv(make_state(), PRODUCER, "https://p") == build_catalog_csv(
        make_state(), PRODUCER, "https://p"
    )


def test_publish_scdl_catalogue_csv_validates() -> None:
    data = build_catalog_csv(make_state(), PRODUCER, "https://demo.data.gouv.fr")
    report = validate_csv(data, load_schema("scdl/catalogue", "0.1.3"))
    assert report.valid, [e.render() for e in report.errors]
    rows = catalog_rows(make_state(), PRODUCER, "https://demo.data.gouv.fr")
    assert len(rows) == 2 and all(len(r) == 20 for r in rows)
    by_id = {r[2]: r for r in rows}
    assert by_id["6" * 24][8] == "Communale" and by_id["6" * 24][17] == "2"
    assert by_id["6" * 24][10:12] == ["2023-01-01", "2024-12-31"]
    assert by_id["7" * 24][0] == "Mégalis Bretagne" and by_id["7" * 24][8] == "Autre"


def test_publish_catalogue_without_producer_siret_does_not_validate() -> None:
    data = build_catalog_csv(make_state(), Producer(nom="X", siret=""), "https://p")
    assert not validate_csv(data, load_schema("scdl/catalogue", "0.1.3")).valid


@pytest.mark.parametrize("annee", [2019, 2030])
def test_publish_catalogue_temporal_coverage_follows_years(annee: int) -> None:
    state = make_state()
    state.datasets["o:all"].resources = {str(annee): _resource("r", annee)}
    row = next(r for r in catalog_rows(state, PRODUCER, "https://p") if r[2] == "7" * 24)
    assert row[10:12] == [f"{annee}-01-01", f"{annee}-12-31"]
