"""DECP normalisation: one pure function per record, and the batch over raw answers.

Per record (:func:`normalize_record`): repair → JSON Schema 2.0.4 (Draft 7, record wrapped alone, as the
consolidation does) → business rules → perimeter (the record's buyer must be the SIREN the platform was asked
for: a platform answering with another buyer's contract is withheld, never published in someone's name).
Any ``error`` finding quarantines the record with every reason; ``warning`` findings travel with it.

Batch (:func:`normalize_documents`): every raw answer is read on its own (an unreadable answer is reported,
the others go on), records are deduplicated as the consolidation does, then grouped per (buyer SIRET, year)
and per year.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from regate.flux.marches.dedup import Dedup, deduplicate, identity
from regate.flux.marches.identifiers import is_siret
from regate.flux.marches.model import KINDS, Finding, Kind, Repair, SourceRef
from regate.flux.marches.parse import DecpDocumentError, parse_decp_document
from regate.flux.marches.repairs import repair_record
from regate.flux.marches.rules import parse_iso_date, rule_findings
from regate.flux.marches.schema import schema_findings

Status = Literal["accepte", "quarantaine"]


class RecordResult(BaseModel):
    """The outcome for one record: the repaired record (what would be published), what was received, why."""

    kind: Kind
    source: SourceRef
    status: Status
    record: Any = Field(description="Repaired record (published when accepted)")
    received: Any = Field(description="The record exactly as received")
    findings: list[Finding] = Field(default_factory=list)
    repairs: list[Repair] = Field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def buyer_siret(self) -> str | None:
        holder = (
            self.record.get("acheteur" if self.kind == "marche" else "autoriteConcedante")
            if isinstance(self.record, dict)
            else None
        )
        value = holder.get("id") if isinstance(holder, dict) else None
        return value if is_siret(value) else None

    @property
    def annee(self) -> int | None:
        """Year of notification (marché) or signature (concession): the year file the record belongs to."""
        if not isinstance(self.record, dict):
            return None
        when = parse_iso_date(
            self.record.get("dateNotification" if self.kind == "marche" else "dateSignature")
        )
        return when.year if when else None


def normalize_record(kind: Kind, received: Any, source: SourceRef, today: date) -> RecordResult:
    """Repair, validate and judge one record (pure: no I/O, ``today`` given)."""
    if not isinstance(received, dict):
        finding = Finding(
            code="enregistrement_non_objet",
            severity="error",
            origin="document",
            message=f"Élément de type {type(received).__name__} là où un objet {kind} est attendu",
            detail=str(received)[:200],
        )
        return RecordResult(
            kind=kind,
            source=source,
            status="quarantaine",
            record=received,
            received=received,
            findings=[finding],
        )
    record, repairs, moved = repair_record(kind, received)
    findings = [*schema_findings(kind, record), *rule_findings(kind, record, today), *moved]
    findings.extend(_perimeter(kind, record, source))
    status: Status = "quarantaine" if any(f.severity == "error" for f in findings) else "accepte"
    return RecordResult(
        kind=kind,
        source=source,
        status=status,
        record=record,
        received=received,
        findings=findings,
        repairs=repairs,
    )


def _perimeter(kind: Kind, record: dict[str, Any], source: SourceRef) -> list[Finding]:
    if not source.siren:
        return []
    holder = record.get("acheteur" if kind == "marche" else "autoriteConcedante")
    buyer = holder.get("id") if isinstance(holder, dict) else None
    if isinstance(buyer, str) and buyer.startswith(source.siren):
        return []
    return [
        Finding(
            code="acheteur_hors_perimetre",
            severity="error",
            origin="perimetre",
            path="acheteur.id" if kind == "marche" else "autoriteConcedante.id",
            message=(
                f"Acheteur {str(buyer)[:20]!r} hors du SIREN {source.siren} demandé à la plateforme : "
                "non publié"
            ),
            detail=str(buyer)[:20],
        )
    ]


# --------------------------------------------------------------------------------------- batch
@dataclass(frozen=True)
class RawAnswer:
    """One stored answer of a profil d'acheteur (the latest version of its raw object)."""

    key: str
    body: bytes
    version_id: str | None = None
    plateforme: str | None = None
    siren: str | None = None


@dataclass(frozen=True)
class NormalizeLimits:
    max_document_bytes: int = 200 * 1024 * 1024
    max_records_per_document: int = 500_000


