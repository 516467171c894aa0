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

from regate.flux.marches.dedup import deduplicate, identity
from regate.flux.marches.model import KINDS, Finding, Kind, Repair, SourceRef
from regate.flux.marches.normalize import (
    DocumentReport,
    Normalized,
    NormalizeLimits,
    RawAnswer,
    RecordResult,
    normalize_documents,
    normalize_record,
)
from regate.flux.marches.parse import DecpDocumentError, parse_decp_document
from regate.flux.marches.schema import PUBLISHED_SCHEMA, SCHEMA_VERSION
from regate.flux.marches.writer import CONTENT_TYPE, buyer_year_files, check_file, national_files, render

__all__ = [
    "CONTENT_TYPE",
    "KINDS",
    "PUBLISHED_SCHEMA",
    "SCHEMA_VERSION",
    "DecpDocumentError",
    "DocumentReport",
    "Finding",
    "Kind",
    "NormalizeLimits",
    "Normalized",
    "RawAnswer",
    "RecordResult",
    "Repair",
    "SourceRef",
    "buyer_year_files",
    "check_file",
    "deduplicate",
    "identity",
    "national_files",
    "normalize_documents",
    "normalize_record",
    "parse_decp_document",
    "render",
]
