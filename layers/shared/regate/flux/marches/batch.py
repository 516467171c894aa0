"""The marchés publics batch against storage: read the raw answers, write the curated DECP files and the
per-answer validation reports. What the normaliser stage will call once the flux is wired into the chain.

Idempotent: outputs are deterministic bytes written with ``put_if_changed`` (a second run on the same raw
writes nothing); a buyer-year or report that no longer has content is deleted (a delete marker: history kept).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from regate.flux.marches.lake import PARQUET_CONTENT_TYPE, table_files
from regate.flux.marches.normalize import (
    Normalized,
    NormalizeLimits,
    RawAnswer,
    RecordResult,
    normalize_documents,
)
from regate.flux.marches.writer import CONTENT_TYPE, buyer_year_files, national_files
from regate.storage import layout
from regate.storage.store import ObjectStore, dumps_canonical


def read_answers(raw: ObjectStore, plateforme: str | None = None) -> Iterator[RawAnswer]:
    """The latest version of every stored profil d'acheteur answer (optionally of one platform)."""
    prefix = layout.profil_export_prefix(plateforme) if plateforme else layout.PROFILS_PREFIX
    for item in raw.list_objects(prefix):
        parsed = layout.parse_profil_key(item["Key"])
        if parsed is None or not item["Key"].startswith(layout.PROFILS_PREFIX):
            continue
        head = raw.head(item["Key"])
        version = head.get("VersionId") if head else None
        body = raw.get_bytes(item["Key"], version_id=version if version and version != "null" else None)
        yield RawAnswer(key=item["Key"], body=body, version_id=version, plateforme=parsed[0], siren=parsed[1])


def build(raw: ObjectStore, today: date, limits: NormalizeLimits | None = None) -> Normalized:
    return normalize_documents(read_answers(raw), today, limits)


def answer_report(normalized: Normalized, key: str) -> dict[str, Any]:
    """The validation report of one raw answer: quarantined records with every reason, kept records' warnings
    and repairs, duplicates it lost. Meant for the operator and the buyer (French messages, stable codes)."""
    document = next((d for d in normalized.documents if d.key == key), None)
    results = [r for r in normalized.results if r.source.key == key]
    lost = [d for d in normalized.duplicates if d.dropped.key == key]
    return {
        "source": key,
        "version_id": document.version_id if document else None,
        "document": document.model_dump(mode="json", exclude_none=True) if document else None,
        "quarantaine": [_entry(r, full=True) for r in results if r.status == "quarantaine"],
        "avertissements": [
            _entry(r, full=False) for r in results if r.status == "accepte" and (r.warnings or r.repairs)
        ],
        "doublons_ecartes": [d.model_dump(mode="json", exclude_none=True) for d in lost],
    }


def _entry(result: RecordResult, full: bool) -> dict[str, Any]:
    record = result.received if isinstance(result.received, dict) else {}
    entry: dict[str, Any] = {
        "kind": result.kind,
        "position": result.source.position,
        "id": record.get("id") if isinstance(record.get("id"), str) else None,
        "raisons" if full else "avertissements": [
            f.model_dump(mode="json", exclude_none=True)
            for f in (result.findings if full else result.warnings)
        ],
        "reparations": [r.model_dump(mode="json", exclude_none=True) for r in result.repairs],
    }
    if full:
        entry["recu"] = result.received
    return entry


@dataclass
class WriteSummary:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def write_outputs(curated: ObjectStore, normalized: Normalized, delete_stale: bool = True) -> WriteSummary:
    """Write ``decp/{siret}/{annee}.json``, ``decp/all/{annee}.json``, the yearly Parquet tables the API reads
    and the answer reports; delete stale ones.

    Stale files (a buyer-year whose records all left, a report with nothing left to say) are deleted only when
    this run read at least one answer: an empty or failed listing never wipes what is published."""
    summary = WriteSummary()
    wanted: dict[str, tuple[bytes, str]] = {}
    for (siret, annee), body in buyer_year_files(normalized).items():
        wanted[layout.decp_key(siret, annee)] = (body, CONTENT_TYPE)
    for annee, body in national_files(normalized).items():
        wanted[layout.decp_national_key(annee)] = (body, CONTENT_TYPE)
    for key, body in table_files(normalized).items():
        wanted[key] = (body, PARQUET_CONTENT_TYPE)
    for document in normalized.documents:
        parsed = layout.parse_profil_key(document.key)
        if parsed is None:
            continue
        report = answer_report(normalized, document.key)
        if (
            document.status == "lu"
            and not report["quarantaine"]
            and not report["avertissements"]
            and not report["doublons_ecartes"]
            and not document.repairs
        ):
            continue
        wanted[layout.decp_quarantine_key(*parsed)] = (dumps_canonical(report), "application/json")
    for key, (body, content_type) in sorted(wanted.items()):
        result = curated.put_if_changed(key, body, content_type=content_type)
        (summary.written if result.written else summary.unchanged).append(key)
    if not delete_stale or not normalized.documents:
        return summary
    for prefix in (layout.DECP_PREFIX, layout.DECP_QUARANTINE_PREFIX, layout.PUBLIC_MARCHES_PREFIX):
        for key in list(curated.list_keys(prefix)):
            ours = (
                layout.parse_decp_key(key)
                or layout.parse_profil_key(key)
                or layout.parse_marches_table_key(key)
            )
            if key not in wanted and ours:
                curated.delete(key)
                summary.deleted.append(key)
    return summary
