"""Pull capture: harvest acknowledged acts from the Pastell API v2 into the raw bucket (pastell-api.md §18).

For each entity of ``GET /entite`` and each configured flux:

1. list ``etatTransit=acquiter-tdt`` (``termine`` for flux without TdT) in the window
   ``(watermark - overlap - 1 s, run start)`` — full ``YYYY-MM-DD HH:MM:SS`` bounds, strict,
   ``sens_tri=ASC`` — paging until a short page, de-duplicating ``id_d``
   (a document acknowledged twice is listed twice);
2. skip documents whose listing row (``last_action``, ``last_action_date``, ``modification``) equals the one
   recorded in their ``detail.json`` envelope: an incremental run with no change costs one listing call per
   entity and flux, zero detail or file calls;
3. fetch the detail and the files of new or changed documents, several documents at once
   (``pastell_concurrency``), streaming each file (≤ 150 MB) through a spooled temporary file to S3;
4. write ``detail.json`` last (the commit point) and only when its bytes changed: no new S3 version for an
   unchanged document, a new one for a cancelled (``annuler-tdt``) or corrected document;
5. move the (entity, flux) watermark to the run start only when every document of the window succeeded.

Corrections and cancellations are seen when they happen while the document is inside the listing window
(watermark overlap); for older documents, a periodic ``regate capture --since …`` sweep re-lists them at the
cost of listing calls only. A document deleted in Pastell (``supression``) is not detected by listing.

Push and pull of one act: see :mod:`regate.capture.acts` — the pulled document becomes the live one; a ZIP
pushed earlier under another ``id_d`` is folded into its ``pushes`` and its ``detail.json`` deleted.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from regate.capture.acts import ActIndexEntry, DocumentRef, act_key_for, update_index, with_alias
from regate.capture.documents import (
    content_sha256,
    existing_file_keys,
    load_raw_document,
    put_stream_if_changed,
    read_raw_document,
    update_raw_document,
)
from regate.capture.envelope import CapturedFile, CaptureEnvelope, RawDocument
from regate.capture.report import ReportItem, RunReport
from regate.capture.watermark import (
    Watermark,
    load_watermark,
    parse_pastell_timestamp,
    pastell_now,
    save_watermark,
    window_begin,
)
from regate.clock import Clock, utc_iso
from regate.pastell.client import (
    PastellAuthError,
    PastellClient,
    PastellError,
    PastellForbiddenError,
    PastellNotFoundError,
)
from regate.pastell.models import DocumentRow, Entite
from regate.settings import Settings
from regate.storage.layout import document_detail_key, document_file_key, flux_definition_key, safe_segment
from regate.storage.store import ObjectStore, PreconditionFailed

#: Files kept for every act: main act, stamped act, annexes (and stamped), ARActe XML, bordereau, piece types.
CAPTURED_FILE_FIELDS: tuple[str, ...] = (
    "arrete",
    "acte_tamponne",
    "autre_document_attache",
    "annexes_tamponnees",
    "aractes",
    "bordereau",
    "type_piece_fichier",
)
STATE_ACQUITTE = "acquiter-tdt"
STATE_TERMINE = "termine"
_SPOOL_BYTES = 8 * 1024 * 1024

Progress = Callable[[str, int], None]
"""``progress(event, n)``: ``("total", n)`` when n more documents are queued, ``("advance", 1)`` each."""


@dataclass(frozen=True)
class CaptureOptions:
    """What to capture; defaults come from :class:`Settings` via :meth:`from_settings`."""

    flux: tuple[str, ...]
    flux_sans_tdt: tuple[str, ...] = ()
    entites: tuple[str, ...] = ()
    since: str | None = None
    concurrency: int = 8
    page_size: int = 100
    overlap_seconds: int = 86400
    default_since: str = "2020-01-01 00:00:00"
    file_fields: tuple[str, ...] = CAPTURED_FILE_FIELDS

    def __post_init__(self) -> None:
        for value in (self.since, self.default_since):
            if value:
                parse_pastell_timestamp(value)  # a bad bound is refused before any request

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        since: str | None = None,
        entites: Sequence[str] = (),
        flux: Sequence[str] = (),
    ) -> CaptureOptions:
        return cls(
            flux=tuple(flux) or settings.pastell_flux,
            flux_sans_tdt=settings.pastell_flux_sans_tdt,
            entites=tuple(entites),
            since=since,
            concurrency=settings.pastell_concurrency,
            page_size=settings.pastell_page_size,
            overlap_seconds=settings.pastell_overlap_seconds,
            default_since=settings.pastell_default_since,
        )


@dataclass
class _Task:
    entite: Entite
    flux: str
    row: DocumentRow


@dataclass
class _RunState:
    failed_pairs: set[tuple[str, str]] = field(default_factory=set)
    abort: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, id_e: str, flux: str) -> None:
        with self.lock:
            self.failed_pairs.add((id_e, flux))


def run_capture(
    client: PastellClient,
    store: ObjectStore,
    clock: Clock,
    options: CaptureOptions,
    progress: Progress | None = None,
) -> RunReport:
    """One pull capture run; never raises for Pastell trouble: everything lands in the report (also saved)."""
    report = RunReport.start(clock)
    state = _RunState()
    window_end = pastell_now(clock.now())
    try:
        entites = client.entites()
    except PastellError as exc:
        report.add(
            "errors", ReportItem(id_e="*", flux="*", reason=_reason(exc), message=str(exc), source="pull")
        )
        report.finish(clock).save(store)
        return report

    selected = _select_entites(entites, options, report)
    fluxes = _read_flux_definitions(client, store, options.flux, report, state)

    tasks: list[_Task] = []
    listed_pairs: list[tuple[str, str]] = []
    for entite in selected:
        for flux in fluxes:
            if state.abort.is_set():
                break
            rows = _list_pair(client, store, entite, flux, options, window_end, report, state)
            if rows is None:
                continue
            listed_pairs.append((entite.id_e, flux))
            tasks.extend(_Task(entite, flux, row) for row in rows)
            if progress is not None and rows:
                progress("total", len(rows))

    def work(task: _Task) -> None:
        try:
            _capture_one(client, store, clock, task, options, report, state)
        finally:
            if progress is not None:
                progress("advance", 1)

    if options.concurrency <= 1:
        for task in tasks:
            work(task)
    else:
        with ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="capture") as pool:
            list(pool.map(work, tasks))

    for id_e, flux in listed_pairs:
        if (id_e, flux) not in state.failed_pairs and not state.abort.is_set():
            _advance_watermark(store, clock, id_e, flux, options.since, window_end)
    report.finish(clock).save(store)
    return report


# ------------------------------------------------------------------------------ steps
def _advance_watermark(
    store: ObjectStore, clock: Clock, id_e: str, flux: str, since: str | None, end: str
) -> None:
    """Move the mark to ``end`` unless that would jump over a gap or go backwards.

    A ``--since`` later than the current mark leaves the time between them uncaptured: the mark stays.
    """
    current = load_watermark(store, id_e, flux)
    if current is not None:
        if since and parse_pastell_timestamp(since) > parse_pastell_timestamp(current.high_water):
            return
        if parse_pastell_timestamp(current.high_water) >= parse_pastell_timestamp(end):
            return
    save_watermark(store, Watermark(id_e=id_e, flux=flux, high_water=end, updated_at=utc_iso(clock.now())))


def _select_entites(entites: list[Entite], options: CaptureOptions, report: RunReport) -> list[Entite]:
    by_id = {e.id_e: e for e in entites}
    for wanted in options.entites:
        if wanted not in by_id:
            report.add("skipped", ReportItem(id_e=wanted, flux="*", reason="entite_inconnue", source="pull"))
    chosen = [by_id[i] for i in options.entites if i in by_id] if options.entites else entites
    selected = []
    for entite in chosen:
        if not entite.is_active:
            report.add(
                "skipped", ReportItem(id_e=entite.id_e, flux="*", reason="entite_inactive", source="pull")
            )
            continue
        try:
            safe_segment(entite.id_e, "id_e")
        except ValueError as exc:
            report.add(
                "errors", ReportItem(id_e=entite.id_e, flux="*", reason="id_invalide", message=str(exc))
            )
            continue
        selected.append(entite)
    return selected


def _read_flux_definitions(
    client: PastellClient, store: ObjectStore, fluxes: Sequence[str], report: RunReport, state: _RunState
) -> list[str]:
    """Store each flux definition as received; a flux unknown to the platform (404) is skipped."""
    kept = []
    for flux in fluxes:
        try:
            safe_segment(flux, "flux")
            definition = client.flux_definition(flux)
        except ValueError as exc:
            report.add("errors", ReportItem(id_e="*", flux=flux, reason="flux_invalide", message=str(exc)))
            continue
        except PastellNotFoundError:
            report.add("skipped", ReportItem(id_e="*", flux=flux, reason="flux_absent", source="pull"))
            continue
        except PastellAuthError as exc:
            report.add(
                "errors", ReportItem(id_e="*", flux=flux, reason="auth", message=str(exc), source="pull")
            )
            state.abort.set()
            return []
        except PastellError as exc:
            # Listing may still work; normalisation falls back to its default code table.
            report.add(
                "errors",
                ReportItem(id_e="*", flux=flux, reason=_reason(exc), message=str(exc), source="pull"),
            )
            kept.append(flux)
            continue
        store.put_json_if_changed(flux_definition_key(flux), definition)
        kept.append(flux)
    return kept


def _list_pair(
    client: PastellClient,
    store: ObjectStore,
    entite: Entite,
    flux: str,
    options: CaptureOptions,
    window_end: str,
    report: RunReport,
    state: _RunState,
) -> list[DocumentRow] | None:
    mark = load_watermark(store, entite.id_e, flux)
    begin = window_begin(mark, options.since, options.default_since, options.overlap_seconds)
    etat = STATE_TERMINE if flux in options.flux_sans_tdt else STATE_ACQUITTE
    try:
        rows = list(
            client.iter_documents(
                entite.id_e,
                flux,
                page_size=options.page_size,
                etat_transit=etat,
                state_begin=begin,
                state_end=window_end,
            )
        )
    except PastellError as exc:
        report.add(
            "errors",
            ReportItem(id_e=entite.id_e, flux=flux, reason=_reason(exc), message=str(exc), source="pull"),
        )
        state.fail(entite.id_e, flux)
        if isinstance(exc, PastellAuthError):
            state.abort.set()
        return None
    return rows


def _capture_one(
    client: PastellClient,
    store: ObjectStore,
    clock: Clock,
    task: _Task,
    options: CaptureOptions,
    report: RunReport,
    state: _RunState,
) -> None:
    entite, flux, row = task.entite, task.flux, task.row
    item = ReportItem(id_e=entite.id_e, id_d=row.id_d, flux=flux, source="pull")
    if state.abort.is_set():
        report.add(
            "errors",
            item.model_copy(
                update={"reason": "interrompu", "message": "Run stopped after a 401 (credentials)"}
            ),
        )
        state.fail(entite.id_e, flux)
        return
    try:
        safe_segment(row.id_d, "id_d")
        outcome = capture_document(client, store, clock, entite, flux, row, options.file_fields)
    except (PastellError, ValueError, BotoCoreError, ClientError, PreconditionFailed, OSError) as exc:
        # Whatever fails for one document is reported and the run goes on with the next one.
        if isinstance(exc, PastellAuthError):
            state.abort.set()
        state.fail(entite.id_e, flux)
        if isinstance(exc, PastellError):
            reason = _reason(exc)
        elif isinstance(exc, ValueError):
            reason = "donnees_invalides"
        else:
            reason = "stockage"
        report.add("errors", item.model_copy(update={"reason": reason, "message": str(exc)}))
        return
    report.add(outcome, item)


def capture_document(
    client: PastellClient,
    store: ObjectStore,
    clock: Clock,
    entite: Entite,
    flux: str,
    row: DocumentRow,
    file_fields: Sequence[str] = CAPTURED_FILE_FIELDS,
) -> str:
    """Capture one listed document; returns ``"captured"`` or ``"unchanged"`` (raises on failure)."""
    id_e, id_d = entite.id_e, row.id_d
    existing, etag = read_raw_document(store, id_e, id_d)
    listing = row.fingerprint()
    if existing is not None and existing.capture.source == "pull" and existing.capture.listing == listing:
        return "unchanged"

    detail_raw, detail = client.detail_raw(id_e, id_d)
    # New document: one LIST tells which file keys exist (usually none) instead of a HEAD per file.
    present = existing_file_keys(store, id_e, id_d) if existing is None else None
    files: list[CapturedFile] = []
    for file_field in file_fields:
        for num, name in enumerate(detail.file_names(file_field)):
            key = document_file_key(id_e, id_d, file_field, num, name)
            with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
                got = client.download_file(id_e, id_d, file_field, num, spool)
                absent = present is not None and key not in present
                put_stream_if_changed(store, key, spool, got.sha256, got.content_type, known_absent=absent)
            files.append(
                CapturedFile(field=file_field, num=num, name=name, sha256=got.sha256, size=got.size, key=key)
            )

    digest = content_sha256(detail_raw, files)
    siren = entite.siren or None
    act_key = act_key_for(siren, detail.data.get("numero_de_lacte"), detail.data.get("date_de_lacte"))
    inherited: list[dict[str, Any]] = []
    folded: list[DocumentRef] = []
    if act_key and siren:
        folded = _claim_act(
            store, siren, act_key, detail.data, DocumentRef(id_e=id_e, id_d=id_d, source="pull")
        )
        for ref in folded:
            other = load_raw_document(store, ref.id_e, ref.id_d)
            if other is not None:
                inherited = merge_pushes(inherited, other.pushes)

    now = utc_iso(clock.now())
    content_changed = True

    def build(current: RawDocument | None) -> RawDocument:
        # Re-run on a lost race: pushes recorded meanwhile by an ingest are kept.
        nonlocal content_changed
        content_changed = current is None or current.capture.content_sha256 != digest
        return RawDocument(
            capture=CaptureEnvelope(
                source="pull",
                captured_at=now if content_changed or current is None else current.capture.captured_at,
                origin=client.base_url,
                flux=flux,
                id_e=id_e,
                id_d=id_d,
                siren=siren,
                files=files,
                content_sha256=digest,
                listing=listing,
                act_key=act_key,
            ),
            detail=detail_raw,
            entite=entite.model_dump(mode="json"),
            pushes=merge_pushes(list(current.pushes) if current else [], inherited),
        )

    written = update_raw_document(store, id_e, id_d, build, known=(existing, etag))
    for ref in folded:
        store.delete(document_detail_key(ref.id_e, ref.id_d))  # one live detail.json per act
    return "captured" if written and content_changed else "unchanged"


def _claim_act(
    store: ObjectStore, siren: str, act_key: str, data: dict[str, Any], me: DocumentRef
) -> list[DocumentRef]:
    """Make this pulled document the live holder of its act; returns pushed documents to fold into it."""

    def change(current: ActIndexEntry | None) -> ActIndexEntry | None:
        if current is None:
            return ActIndexEntry(
                siren=siren,
                act_key=act_key,
                numero_de_lacte=str(data.get("numero_de_lacte", "")),
                date_de_lacte=str(data.get("date_de_lacte", "")),
                live=me,
            )
        if current.live == me:
            return None
        if current.live.source == "push":
            aliases = [a for a in [*current.aliases, current.live] if a != me]
            if current.live.id_e == me.id_e and current.live.id_d == me.id_d:
                # The ZIP was named after this very document: same key, pulled content replaces it.
                aliases = [a for a in aliases if a != current.live]
            return current.model_copy(update={"live": me, "aliases": aliases})
        # Another pulled document holds the act (e.g. re-sent after cancellation): both are real Pastell
        # documents and stay live; the index keeps the first and records this one.
        return with_alias(current, me)

    entry = update_index(store, siren, act_key, change)
    if entry is None or entry.live != me:
        return []
    return [
        ref
        for ref in entry.aliases
        if ref.source == "push"
        and (ref.id_e, ref.id_d) != (me.id_e, me.id_d)
        and store.exists(document_detail_key(ref.id_e, ref.id_d))
    ]


def merge_pushes(mine: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Union of push records, one per ZIP content (``zip_sha256``)."""
    seen = {p.get("zip_sha256") for p in mine}
    merged = list(mine)
    for push in theirs:
        if push.get("zip_sha256") not in seen:
            merged.append(push)
            seen.add(push.get("zip_sha256"))
    return merged


def _reason(exc: PastellError) -> str:
    """Machine-readable reason codes of the run report."""
    if isinstance(exc, PastellAuthError):
        return "auth"
    if isinstance(exc, PastellForbiddenError):
        return "droit_manquant"
    if isinstance(exc, PastellNotFoundError):
        return "introuvable"
    from regate.pastell.client import PastellResponseError

    if isinstance(exc, PastellResponseError):
        return "reponse_invalide"
    if exc.status is not None and exc.status >= 500:
        return "erreur_serveur"
    if exc.status == 429:
        return "limite_de_debit"
    return "erreur_pastell" if exc.status else "injoignable"
