"""Collectivités: shipped reference data (COG), operator configuration, SIRET resolution, merged directory."""

from regate.collectivites.config import (
    KNOWN_COLUMNS,
    normalize_siren,
    normalize_siret,
    parse_collectivites_csv,
    render_collectivites_csv,
)
from regate.collectivites.directory import CollectiviteDirectory
from regate.collectivites.models import Collectivite, CollectiviteConfig, ConfigProblem, Kind
from regate.collectivites.reference import ReferenceData, ReferenceDataError
from regate.collectivites.siret import SiretCacheEntry, SiretResolver

__all__ = [
    "KNOWN_COLUMNS",
    "Collectivite",
    "CollectiviteConfig",
    "CollectiviteDirectory",
    "ConfigProblem",
    "Kind",
    "ReferenceData",
    "ReferenceDataError",
    "SiretCacheEntry",
    "SiretResolver",
    "normalize_siren",
    "normalize_siret",
    "parse_collectivites_csv",
    "render_collectivites_csv",
]
