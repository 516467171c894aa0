"""Reference lists of the simulated portal: frequencies, licences, extensions, resource types, schemas.

They mirror what data.gouv.fr answers on ``/api/1/datasets/{frequencies,licenses,extensions,resource_types,
schemas}/`` (datagouv-api.md §3, §4.2, §6), trimmed to what a publisher meets. The schema catalogue is a small
fixture in the schema.data.gouv.fr format (``schemas_catalogue.json``) so validation texts can be reproduced
offline.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict

#: udata ``UPDATE_FREQUENCIES`` ids with their French labels (order as udata lists them).
FREQUENCIES: dict[str, str] = {
    "continuous": "Temps réel",
    "oneMinute": "Toutes les minutes",
    "fiveMinutes": "Toutes les cinq minutes",
    "tenMinutes": "Toutes les dix minutes",
    "fifteenMinutes": "Tous les quarts d'heure",
    "thirtyMinutes": "Toutes les demi-heures",
    "hourly": "Toutes les heures",
    "bihourly": "Toutes les deux heures",
    "trihourly": "Toutes les trois heures",
    "twelveHours": "Toutes les douze heures",
    "severalTimesADay": "Plusieurs fois par jour",
    "threeTimesADay": "Trois fois par jour",
    "semidaily": "Deux fois par jour",
    "daily": "Quotidienne",
    "fiveTimesAWeek": "Cinq fois par semaine",
    "threeTimesAWeek": "Trois fois par semaine",
    "semiweekly": "Deux fois par semaine",
    "weekly": "Hebdomadaire",
    "biweekly": "Toutes les deux semaines",
    "threeTimesAMonth": "Trois fois par mois",
    "semimonthly": "Bimensuelle",
    "monthly": "Mensuelle",
    "bimonthly": "Tous les deux mois",
    "quarterly": "Trimestrielle",
    "threeTimesAYear": "Trois fois par an",
    "semiannual": "Semestrielle",
    "annual": "Annuelle",
    "biennial": "Tous les deux ans",
    "triennial": "Tous les trois ans",
    "quadrennial": "Tous les quatre ans",
    "quinquennial": "Tous les cinq ans",
    "decennial": "Tous les dix ans",
    "bidecennial": "Tous les vingt ans",
    "tridecennial": "Tous les trente ans",
    "punctual": "Ponctuelle",
    "irregular": "Irrégulière",
    "never": "Jamais",
    "notPlanned": "Non planifiée",
    "other": "Autre",
    "unknown": "Inconnue",
}

#: Legacy frequency ids udata still accepts on input and maps to a current one.
LEGACY_FREQUENCIES: dict[str, str] = {
    "realtime": "continuous",
    "fourTimesADay": "severalTimesADay",
    "fourTimesAWeek": "threeTimesAWeek",
    "fortnighly": "biweekly",
    "biannual": "semiannual",
}

#: Licences offered by data.gouv.fr (subset; ``lov2`` is what Rég@te publishes under).
LICENSES: list[dict[str, Any]] = [
    {
        "id": "lov2",
        "title": "Licence Ouverte / Open Licence version 2.0",
        "url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence",
        "alternate_urls": [
            "https://www.etalab.gouv.fr/wp-content/uploads/2017/04/ETALAB-Licence-Ouverte-v2.0.pdf"
        ],
        "alternate_titles": ["Licence Ouverte 2.0", "Etalab 2.0"],
        "flags": {
            "domain_software": False,
            "domain_content": True,
            "domain_data": True,
            "okd_compliant": True,
            "osi_compliant": False,
            "active": True,
        },
        "maintainer": "Etalab",
    },
    {
        "id": "fr-lo",
        "title": "Licence Ouverte / Open Licence",
        "url": "https://www.etalab.gouv.fr/wp-content/uploads/2014/05/Licence_Ouverte.pdf",
        "alternate_urls": [],
        "alternate_titles": ["Licence Ouverte 1.0"],
        "flags": {
            "domain_software": False,
            "domain_content": True,
            "domain_data": True,
            "okd_compliant": True,
            "osi_compliant": False,
            "active": True,
        },
        "maintainer": "Etalab",
    },
    {
        "id": "odc-odbl",
        "title": "Open Data Commons Open Database License (ODbL)",
        "url": "https://opendatacommons.org/licenses/odbl/summary/",
        "alternate_urls": [],
        "alternate_titles": ["ODbL"],
        "flags": {
            "domain_software": False,
            "domain_content": False,
            "domain_data": True,
            "okd_compliant": True,
            "osi_compliant": False,
            "active": True,
        },
        "maintainer": "Open Data Commons",
    },
    {
        "id": "cc-by",
        "title": "Creative Commons Attribution",
        "url": "https://creativecommons.org/licenses/by/4.0/",
        "alternate_urls": [],
        "alternate_titles": ["CC-BY"],
        "flags": {
            "domain_software": False,
            "domain_content": True,
            "domain_data": True,
            "okd_compliant": True,
            "osi_compliant": False,
            "active": True,
        },
        "maintainer": "Creative Commons",
    },
    {
        "id": "cc-zero",
        "title": "Creative Commons CCZero",
        "url": "https://creativecommons.org/publicdomain/zero/1.0/",
        "alternate_urls": [],
        "alternate_titles": ["CC0"],
        "flags": {
            "domain_software": False,
            "domain_content": True,
            "domain_data": True,
            "okd_compliant": True,
            "osi_compliant": False,
            "active": True,
        },
        "maintainer": "Creative Commons",
    },
    {
        "id": "notspecified",
        "title": "License Not Specified",
        "url": None,
        "alternate_urls": [],
        "alternate_titles": [],
        "flags": {
            "domain_software": False,
            "domain_content": False,
            "domain_data": False,
            "okd_compliant": False,
            "osi_compliant": False,
            "active": True,
        },
        "maintainer": None,
    },
    {
        "id": "other-open",
        "title": "Other (Open)",
        "url": None,
        "alternate_urls": [],
        "alternate_titles": [],
        "flags": {
            "domain_software": False,
            "domain_content": False,
            "domain_data": False,
            "okd_compliant": True,
            "osi_compliant": False,
            "active": True,
        },
        "maintainer": None,
    },
]
LICENSE_IDS = frozenset(lic["id"] for lic in LICENSES)
DEFAULT_LICENSE = "notspecified"

#: Upload extensions accepted by data.gouv.fr (``ALLOWED_RESOURCES_EXTENSIONS``, common subset).
ALLOWED_EXTENSIONS: tuple[str, ...] = (
    "csv", "txt", "json", "jsonl", "xml", "pdf", "zip", "gz", "bz2", "xz", "7z", "tar", "tgz",
    "xls", "xlsx", "ods", "odt", "doc", "docx", "ppt", "pptx", "odp", "rtf",
    "geojson", "kml", "kmz", "gpx", "shp", "shx", "dbf", "prj", "gpkg", "gml", "topojson",
    "parquet", "rdf", "ttl", "n3", "jsonld", "owl", "sql", "yaml", "yml", "tsv",
    "png", "jpg", "jpeg", "gif", "svg", "tif", "tiff", "ecw", "jp2", "mbtiles", "pbf", "dxf", "dwg",
)  # fmt: skip

#: Resource ``type`` values (udata ``RESOURCE_TYPES``).
RESOURCE_TYPES: dict[str, str] = {
    "main": "Fichier principal",
    "documentation": "Documentation",
    "update": "Mise à jour",
    "api": "API",
    "code": "Code source",
    "other": "Autre",
}

#: Checksum algorithms udata accepts on remote resources.
CHECKSUM_TYPES = ("sha1", "sha2", "sha256", "md5", "crc")

#: Spatial granularities (``/spatial/granularities/``, subset).
GRANULARITIES: tuple[str, ...] = (
    "other", "country", "country-group", "country-subset", "fr:region", "fr:departement", "fr:arrondissement",
    "fr:epci", "fr:canton", "fr:collectivite", "fr:commune", "fr:iris", "poi",
)  # fmt: skip


class CatalogueVersion(BaseModel):
    """One version of a catalogue schema."""

    model_config = ConfigDict(extra="ignore")
    version_name: str
    schema_url: str


class CatalogueSchema(BaseModel):
    """One schema of the schema.data.gouv.fr catalogue (the fields udata reads)."""

    model_config = ConfigDict(extra="ignore")
    name: str
    title: str = ""
    schema_type: str
    schema_url: str | None = None
    versions: list[CatalogueVersion]

    @property
    def version_names(self) -> list[str]:
        return [v.version_name for v in self.versions]

    def to_api(self) -> dict[str, Any]:
        """Shape answered by ``GET /api/1/datasets/schemas/``."""
        return {
            "name": self.name,
            "schema_type": self.schema_type,
            "versions": [{"version_name": v.version_name, "schema_url": v.schema_url} for v in self.versions],
        }


class SchemaCatalogue(BaseModel):
    """The catalogue file (``{"schemas": [...]}``), as schema.data.gouv.fr publishes it."""

    model_config = ConfigDict(extra="ignore")
    schemas: list[CatalogueSchema]

    def assignable(self) -> list[CatalogueSchema]:
        """udata refuses ``datapackage`` entries on resources: only the others can be declared."""
        return [s for s in self.schemas if s.schema_type != "datapackage"]

    def by_name(self, name: str) -> CatalogueSchema | None:
        return next((s for s in self.assignable() if s.name == name), None)

    def by_url(self, url: str) -> tuple[str, str | None] | None:
        """``(name, version)`` of the catalogue schema published at ``url`` (``latest`` URL → no version)."""
        for schema in self.assignable():
            if schema.schema_url == url:
                return schema.name, None
            for version in schema.versions:
                if version.schema_url == url:
                    return schema.name, version.version_name
        return None


@lru_cache(maxsize=1)
def default_catalogue() -> SchemaCatalogue:
    """The embedded fixture catalogue (SCDL délibérations/budget/catalogue/subventions, DECP)."""
    text = resources.files(__package__).joinpath("schemas_catalogue.json").read_text(encoding="utf-8")
    return SchemaCatalogue.model_validate(json.loads(text))
