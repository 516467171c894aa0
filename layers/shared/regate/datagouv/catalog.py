"""Catalogue of everything Rég@te publishes: DCAT-AP (JSON-LD) and SCDL catalogue 0.1.3 (CSV).

Both are pure functions of the publish state, so an unchanged publication regenerates identical bytes
(and :meth:`ObjectStore.put_if_changed` writes no new S3 version). The JSON-LD embeds its ``@context``:
harvesters (data.gouv.fr, udata's DCAT harvester) and tests expand it without fetching anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from regate.datagouv.state import DatasetState, PublishState
from regate.storage import layout

SCHEMA_URL = "https://schema.data.gouv.fr/schemas/scdl/deliberations/2.1.5/schema.json"
LICENCE_URI = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
FREQ_DAILY = "http://publications.europa.eu/resource/authority/frequency/DAILY"
CSV_MEDIA_TYPE = "http://www.iana.org/assignments/media-types/text/csv"
FORMAT_CSV = "http://publications.europa.eu/resource/authority/file-type/CSV"
THEME_GOVE = "http://publications.europa.eu/resource/authority/data-theme/GOVE"

CONTEXT: dict[str, Any] = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "spdx": "http://spdx.org/rdf/terms#",
    "adms": "http://www.w3.org/ns/adms#",
    "locn": "http://www.w3.org/ns/locn#",
    "dct:issued": {"@type": "xsd:dateTime"},
    "dct:modified": {"@type": "xsd:dateTime"},
    "dcat:startDate": {"@type": "xsd:date"},
    "dcat:endDate": {"@type": "xsd:date"},
    "dcat:byteSize": {"@type": "xsd:nonNegativeInteger"},
    "dcat:accessURL": {"@type": "@id"},
    "dcat:downloadURL": {"@type": "@id"},
    "dcat:landingPage": {"@type": "@id"},
    "dcat:mediaType": {"@type": "@id"},
    "dct:format": {"@type": "@id"},
    "dct:conformsTo": {"@type": "@id"},
    "dct:license": {"@type": "@id"},
    "dct:accrualPeriodicity": {"@type": "@id"},
    "dcat:theme": {"@type": "@id"},
    "foaf:homepage": {"@type": "@id"},
    "spdx:algorithm": {"@type": "@id"},
}

CATALOGUE_COLUMNS = (
    "COLL_NOM",
    "COLL_SIRET",
    "ID",
    "TITRE",
    "DESCRIPTION",
    "THEME",
    "PRODUCTEUR_NOM",
    "PRODUCTEUR_SIRET",
    "COUV_SPAT_MAILLE",
    "COUV_SPAT_NOM",
    "COUV_TEMP_DEBUT",
    "COUV_TEMP_FIN",
    "DATE_PUBL",
    "FREQ_MAJ",
    "DATE_MAJ",
    "MOTS_CLES",
    "LICENCE",
    "NOMBRE_RESSOURCES",
    "FORMAT_RESSOURCES",
    "URL",
)


@dataclass(frozen=True)
class Producer:
    """Who publishes (the OPSN): name, SIRET and web page (from its udata organisation)."""

    nom: str
    siret: str
    page: str | None = None


def dataset_page(portal_url: str, ds: DatasetState) -> str:
    return ds.page or f"{portal_url.rstrip('/')}/fr/datasets/{ds.dataset_id}/"


def catalog_id(public_base_url: str) -> str:
    """The catalogue's IRI: where the Rég@te API serves it."""
    return f"{public_base_url.rstrip('/')}/v1/catalog.jsonld"


def _published(state: PublishState) -> list[DatasetState]:
    return [ds for _, ds in sorted(state.datasets.items()) if ds.resources]


