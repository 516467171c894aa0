"""The normaliser's search stage: keep the index in line with what a batch of normalisations decided.

Called once per batch by :class:`regate.normalize.pipeline.Normalizer` (after the partitions are rebuilt,
before the pointers that mark the documents as done). For each outcome:

* an act decided ``publier``: its public documents (the record's ``documents``: main document and the
  annexes the decision made public — nothing else) get their text from the text store, extracted now only
  when that content was never seen (:meth:`TextStore.ensure`, in the bounded :class:`ExtractionWorker`),
  and the act is **upserted** (a correction replaces the whole engine document);
* an act decided ``metadonnees``: upserted without documents (objet, numéro, dates only);
* an act withheld (``retenir``, ``a_statuer``), withdrawn, deleted or quarantined: **deleted** from the
  index (a no-op when it was never there); an act whose SIREN changed is deleted under the old one.

Nothing withheld is ever read, extracted or indexed: only :class:`PublicDocument` / :class:`IndexEntry`
reach the search core, and they refuse anything else. One document whose extraction fails (bounded time
and memory, hostile file) is indexed by its name only, with a warning; the batch goes on. When the index
itself cannot be written (S3 down), the error is reported and the batch's pointers are not committed, so
the next run redoes these acts (records unchanged cost nothing) and the index catches up — never a full
rebuild.

Where the normaliser cannot OCR (its AWS package has no room for the OCR wheels), a document whose text is
stored ``ocr_indisponible`` is sent, when ``REGATE_SEARCH_OCR_QUEUE_URL`` is set, to the OCR function
(:mod:`regate.search.ocr`), which stores the OCR text and has the act normalised again. A failure to send
is handled like an index failure (reported, pointers not committed: the next run sends again).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from pydantic import ValidationError

from regate.normalize.records import ActeRecord
from regate.normalize.reports import WarningItem
from regate.search.documents import NonPublic, PublicDocument
from regate.search.extract import ExtractedText, ExtractionLimits, ExtractionWorker
from regate.search.index import IndexedDocument, IndexEntry
from regate.search.ocr import OCR_UNAVAILABLE, OcrRequest, make_sqs_client, send_messages
from regate.search.remote import ActeRetire, IndexUpdater
from regate.search.textstore import TextStore
from regate.storage.store import ObjectStore

logger = logging.getLogger(__name__)


@dataclass
class StageResult:
    upserts: int = 0
    deletes: int = 0
    extracted: int = 0
    reused: int = 0
    failed_documents: int = 0
    warnings: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)
    error: str | None = None
    ocr_requests: list[OcrRequest] = field(default_factory=list)
    ocr_sent: int = 0
    ocr_error: str | None = None


class SearchStage:
    """Text extraction and incremental index updates for the normaliser (dependencies passed in)."""

    def __init__(
        self,
        raw: ObjectStore,
        texts: TextStore,
        updater: IndexUpdater,
        limits: ExtractionLimits,
        worker_factory: Callable[[ExtractionLimits], ExtractionWorker] = ExtractionWorker,
        ocr_sender: Callable[[list[OcrRequest]], int] | None = None,
    ) -> None:
        self.raw = raw
        self.ocr_sender = ocr_sender
        self.texts = texts
        self.updater = updater
        self.limits = limits
        self.worker_factory = worker_factory
        self._ocr: bool | None = None

    @classmethod
    def from_settings(cls, raw: ObjectStore, curated: ObjectStore, settings: Any) -> SearchStage | None:
        """The stage of a deployment, or ``None`` when ``REGATE_SEARCH_INDEX_ENABLED`` is false."""
        if not getattr(settings, "search_index_enabled", True):
            return None
        queue_url = getattr(settings, "search_ocr_queue_url", "")
        sender = partial(_send_ocr_requests, settings, queue_url) if queue_url else None
        return cls(
            raw,
            TextStore(curated),
            IndexUpdater.from_settings(curated, settings),
            ExtractionLimits.from_settings(settings),
            ocr_sender=sender,
        )

    # ------------------------------------------------------------------------------ entry point
    def apply(self, outcomes: Sequence[Any], report: Any = None) -> StageResult:
        """Update the index for ``outcomes`` (:class:`DocumentOutcome`); reports into ``report``.

        Returns the result; on an index write failure ``result.error`` is set and the outcomes' commits
        are cancelled (the next run redoes them).
        """
        result = StageResult()
        upserts: dict[str, IndexEntry] = {}
        deletes: dict[tuple[str, str], ActeRetire] = {}
        worker: ExtractionWorker | None = None
        try:
            for outcome in outcomes:  # in order: the last word on an act wins
                for siren, acte_id in sorted(getattr(outcome, "search_retired", ())):
                    _retire(upserts, deletes, siren, acte_id)
                record = getattr(outcome, "record", None)
                if record is None:
                    continue
                if record.decision.decision not in ("publier", "metadonnees"):
                    _retire(upserts, deletes, record.siren, record.acte_id)
                    continue
                if worker is None and record.decision.decision == "publier" and record.documents:
                    worker = self.worker_factory(self.limits)
                entry = self.entry(record, worker, result)
                if entry is not None:
                    deletes.pop((entry.siren, entry.acte_id), None)
                    upserts[entry.acte_id] = entry
        finally:
            if worker is not None:
                worker.close()
        if upserts or deletes:
            try:
                self.updater.apply(list(upserts.values()), list(deletes.values()))
                result.upserts, result.deletes = len(upserts), len(deletes)
            except Exception as exc:  # the index is a derived view: report, and let the next run redo it
                logger.exception("Mise à jour de l'index de recherche impossible")
                result.error = f"{type(exc).__name__}: {str(exc)[:300]}"
                for outcome in outcomes:
                    outcome.commit = None
        if result.ocr_requests and self.ocr_sender is not None:
            try:
                result.ocr_sent = self.ocr_sender(result.ocr_requests)
            except Exception as exc:  # like the index: reported, and the next run sends them again
                logger.exception("Demandes d'OCR non envoyées")
                result.ocr_error = f"{type(exc).__name__}: {str(exc)[:300]}"
                for outcome in outcomes:
                    outcome.commit = None
        _report(result, report)
        return result

    # ---------------------------------------------------------------------------- one act
    def entry(self, record: Any, worker: ExtractionWorker | None, result: StageResult) -> IndexEntry | None:
        """The index entry of a public record (``None``, with a warning, when it cannot be built)."""
        decision = record.decision.decision
        documents: list[IndexedDocument] = []
        if decision == "publier":
            for public in record.documents:
                documents.append(self._document(record, public, worker, result))
        row = record.row
        acte = record.acte
        values = {
            "acte_id": record.acte_id,
            "siren": record.siren,
            "decision": decision,
            "objet": row.get("delib_objet") or acte.objet or "",
            "numero": acte.numero,
            "nature": acte.nature if isinstance(acte.nature, int) and 1 <= acte.nature <= 9 else None,
            "matiere_code": row.get("delib_matiere_code") or None,
            "date_acte": acte.date_acte,
            "date_publication": acte.date_ar,
            "documents": tuple(documents),
        }
        try:
            return IndexEntry.declare(**values)
        except ValidationError:
            try:  # an odd matière code must not keep the act out of the index
                return IndexEntry.declare(**{**values, "matiere_code": None})
            except (ValidationError, NonPublic) as exc:
                result.warnings.append(
                    ("recherche_acte_non_indexe", str(exc)[:300], record.id_e, record.id_d)
                )
                return None
        except NonPublic as exc:
            result.warnings.append(("recherche_acte_non_indexe", str(exc)[:300], record.id_e, record.id_d))
            return None

    def _redo(self, sha256: str) -> bool:
        """A stored text cut short only because OCR was missing is redone once OCR is there."""
        get = getattr(self.texts, "get", None)
        known = get(sha256) if get is not None else None
        if known is None or known.motif != "ocr_indisponible":
            return False
        if self._ocr is None:
            self._ocr = ocr_available(self.limits)
        return self._ocr

    def _document(
        self, record: Any, public: Any, worker: ExtractionWorker | None, result: StageResult
    ) -> IndexedDocument:
        document = PublicDocument.declare(
            acte_id=record.acte_id,
            document_id=public.document_id,
            sha256=public.sha256,
            role=public.role,
            nom=public.nom,
            decision=record.decision.decision,
            annexe_publique=public.role == "annexe",  # the record holds only the annexes made public
        )
        try:
            text, extracted = self.texts.ensure(
                document,
                lambda: self.raw.get_bytes(public.raw_key),
                self.limits,
                worker,
                redo_partial=self._redo(document.sha256),
            )
        except Exception as exc:  # one document never stops the batch: indexed by its name
            result.failed_documents += 1
            result.warnings.append(
                (
                    "recherche_extraction_echec",
                    f"{public.nom}: {type(exc).__name__}",
                    record.id_e,
                    record.id_d,
                )
            )
            return IndexedDocument.from_public(document, None)
        if extracted:
            result.extracted += 1
        else:
            result.reused += 1
        if text.motif == OCR_UNAVAILABLE and self.ocr_sender is not None:
            result.ocr_requests.append(
                OcrRequest(
                    id_e=record.id_e,
                    id_d=record.id_d,
                    siren=record.siren,
                    annee=record.annee,
                    document_id=public.document_id,
                    sha256=public.sha256,
                )
            )
        if text.statut != "complet":
            result.failed_documents += text.statut == "echec"
            result.warnings.append(
                (
                    f"recherche_texte_{text.statut}",
                    f"{public.nom}: {text.motif or ''} {text.detail or ''}".strip()[:300],
                    record.id_e,
                    record.id_d,
                )
            )
        return IndexedDocument.from_public(document, text)


@dataclass(frozen=True)
class OcrOutcome:
    """What one request became: ``ocr`` (text stored, act to re-normalise) or ``ignore`` (with why)."""

    statut: Literal["ocr", "ignore"]
    motif: str
    text: ExtractedText | None = None


def ocr_document(
    request: OcrRequest,
    raw: ObjectStore,
    curated: ObjectStore,
    limits: ExtractionLimits,
    worker: ExtractionWorker | None = None,
) -> OcrOutcome:
    """OCR one requested document if its act still publishes it; store the text (never raises for the PDF).

    Raises :class:`RuntimeError` when OCR is still unavailable here (a broken package: the message goes
    to the DLQ, alarmed, instead of looping through the normaliser).
    """
    found = curated.get_with_etag(request.record_key)
    if found is None:
        return OcrOutcome("ignore", "acte_absent")
    try:
        record = ActeRecord.model_validate(json.loads(found[0]))
    except (ValueError, ValidationError):
        return OcrOutcome("ignore", "acte_illisible")
    if (record.id_e, record.id_d, record.siren) != (request.id_e, request.id_d, request.siren):
        return OcrOutcome("ignore", "acte_different")
    if record.decision.decision != "publier":
        return OcrOutcome("ignore", "acte_non_publie")
    public = next(
        (d for d in record.documents if (d.document_id, d.sha256) == (request.document_id, request.sha256)),
        None,
    )
    if public is None:
        return OcrOutcome("ignore", "document_non_public")
    document = PublicDocument.declare(
        acte_id=record.acte_id,
        document_id=public.document_id,
        sha256=public.sha256,
        role=public.role,
        nom=public.nom,
        decision=record.decision.decision,
        annexe_publique=public.role == "annexe",  # the record holds only the annexes made public
    )
    text, _ = TextStore(curated).ensure(
        document, lambda: raw.get_bytes(public.raw_key), limits, worker, redo_partial=True
    )
    if text.motif == OCR_UNAVAILABLE:
        raise RuntimeError("OCR indisponible dans la fonction OCR (tesserocr ou fra.traineddata absent)")
    return OcrOutcome("ocr", text.statut, text)


def ocr_available(limits: ExtractionLimits) -> bool:
    """tesserocr importable and the French model present (then ``ocr_indisponible`` texts are redone)."""
    import importlib.util
    from pathlib import Path

    from regate.search.extract import tessdata_dir

    folder = Path(tessdata_dir(limits.tessdata_dir))
    return importlib.util.find_spec("tesserocr") is not None and (folder / "fra.traineddata").is_file()


def _send_ocr_requests(settings: Any, queue_url: str, requests: list[OcrRequest]) -> int:
    return send_messages(make_sqs_client(settings), queue_url, requests)


def _retire(
    upserts: dict[str, IndexEntry], deletes: dict[tuple[str, str], ActeRetire], siren: str, acte_id: str
) -> None:
    """An act leaves the index: an upsert of it earlier in the batch (same SIREN) is dropped."""
    if acte_id in upserts and upserts[acte_id].siren == siren:
        del upserts[acte_id]
    deletes[(siren, acte_id)] = ActeRetire(siren=siren, acte_id=acte_id)


def _report(result: StageResult, report: Any) -> None:
    if report is None:
        return
    logger.info(
        "recherche : %s acte(s) indexé(s), %s retiré(s), %s texte(s) extrait(s), %s réutilisé(s)",
        result.upserts,
        result.deletes,
        result.extracted,
        result.reused,
    )
    for code, message, id_e, id_d in result.warnings:
        report.add("warnings", WarningItem(code=code, message=message, id_e=id_e, id_d=id_d))
    if result.error:
        report.add("errors", WarningItem(code="recherche_index_echec", message=result.error))
    if result.ocr_error:
        report.add("errors", WarningItem(code="recherche_ocr_demande_echec", message=result.ocr_error))


def apply_stage(stage: SearchStage | None, outcomes: Iterable[Any], report: Any) -> None:
    """The pipeline's one call (no-op without a stage)."""
    if stage is not None:
        stage.apply(list(outcomes), report)
