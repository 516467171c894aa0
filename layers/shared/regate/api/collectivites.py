"""Collectivité metadata (kind, INSEE code, point) as the API needs it.

The directory itself lives in :mod:`regate.collectivites` (``CollectiviteDirectory.from_store``); the API
only depends on its ``describe(siren, pastell_denomination=None)`` method, so tests pass a small fake and
the API still answers (without coordinates) when no directory is available.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

logger = logging.getLogger(__name__)


class CollectiviteDirectoryLike(Protocol):
    def describe(self, siren: str, pastell_denomination: str | None = None) -> Any: ...


class EmptyDirectory:
    """No reference data: every collectivité is described only by what the acts say."""

    def describe(self, siren: str, pastell_denomination: str | None = None) -> Any:
        return None


def load_directory(curated_store: Any, settings: Any) -> CollectiviteDirectoryLike:
    """The shared directory, or :class:`EmptyDirectory` when it cannot be built (logged, never fatal)."""
    try:
        from regate.collectivites import CollectiviteDirectory
    except ImportError:
        logger.warning("regate.collectivites.CollectiviteDirectory indisponible : pas de coordonnées")
        return EmptyDirectory()
    try:
        directory, problems = CollectiviteDirectory.from_store(curated_store, settings)
    except Exception:
        logger.exception("Annuaire des collectivités illisible : pas de coordonnées")
        return EmptyDirectory()
    for problem in problems or []:
        logger.warning("annuaire des collectivités : %s", problem)
    # A public GET must never wait on recherche-entreprises: the acts already carry COLL_SIRET.
    directory.resolver = None
    return directory


def level_of(kind: str | None) -> str:
    """Reference-map ``level`` (Commune, Intercommunalité, Département, Région, Autres) from a kind."""
    value = (kind or "").lower()
    if "commune" in value and "inter" not in value:
        return "Commune"
    if any(word in value for word in ("epci", "inter", "metro", "communaute", "communauté")) or value in {
        "ca",
        "cc",
        "cu",
    }:
        return "Intercommunalité"
    if "depart" in value or "départ" in value:
        return "Département"
    if "region" in value or "région" in value:
        return "Région"
    return "Autres"


def describe(directory: CollectiviteDirectoryLike, siren: str, nom: str | None) -> dict[str, Any]:
    """Flat dict of the directory's answer (all keys present, ``None`` when unknown)."""
    try:
        found = directory.describe(siren, nom)
    except Exception:  # a directory bug must not break a public route
        logger.exception("describe(%s) a échoué", siren)
        found = None

    def get(name: str) -> Any:
        return getattr(found, name, None) if found is not None else None

    lon, lat = get("lon"), get("lat")
    try:
        point = (float(lon), float(lat)) if lon is not None and lat is not None else None
    except (TypeError, ValueError):
        point = None
    if point and not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90):
        point = None
    kind = get("kind")
    return {
        "siren": siren,
        "nom": get("nom") or nom or siren,
        "siret": get("siret"),
        "kind": str(kind) if kind is not None else None,
        "level": level_of(str(kind) if kind is not None else None),
        "code_insee": get("code_insee"),
        "departement": get("departement"),
        "population": get("population"),
        "epci_siren": get("epci_siren"),
        "epci_nom": get("epci_nom"),
        "point": point,
    }