def build_catalog_jsonld(
    state: PublishState, producer: Producer, public_base_url: str, portal_url: str
) -> bytes:
    """DCAT-AP catalogue (JSON-LD, context embedded) listing every published dataset and resource."""
    publisher = {
        "@id": f"{catalog_id(public_base_url)}#publisher",
        "@type": "foaf:Organization",
        "foaf:name": producer.nom,
    }
    if producer.page:
        publisher["foaf:homepage"] = producer.page
    if producer.siret:
        publisher["dct:identifier"] = producer.siret
    datasets = [_dcat_dataset(ds, publisher, portal_url) for ds in _published(state)]
    modified = max((ds.modified_at for ds in _published(state)), default=None)
    catalog: dict[str, Any] = {
        "@context": CONTEXT,
        "@id": catalog_id(public_base_url),
        "@type": "dcat:Catalog",
        "dct:title": {"@value": "Catalogue des données publiées par Rég@te", "@language": "fr"},
        "dct:description": {
            "@value": f"Délibérations des collectivités publiées en open data par {producer.nom} "
            f"au format SCDL, sur data.gouv.fr et par l'API Rég@te.",
            "@language": "fr",
        },
        "dct:publisher": publisher,
        "dct:language": {"@id": "http://publications.europa.eu/resource/authority/language/FRA"},
        "foaf:homepage": f"{public_base_url.rstrip('/')}/v1/",
        "dcat:dataset": datasets,
    }
    if modified:
        catalog["dct:modified"] = modified
    return (json.dumps(catalog, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode()


def _dcat_dataset(ds: DatasetState, publisher: dict[str, Any], portal_url: str) -> dict[str, Any]:
    years = sorted(int(a) for a in ds.resources)
    page = dataset_page(portal_url, ds)
    spatial_label = (
        ds.coll_nom
        if ds.scope != layout.NATIONAL
        else f"Collectivités adhérentes de {publisher['foaf:name']}"
    )
    distributions = []
    for annee in years:
        res = ds.resources[str(annee)]
        url = res.url or f"{portal_url.rstrip('/')}/fr/datasets/r/{res.resource_id}"
        distributions.append(
            {
                "@id": f"{page}#resource-{res.resource_id}",
                "@type": "dcat:Distribution",
                "dct:identifier": res.resource_id,
                "dct:title": res.title,
                "dct:description": {"@value": f"Délibérations de l'année {annee}", "@language": "fr"},
                "dcat:accessURL": url,
                "dcat:downloadURL": url,
                "dcat:mediaType": CSV_MEDIA_TYPE,
                "dct:format": FORMAT_CSV,
                "dcat:byteSize": res.filesize,
                "dct:conformsTo": SCHEMA_URL,
                "dct:license": LICENCE_URI,
                "dct:issued": res.first_published_at,
                "dct:modified": res.published_at,
                "dct:temporal": _period(annee, annee),
                "spdx:checksum": {
                    "@type": "spdx:Checksum",
                    "spdx:algorithm": "http://spdx.org/rdf/terms#checksumAlgorithm_sha1",
                    "spdx:checksumValue": res.sha1,
                },
            }
        )
    dataset: dict[str, Any] = {
        "@id": page,
        "@type": "dcat:Dataset",
        "dct:identifier": ds.dataset_id,
        "dct:title": {"@value": ds.title, "@language": "fr"},
        "dct:description": {"@value": ds.description or ds.title, "@language": "fr"},
        "dcat:landingPage": page,
        "dct:publisher": {"@id": publisher["@id"]},
        "dct:license": LICENCE_URI,
        "dct:conformsTo": SCHEMA_URL,
        "dct:accrualPeriodicity": FREQ_DAILY,
        "dcat:theme": THEME_GOVE,
        "dcat:keyword": ["scdl", "deliberations", "actes administratifs", "collectivités territoriales"],
        "dct:issued": ds.first_published_at,
        "dct:modified": ds.modified_at,
        "dct:spatial": {"@type": "dct:Location", "rdfs:label": spatial_label or ds.scope},
        "dct:temporal": _period(years[0], years[-1]),
        "dcat:distribution": distributions,
    }
    return dataset


def _period(first: int, last: int) -> dict[str, Any]:
    return {"@type": "dct:PeriodOfTime", "dcat:startDate": f"{first}-01-01", "dcat:endDate": f"{last}-12-31"}


def catalog_rows(state: PublishState, producer: Producer, portal_url: str) -> list[list[str]]:
    """One SCDL catalogue 0.1.3 row per published dataset (20 columns, all required)."""
    rows: list[list[str]] = []
    for ds in _published(state):
        years = sorted(int(a) for a in ds.resources)
        national = ds.scope == layout.NATIONAL
        rows.append(
            [
                producer.nom if national else (ds.coll_nom or ds.scope),
                producer.siret if national else (ds.coll_siret or ""),
                ds.dataset_id,
                ds.title,
                _one_line(ds.description or ds.title),
                "Administration locale",
                producer.nom,
                producer.siret,
                "Autre" if national else _maille(ds),
                f"Collectivités adhérentes de {producer.nom}" if national else (ds.coll_nom or ds.scope),
                f"{years[0]}-01-01",
                f"{years[-1]}-12-31",
                ds.first_published_at[:10],
                "Quotidienne ou plusieurs fois par jour",
                ds.modified_at[:10],
                "scdl;deliberations;actes administratifs;collectivites territoriales",
                "Licence Ouverte-LO",
                str(len(ds.resources)),
                "csv",
                dataset_page(portal_url, ds),
            ]
        )
    return rows


def _maille(ds: DatasetState) -> str:
    """SCDL catalogue ``COUV_SPAT_MAILLE`` from the collectivité kind ("Autre" when unknown)."""
    kind = (ds.coll_kind or "").lower()
    if "commune" in kind and "communaut" not in kind:
        return "Communale"
    if kind in {"epci", "cc", "ca", "cu", "metropole", "métropole"} or "communaut" in kind:
        return "Intercommunale"
    if "departement" in kind or "département" in kind:
        return "Départementale"
    if "region" in kind or "région" in kind:
        return "Régionale"
    return "Autre"


def build_catalog_csv(state: PublishState, producer: Producer, portal_url: str) -> bytes:
    """The SCDL catalogue file (UTF-8, comma, CRLF, minimal quoting — same writer as every SCDL file)."""
    from regate.scdl.csvfile import write_csv

    return write_csv(list(CATALOGUE_COLUMNS), catalog_rows(state, producer, portal_url))


def _one_line(text: str) -> str:
    return " ".join(text.replace("**", "").split())
