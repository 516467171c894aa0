"""DECP 2.0.x JSON files: one per (buyer SIRET, year) and one national per year — deterministic bytes.

The same records always give the same bytes, whatever order they were read in: records are sorted
(notification
or signature date, then id, then identity), keys are written in the order the schema lists them (unknown keys,
which validation never lets through, would follow sorted), UTF-8 without ASCII escaping, two-space indent, LF,
final newline. Identical bytes mean ``put_if_changed`` writes nothing and publication uploads nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from functools import partial
from typing import Any

from regate.flux.marches.dedup import identity
from regate.flux.marches.model import KINDS, Finding, Kind
from regate.flux.marches.normalize import Normalized, RecordResult
from regate.flux.marches.rules import rule_findings
from regate.flux.marches.schema import KeyOrder, document_findings, key_order

CONTENT_TYPE = "application/json"


def ordered(value: Any, order: KeyOrder | None) -> Any:
    """``value`` with dict keys in schema order (recursively)."""
    if isinstance(value, dict):
        known = [k for k in (order or {}) if k in value and k != "[]"]
        rest = sorted(k for k in value if k not in (order or {}))
        return {k: ordered(value[k], (order or {}).get(k)) for k in [*known, *rest]}
    if isinstance(value, list):
        inner = (order or {}).get("[]") if isinstance(order, dict) else None
        return [ordered(item, inner) for item in value]
    return value


def _sort_key(kind: Kind, record: dict[str, Any]) -> tuple[str, ...]:
    main = record.get("dateNotification" if kind == "marche" else "dateSignature")
    return (str(main), str(record.get("id")), *identity(kind, record))


def decp_document(records: Iterable[tuple[Kind, dict[str, Any]]]) -> dict[str, Any]:
    """``{"marches": {"marche": [...], "contrat-concession": [...]}}`` with both lists always present."""
    by_kind: dict[Kind, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    for kind, record in records:
        by_kind[kind].append(record)
    body = {
        kind: [ordered(r, key_order(kind)) for r in sorted(items, key=partial(_sort_key, kind))]
        for kind, items in by_kind.items()
    }
    return {"marches": body}


def dumps_decp(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False) + "\n").encode("utf-8")


def render(results: Iterable[RecordResult]) -> bytes:
    return dumps_decp(decp_document((r.kind, r.record) for r in results))


def buyer_year_files(normalized: Normalized) -> dict[tuple[str, int], bytes]:
    """Content of ``decp/{siret}/{annee}.json`` for every buyer-year that has at least one published
    record."""
    return {key: render(results) for key, results in normalized.by_buyer_year().items()}


def national_files(normalized: Normalized) -> dict[int, bytes]:
    """Content of ``decp/all/{annee}.json``."""
    return {annee: render(results) for annee, results in normalized.by_year().items()}


def check_file(data: bytes, today: date) -> list[Finding]:
    """Every schema and business-rule error of a written file (empty = publishable). Used by tests and as a
    last guard before publication."""
    document = json.loads(data)
    errors = list(document_findings(document))
    for kind in KINDS:
        for record in document.get("marches", {}).get(kind, []):
            errors.extend(f for f in rule_findings(kind, record, today) if f.severity == "error")
    return errors
