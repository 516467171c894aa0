"""Marchés publics (DECP 2024): the national format, its validation, repairs, deduplication and files.

Public interface (what the normaliser, the publisher and the API call):

* per record — :func:`normalize_record` (pure: repair → JSON Schema 2.0.4 with ``Draft7Validator`` → business
  rules → perimeter) returning a :class:`RecordResult` (``status``, ``record``, ``received``, ``findings``…);
* per batch — :func:`normalize_documents` over :class:`RawAnswer` (raw answers of a profil d'acheteur) →
  :class:`Normalized` (``published`` after the consolidation's deduplication, ``quarantined``, ``documents``,
  ``duplicates``, ``by_buyer_year()``, ``by_year()``, ``summary()``);
* files — :func:`buyer_year_files` / :func:`national_files` (deterministic bytes of
  ``decp/{siret}/{annee}.json`` and ``decp/all/{annee}.json``), :func:`check_file` (schema + rules guard);
* storage — :mod:`regate.flux.marches.batch` (``read_answers``, ``build``, ``write_outputs``,
  ``answer_report``);
* table — :mod:`regate.flux.marches.table` (``ContratRow``, ``TitulaireRow``, ``arrow_schema``, ``to_arrow``,
  ``to_csv``; pyarrow imported lazily);
* publication metadata — :data:`PUBLISHED_SCHEMA` (``139bercy/format-commande-publique`` 2.0.2),
  :data:`SCHEMA_VERSION` (2.0.4, what records are validated with).
"""

from importlib import import_module
from typing import Any

#: Public name → submodule holding it. Imported on first use (PEP 562) so that the API, which only needs the
#: route table and the flat table's columns, does not load jsonschema and the rules on its cold start.
_EXPORTS = {
    "deduplicate": "dedup",
    "identity": "dedup",
    "KINDS": "model",
    "Finding": "model",
    "Kind": "model",
    "Repair": "model",
    "SourceRef": "model",
    "DocumentReport": "normalize",
    "Normalized": "normalize",
    "NormalizeLimits": "normalize",
    "RawAnswer": "normalize",
    "RecordResult": "normalize",
    "normalize_documents": "normalize",
    "normalize_record": "normalize",
    "DecpDocumentError": "parse",
    "parse_decp_document": "parse",
    "PUBLISHED_SCHEMA": "schema",
    "SCHEMA_VERSION": "schema",
    "CONTENT_TYPE": "writer",
    "buyer_year_files": "writer",
    "check_file": "writer",
    "national_files": "writer",
    "render": "writer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
