"""Pydantic models of the collectivités edge: reference entries, operator configuration, config problems."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from regate.operator_files import FileProblem

Kind = Literal["commune", "epci", "departement", "region", "autre"]


class Collectivite(BaseModel):
    """What the chain knows about one collectivité (merged from config, reference data, Sirene, Pastell)."""

    model_config = ConfigDict(frozen=True)

    siren: str
    nom: str
    siret: str | None
    code_insee: str | None
    kind: Kind
    population: int | None
    lon: float | None
    lat: float | None
    departement: str | None
    epci_siren: str | None
    epci_nom: str | None
    region: str | None = None
    nature: str | None = None  # COM, CC, CA, CU, METRO, MET69, EPT — finer than ``kind``
    cog: int | None = None  # COG vintage of the reference entry (codes change every 1 January)


class CollectiviteConfig(BaseModel):
    """One row of ``config/collectivites.csv``; ``None`` everywhere means "use the default"."""

    model_config = ConfigDict(frozen=True)

    siren: str
    siret: str | None = None
    nom: str | None = None
    open_data: bool | None = None
    documents: bool | None = None
    annexes: bool | None = None


#: A problem found in an operator file (``error`` refuses the whole file; see :mod:`regate.operator_files`).
ConfigProblem = FileProblem
