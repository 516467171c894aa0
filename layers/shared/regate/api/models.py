"""Response models of the API: they document the output in OpenAPI and shape what routes return."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Annexe(Out):
    document_id: str
    nom: str
    url: str | None = None


class DeliberationsPage(Out):
    data: list[dict[str, Any]] = Field(description="Délibérations (colonnes choisies par `fields`)")
    total: int = Field(description="Nombre total de délibérations correspondant aux filtres")
    next: str | None = Field(description="URL de la page suivante (curseur opaque), `null` en fin de liste")


class Freshness(Out):
    status: str = Field(description="`ok` ou `degrade`")
    derniere_capture: str | None = Field(description="Fin de la dernière capture (UTC ISO 8601)")
    derniere_publication: str | None = Field(description="Fin de la dernière publication (UTC ISO 8601)")
    partitions: int = Field(description="Nombre de fichiers (collectivité × année) publics")
    version: str = Field(description="Version des données (sert à l'ETag)")


class StatRow(Out):
    cle: str | None
    libelle: str | None
    nombre: int


class Stats(Out):
    group: str
    data: list[StatRow]
    total: int


class AnneeCounts(Out):
    deliberations: int
    actes: int


class CollectiviteUrls(Out):
    page: str = Field(description="Page lisible par une personne (aujourd'hui la documentation de l'API)")
    deliberations: str
    scdl: dict[str, str] = Field(description="Fichier SCDL publié par année")
    mreport: str
    geojson: str


class Collectivite(Out):
    siren: str
    nom: str
    siret: str | None
    kind: str | None
    level: str
    code_insee: str | None
    departement: str | None
    population: int | None
    epci_siren: str | None
    epci_nom: str | None
    lon: float | None
    lat: float | None
    annees: dict[str, AnneeCounts]
    derniere_deliberation: str | None
    urls: CollectiviteUrls


class Collectivites(Out):
    data: list[Collectivite]
    total: int


class MreportRow(Out):
    dataid: str
    dataviz: str
    dataset: str
    order: str
    label: str
    data: str


class Mreport(Out):
    data: list[MreportRow]


class ErrorDetail(Out):
    code: int
    message: str
    details: Any = None


class Error(Out):
    erreur: ErrorDetail