class DocumentReport(BaseModel):
    key: str
    version_id: str | None = None
    plateforme: str | None = None
    siren: str | None = None
    status: Literal["lu", "rejete"]
    error_code: str | None = None
    error_message: str | None = None
    repairs: list[Repair] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)


class DuplicateReport(BaseModel):
    key: list[str]
    kept: SourceRef
    dropped: SourceRef


@dataclass
class Normalized:
    """Everything the batch produced; ``published`` are the accepted, deduplicated records."""

    results: list[RecordResult] = field(default_factory=list)
    documents: list[DocumentReport] = field(default_factory=list)
    published: list[RecordResult] = field(default_factory=list)
    duplicates: list[DuplicateReport] = field(default_factory=list)
    concurrent: list[dict[str, Any]] = field(default_factory=list)

    @property
    def quarantined(self) -> list[RecordResult]:
        return [r for r in self.results if r.status == "quarantaine"]

    def by_buyer_year(self) -> dict[tuple[str, int], list[RecordResult]]:
        groups: dict[tuple[str, int], list[RecordResult]] = {}
        for result in self.published:
            siret, annee = result.buyer_siret, result.annee
            if siret is not None and annee is not None:
                groups.setdefault((siret, annee), []).append(result)
        return dict(sorted(groups.items()))

    def by_year(self) -> dict[int, list[RecordResult]]:
        groups: dict[int, list[RecordResult]] = {}
        for result in self.published:
            if result.annee is not None and result.buyer_siret is not None:
                groups.setdefault(result.annee, []).append(result)
        return dict(sorted(groups.items()))

    def summary(self) -> dict[str, int]:
        return {
            "documents": len(self.documents),
            "documents_rejetes": sum(1 for d in self.documents if d.status == "rejete"),
            "enregistrements": len(self.results),
            "acceptes": sum(1 for r in self.results if r.status == "accepte"),
            "quarantaine": len(self.quarantined),
            "doublons": len(self.duplicates),
            "publies": len(self.published),
            "avertissements": sum(len(r.warnings) for r in self.results),
        }


def normalize_documents(
    answers: Iterable[RawAnswer], today: date, limits: NormalizeLimits | None = None
) -> Normalized:
    """Normalise every answer (sorted by key, so the output never depends on listing order), then dedup."""
    limits = limits or NormalizeLimits()
    out = Normalized()
    for answer in sorted(answers, key=lambda a: a.key):
        report = DocumentReport(
            key=answer.key,
            version_id=answer.version_id,
            plateforme=answer.plateforme,
            siren=answer.siren,
            status="lu",
        )
        try:
            parsed = parse_decp_document(
                answer.body, max_bytes=limits.max_document_bytes, max_records=limits.max_records_per_document
            )
        except DecpDocumentError as exc:
            report.status, report.error_code, report.error_message = "rejete", exc.code, exc.message
            out.documents.append(report)
            continue
        report.repairs = parsed.repairs
        counts = {"marche": 0, "contrat-concession": 0, "acceptes": 0, "quarantaine": 0}
        for kind in KINDS:
            for position, received in enumerate(parsed.records[kind]):
                source = SourceRef(
                    key=answer.key,
                    version_id=answer.version_id,
                    plateforme=answer.plateforme,
                    siren=answer.siren,
                    kind=kind,
                    position=position,
                )
                result = normalize_record(kind, received, source, today)
                out.results.append(result)
                counts[kind] += 1
                counts["acceptes" if result.status == "accepte" else "quarantaine"] += 1
        report.counts = counts
        out.documents.append(report)
    accepted = [r for r in out.results if r.status == "accepte"]
    dedup: Dedup = deduplicate(accepted)
    out.published = [accepted[i] for i in dedup.kept]
    out.duplicates = [
        DuplicateReport(key=list(d.key), kept=accepted[d.kept].source, dropped=accepted[d.dropped].source)
        for d in dedup.duplicates
    ]
    out.concurrent = [
        {
            "kind": contract[0],
            "acheteur": contract[1],
            "id": contract[2],
            "identites": [list(identity(accepted[i].kind, accepted[i].record)) for i in indexes],
            "sources": [accepted[i].source.model_dump() for i in indexes],
        }
        for contract, indexes in dedup.concurrent
    ]
    return out
