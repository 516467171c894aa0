"""Pull capture: harvest acknowledged acts from the Pastell API v2 into the raw bucket (pastell-api.md §18).

For each entity of ``GET /entite`` and each configured flux — pairs listed concurrently, at most
``listing_concurrency`` at once (``REGATE_PASTELL_LISTING_CONCURRENCY``; one pair's states and pages stay in
order); each listed document starts at once (``concurrency`` at a time) while other pairs are still being
listed. What a document run writes depends only on that document, watermarks move only at the end, and the
report is sorted: a run writes the same objects whatever the order in which listings and documents complete:

1. list ``etatTransit=acquiter-tdt`` (``termine`` for flux without TdT) in the window
   ``(watermark - overlap - 1 s, run start)`` — full ``YYYY-MM-DD HH:MM:SS`` bounds, strict,
   ``sens_tri=ASC`` — paging until an **empty** page (a proxy capping the page size must not hide acts),
   stopping on a page with no new id and at ``max_pages``, de-duplicating ``id_d``;
2. list each later transition of ``REGATE_PASTELL_TRANSITIONS`` (``annuler-tdt``, ``tamponner-tdt``,
   ``reouverture``, ``modification``) the same way, **each with its own watermark**: a cancellation or a
   correction months after the acknowledgement falls in the next incremental window of its listing; only
   documents already captured are re-read from these listings;
3. skip documents whose listing row (``last_action``, ``last_action_date``, ``modification``) equals the one
   recorded in their ``detail.json`` envelope: an incremental run with no change costs one listing call per
   (entity, flux, listed state), zero detail or file calls;
4. fetch the detail and the files of new or changed documents, several documents at once
   (``pastell_concurrency``), streaming each file through a spooled temporary file to S3. A file Pastell says
   does not exist (``Ce fichier n'existe pas``, 400 or 404) is a permanent condition: the document is captured
   with the file in ``capture.missing_files`` and a warning in the report — it never blocks the watermark;
5. write ``detail.json`` last (the commit point) and only when its bytes changed;
6. move each watermark of an (entity, flux) to the run start only when every document of the pair succeeded.

**Reconciliation.** At most every ``REGATE_PASTELL_RECONCILE_INTERVAL_HOURS`` per entity (state at
``reconcile_state_key``), every flux is listed whole (``etatTransit`` without bounds) and compared with the
documents held in raw: an acknowledged document never captured is captured; a held pulled document absent
from the listing whose detail answers 404 ``n'appartient pas`` was deleted in Pastell — its envelope gets
``capture.removed`` and normalisation withdraws the act. Nothing is concluded from a failed listing.

**Bounds.** Every call has a deadline and a byte cap (:class:`~regate.pastell.client.PastellLimits`); the
run has a deadline (``run_deadline_seconds``; Lambda: remaining time minus a margin): past it no pair is
listed and no document started, they are reported ``delai_du_run`` and the report says ``interrupted``. A
``Retry-after`` beyond the cap or the run's budget fails that (entity, flux) for this run
(``limite_de_debit``; its other documents are skipped) instead of sleeping. Whatever fails for one
document is that document's error; the report is always saved, whatever happens.

Push and pull of one act: see :mod:`regate.capture.acts` — the pulled document becomes the live one; a ZIP
pushed earlier under another ``id_d`` is folded into its ``pushes`` and its ``detail.json`` deleted.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from regate.capture.acts import ActIndexEntry, DocumentRef, act_key_for, update_index, with_alias
from regate.capture.documents import (
    content_sha256,
    existing_file_keys,
    held_document_ids,
    load_raw_document,
    put_stream_if_changed,
    read_raw_document,
    update_raw_document,
)
from regate.capture.envelope import CapturedFile, CaptureEnvelope, MissingFile, RawDocument, Removal
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
from regate.http.limits import Deadline
from regate.pastell.client import (
    PastellAuthError,
    PastellClient,
    PastellError,
    PastellFileMissingError,
    PastellForbiddenError,
    PastellNotFoundError,
    PastellPaginationError,
    PastellRateLimitedError,
    PastellResponseError,
    PastellTimeoutError,
    PastellTooLargeError,
)
from regate.pastell.models import DocumentRow, Entite
from regate.settings import DEFAULT_PASTELL_TRANSITIONS, Settings
from regate.storage.layout import (
    document_detail_key,
    document_file_key,
    flux_definition_key,
    reconcile_state_key,
    safe_segment,
)
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
#: Reason codes of the run report added by the bounds of a run.
RUN_DEADLINE = "delai_du_run"
INTERRUPTED = "interrompu"
#: Pastell's 404 for a document that is not (or no longer) there (pastell-api.md §4).
DOCUMENT_GONE = "n'appartient pas"
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
    listing_concurrency: int = 8
    page_size: int = 100
    overlap_seconds: int = 86400
    default_since: str = "2020-01-01 00:00:00"
    file_fields: tuple[str, ...] = CAPTURED_FILE_FIELDS
    transitions: tuple[str, ...] = DEFAULT_PASTELL_TRANSITIONS
    reconcile_interval_hours: float = 24.0
    reconcile: bool | None = None  # True: this run reconciles; False: never; None: on schedule
    run_deadline_seconds: float | None = None  # None / 0: no run deadline

    def __post_init__(self) -> None:
        for value in (self.since, self.default_since):
            if value:
                parse_pastell_timestamp(value)  # a bad bound is refused before any request
        for state in self.transitions:
            safe_segment(state, "transition")

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        since: str | None = None,
        entites: Sequence[str] = (),
        flux: Sequence[str] = (),
        reconcile: bool | None = None,
        run_deadline_seconds: float | None = None,
    ) -> CaptureOptions:
        if run_deadline_seconds is None:
            run_deadline_seconds = settings.pastell_run_deadline_seconds or None
        return cls(
            flux=tuple(flux) or settings.pastell_flux,
            flux_sans_tdt=settings.pastell_flux_sans_tdt,
            entites=tuple(entites),
            since=since,
            concurrency=settings.pastell_concurrency,
            listing_concurrency=settings.pastell_listing_concurrency,
            page_size=settings.pastell_page_size,
            overlap_seconds=settings.pastell_overlap_seconds,
            default_since=settings.pastell_default_since,
            transitions=settings.pastell_transitions,
            reconcile_interval_hours=settings.pastell_reconcile_interval_hours,
            reconcile=reconcile,
            run_deadline_seconds=run_deadline_seconds,
        )

    def harvested_state(self, flux: str) -> str:
        return STATE_TERMINE if flux in self.flux_sans_tdt else STATE_ACQUITTE

    def later_states(self, flux: str) -> list[str]:
        """Transitions listed on their own for this flux (no TdT transition for a flux without TdT)."""
        harvested = self.harvested_state(flux)
        sans_tdt = flux in self.flux_sans_tdt
        return [t for t in self.transitions if t != harvested and not (sans_tdt and t.endswith("-tdt"))]


TaskKind = Literal["listed", "held_only", "confirm_removed"]


@dataclass
class _Task:
    entite: Entite
    flux: str
    id_d: str
    kind: TaskKind
    row: DocumentRow | None = None
    flux_ok: frozenset[str] = frozenset()  # confirm_removed: flux whose full listing succeeded


@dataclass
class _RunState:
    deadline: Deadline
    failed_pairs: set[tuple[str, str]] = field(default_factory=set)
    throttled_pairs: set[tuple[str, str]] = field(default_factory=set)
    reconcile_failed: set[str] = field(default_factory=set)
    abort: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    tasks: dict[tuple[str, str], _Task] = field(default_factory=dict)
    started: set[tuple[str, str]] = field(default_factory=set)

    def fail(self, id_e: str, flux: str) -> None:
        with self.lock:
            self.failed_pairs.add((id_e, flux))

    def throttle(self, id_e: str, flux: str) -> None:
        with self.lock:
            self.throttled_pairs.add((id_e, flux))
            self.failed_pairs.add((id_e, flux))

    def stop_reason(self) -> str | None:
        """Why no more work may start: credentials refused, or the run's deadline."""
        if self.abort.is_set():
            return INTERRUPTED
        if self.deadline.expired():
            return RUN_DEADLINE
        return None

    def queue(self, task: _Task) -> bool:
        """Add a task once per document; a listed document wins over a held-only re-read.

        True when a run of the document must be scheduled: a new one, or a listed row arriving after a
        held-only re-read already started (that read may have found nothing held).
        """
        key = (task.entite.id_e, task.id_d)
        with self.lock:
            current = self.tasks.get(key)
            if current is not None and not (current.kind == "held_only" and task.kind == "listed"):
                return False
            self.tasks[key] = task
            if current is None:
                return True
            if key in self.started:
                self.started.discard(key)
                return True
            return False  # not started yet: its run takes the listed row

    def take(self, key: tuple[str, str]) -> _Task:
        """The task a starting run of ``key`` performs (the latest queued for that document)."""
        with self.lock:
            self.started.add(key)
            return self.tasks[key]


@dataclass
class _PairListing:
    """What one (entity, flux) listed: which watermarks may move if all its documents succeed."""

    entite: Entite
    flux: str
    states: list[str | None] = field(default_factory=list)  # None = the harvested state's own mark


@dataclass(frozen=True)
class CaptureResult:
    outcome: str  # captured | unchanged | removed | gone | not_held
    missing: tuple[MissingFile, ...] = ()


def run_capture(
    client: PastellClient,
    store: ObjectStore,
    clock: Clock,
    options: CaptureOptions,
    progress: Progress | None = None,
    deadline: Deadline | None = None,
) -> RunReport:
    """One pull capture run; never raises for Pastell trouble: everything lands in the report (always saved).

    ``deadline``: the run's own (e.g. the Lambda's remaining time minus a margin); default from
    ``options.run_deadline_seconds``.
    """
    report = RunReport.start(clock)
    if deadline is None:
        deadline = Deadline(options.run_deadline_seconds or None)
    client.run_deadline = deadline
    state = _RunState(deadline=deadline)
    try:
        _run(client, store, clock, options, progress, report, state)
    except Exception as exc:  # a bug must never lose the report of what was done
        report.add(
            "errors",
            ReportItem(
                id_e="*", flux="*", reason="erreur_interne", message=f"{type(exc).__name__}: {exc}"[:500]
            ),
        )
    except BaseException:  # Ctrl-C, SystemExit: say so, save, then stop
        report.interrupted = report.interrupted or INTERRUPTED
        _save_report(report, store, clock)
        raise
    _save_report(report, store, clock)
    return report


def _save_report(report: RunReport, store: ObjectStore, clock: Clock) -> None:
    report.finish(clock)
    try:
        report.save(store)
    except (BotoCoreError, ClientError, OSError) as exc:
        report.add(
            "errors",
            ReportItem(id_e="*", flux="*", reason="rapport_non_enregistre", message=str(exc)[:500]),
        )


def _run(
    client: PastellClient,
    store: ObjectStore,
    clock: Clock,
    options: CaptureOptions,
    progress: Progress | None,
    report: RunReport,
    state: _RunState,
) -> None:
    window_end = pastell_now(clock.now())
    try:
        entites = client.entites()
    except PastellError as exc:
        report.add(
            "errors", ReportItem(id_e="*", flux="*", reason=_reason(exc), message=str(exc), source="pull")
        )
        return

    selected = _select_entites(entites, options, report)
    fluxes = _read_flux_definitions(client, store, options.flux, report, state, options.listing_concurrency)

    def work(key: tuple[str, str]) -> None:
        try:
            _capture_one(client, store, clock, state.take(key), options, report, state)
        finally:
            if progress is not None:
                progress("advance", 1)

    pipelined = options.concurrency > 1
    pool = ThreadPoolExecutor(max_workers=max(options.concurrency, 1), thread_name_prefix="capture-doc")
    runs: list[Future[None]] = []
    deferred: list[tuple[str, str]] = []

    def queue(task: _Task) -> None:
        if not state.queue(task):
            return
        if progress is not None:
            progress("total", 1)
        key = (task.entite.id_e, task.id_d)
        if pipelined:  # documents start while the other pairs are still being listed
            runs.append(pool.submit(work, key))
        else:
            deferred.append(key)

    pairs = [_PairListing(entite, flux) for entite in selected for flux in fluxes]

    def list_pair(pair: _PairListing) -> None:
        _list_pair(client, store, pair, options, window_end, report, state, queue)

    def reconcile(entite: Entite) -> bool:
        return _reconcile_listing(client, store, clock, entite, fluxes, options, report, state, queue)

    due = [e for e in selected if fluxes and _reconcile_due(store, clock, e.id_e, options)]
    with pool:
        _parallel(list_pair, pairs, options.listing_concurrency)
        # After every pair's listing: a document listed by its pair is never taken for a removed one.
        outcomes = _parallel(reconcile, due, options.listing_concurrency)
        reconciled = [e for e, ok in zip(due, outcomes, strict=True) if ok]
        for key in sorted(deferred):  # one at a time: in a stable order
            work(key)
        for run in runs:
            run.result()  # a bug in a run reaches run_capture's report, as before

    stopped = state.stop_reason()
    if stopped:
        report.interrupted = stopped
    _save_progress(store, clock, options, window_end, pairs, reconciled, fluxes, state)


def _save_progress(
    store: ObjectStore,
    clock: Clock,
    options: CaptureOptions,
    window_end: str,
    pairs: list[_PairListing],
    reconciled: list[Entite],
    fluxes: list[str],
    state: _RunState,
) -> None:
    """After the run: each pair's watermark and each reconciled entité's date, unless it failed or aborted."""
    for pair in pairs:
        if (pair.entite.id_e, pair.flux) in state.failed_pairs or state.abort.is_set():
            continue
        _advance_watermark(store, clock, pair.entite.id_e, pair.flux, options.since, window_end, pair.states)
    for entite in reconciled:
        if entite.id_e not in state.reconcile_failed and not state.abort.is_set():
            store.put_json_if_changed(
                reconcile_state_key(entite.id_e),
                {"id_e": entite.id_e, "reconciled_at": utc_iso(clock.now()), "flux": sorted(fluxes)},
            )


def _parallel(function: Callable[[Any], Any], items: list[Any], workers: int) -> list[Any]:
    if workers <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="capture") as pool:
        return list(pool.map(function, items))


# ------------------------------------------------------------------------------ steps
def _advance_watermark(
    store: ObjectStore,
    clock: Clock,
    id_e: str,
    flux: str,
    since: str | None,
    end: str,
    states: Sequence[str | None],
) -> None:
    """Move each listed state's mark to ``end`` unless that would jump over a gap or go backwards.

    A ``--since`` later than the current mark leaves the time between them uncaptured: that mark stays.
    One read and at most one write per pair.
    """
    current = load_watermark(store, id_e, flux)

    def moved(previous: str | None) -> str | None:
        if previous is None:
            return end
        if since and parse_pastell_timestamp(since) > parse_pastell_timestamp(previous):
            return previous
        if parse_pastell_timestamp(previous) >= parse_pastell_timestamp(end):
            return previous
        return end

    high_water = current.high_water if current is not None else None
    if None in states:
        high_water = moved(high_water)
    if high_water is None:  # the harvested state's listing never completed: nothing to anchor
        return
    transitions = dict(current.transitions) if current is not None else {}
    for state in states:
        if state is None:
            continue
        if state not in transitions and since:
            continue  # a backfill is no full listing of this transition: the next run lists from the start
        transitions[state] = moved(transitions.get(state)) or end
    wanted = Watermark(
        id_e=id_e, flux=flux, high_water=high_water, updated_at=utc_iso(clock.now()), transitions=transitions
    )
    if current is not None and current.model_copy(update={"updated_at": wanted.updated_at}) == wanted:
        return
    save_watermark(store, wanted)


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
    client: PastellClient,
    store: ObjectStore,
    fluxes: Sequence[str],
    report: RunReport,
    state: _RunState,
    workers: int = 1,
) -> list[str]:
    """Store each flux definition as received (``workers`` at once); a flux unknown (404) is skipped."""

    def read(flux: str) -> bool:
        try:
            safe_segment(flux, "flux")
            definition = client.flux_definition(flux)
        except ValueError as exc:
            report.add("errors", ReportItem(id_e="*", flux=flux, reason="flux_invalide", message=str(exc)))
            return False
        except PastellNotFoundError:
            report.add("skipped", ReportItem(id_e="*", flux=flux, reason="flux_absent", source="pull"))
            return False
        except PastellAuthError as exc:
            report.add(
                "errors", ReportItem(id_e="*", flux=flux, reason="auth", message=str(exc), source="pull")
            )
            state.abort.set()
            return False
        except PastellError as exc:
            # Listing may still work; normalisation falls back to its default code table.
            report.add(
                "errors",
                ReportItem(id_e="*", flux=flux, reason=_reason(exc), message=str(exc), source="pull"),
            )
            return True
        store.put_json_if_changed(flux_definition_key(flux), definition)
        return True

    kept = [flux for flux, ok in zip(fluxes, _parallel(read, list(fluxes), workers), strict=True) if ok]
    return [] if state.abort.is_set() else kept


def _listing(
    client: PastellClient,
    entite: Entite,
    flux: str,
    options: CaptureOptions,
    report: RunReport,
    state: _RunState,
    etat: str,
    begin: str | None = None,
    end: str | None = None,
    tri: str | None = None,
) -> tuple[list[DocumentRow], bool]:
    """One listing, paged; on failure the rows read so far are kept and the pair is failed."""
    rows: list[DocumentRow] = []
    try:
        for row in client.iter_documents(
            entite.id_e,
            flux,
            page_size=options.page_size,
            etat_transit=etat,
            state_begin=begin,
            state_end=end,
            tri=tri,
        ):
            rows.append(row)
    except PastellError as exc:
        _pair_failed(report, state, entite.id_e, flux, exc, f"etatTransit={etat}: ")
        return rows, False
    return rows, True


def _pair_failed(
    report: RunReport, state: _RunState, id_e: str, flux: str, exc: PastellError, prefix: str = ""
) -> None:
    report.add(
        "errors",
        ReportItem(id_e=id_e, flux=flux, reason=_reason(exc), message=prefix + str(exc), source="pull"),
    )
    state.fail(id_e, flux)
    if isinstance(exc, PastellAuthError):
        state.abort.set()
    if isinstance(exc, PastellRateLimitedError):
        state.throttle(id_e, flux)


def _list_pair(
    client: PastellClient,
    store: ObjectStore,
    pair: _PairListing,
    options: CaptureOptions,
    window_end: str,
    report: RunReport,
    state: _RunState,
    queue: Callable[[_Task], None],
) -> None:
    """The harvested state's listing, then each later transition's, each from its own watermark."""
    entite, flux = pair.entite, pair.flux
    mark = load_watermark(store, entite.id_e, flux)
    for mark_state in [None, *options.later_states(flux)]:
        stopped = state.stop_reason()
        if stopped or (entite.id_e, flux) in state.throttled_pairs:
            if stopped:
                what = "harvested state" if mark_state is None else mark_state
                report.add(
                    "skipped",
                    ReportItem(
                        id_e=entite.id_e,
                        flux=flux,
                        reason=stopped,
                        message=f"not listed: {what}",
                        source="pull",
                    ),
                )
            state.fail(entite.id_e, flux)
            return
        begin = window_begin(mark, options.since, options.default_since, options.overlap_seconds, mark_state)
        etat = mark_state or options.harvested_state(flux)
        rows, ok = _listing(client, entite, flux, options, report, state, etat, begin, window_end)
        kind: TaskKind = "listed" if mark_state is None else "held_only"
        for row in rows:
            try:
                safe_segment(row.id_d, "id_d")
            except ValueError as exc:
                report.add(
                    "errors",
                    ReportItem(
                        id_e=entite.id_e,
                        id_d=row.id_d[:100],
                        flux=flux,
                        reason="id_invalide",
                        message=str(exc)[:300],
                        source="pull",
                    ),
                )
                state.fail(entite.id_e, flux)
                continue
            queue(_Task(entite, flux, row.id_d, kind, row))
        if ok:
            pair.states.append(mark_state)


def _reconcile_due(store: ObjectStore, clock: Clock, id_e: str, options: CaptureOptions) -> bool:
    """Forced, disabled, or on schedule; an entity never reconciled starts its clock (unless interval 0)."""
    if options.reconcile is not None:
        return options.reconcile
    interval = options.reconcile_interval_hours
    try:
        payload = store.get_json(reconcile_state_key(id_e))
    except ValueError:
        payload = None
    if interval <= 0:
        return True
    last = payload.get("reconciled_at") if isinstance(payload, dict) else None
    if not isinstance(last, str):
        store.put_json_if_changed(
            reconcile_state_key(id_e), {"id_e": id_e, "reconciled_at": utc_iso(clock.now()), "flux": []}
        )
        return False
    try:
        when = datetime.strptime(last, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=clock.now().tzinfo)
    except ValueError:
        return True
    return clock.now() - when >= timedelta(hours=interval)


def _reconcile_listing(
    client: PastellClient,
    store: ObjectStore,
    clock: Clock,
    entite: Entite,
    fluxes: Sequence[str],
    options: CaptureOptions,
    report: RunReport,
    state: _RunState,
    queue: Callable[[_Task], None],
) -> bool:
    """Full listing of every flux of the entity vs what raw holds; True when every listing completed."""
    held = held_document_ids(store, entite.id_e)
    listed: set[str] = set()
    flux_ok: set[str] = set()
    for flux in fluxes:
        if state.stop_reason():
            state.reconcile_failed.add(entite.id_e)
            return False
        rows, ok = _listing(
            client, entite, flux, options, report, state, options.harvested_state(flux), tri="titre"
        )
        if ok:
            flux_ok.add(flux)
        for row in rows:
            listed.add(row.id_d)
            if row.id_d not in held:  # acknowledged but never captured: the safety net
                try:
                    safe_segment(row.id_d, "id_d")
                except ValueError:
                    continue
                queue(_Task(entite, flux, row.id_d, "listed", row))
    if flux_ok != set(fluxes):
        state.reconcile_failed.add(entite.id_e)
    for id_d in sorted(held - listed):
        queue(_Task(entite, "*", id_d, "confirm_removed", flux_ok=frozenset(flux_ok)))
    return True


def _capture_one(
    client: PastellClient,
    store: ObjectStore,
    clock: Clock,
    task: _Task,
    options: CaptureOptions,
    report: RunReport,
    state: _RunState,
) -> None:
    entite, flux = task.entite, task.flux
    item = ReportItem(id_e=entite.id_e, id_d=task.id_d, flux=flux, source="pull")
    stopped = state.stop_reason()
    if task.kind == "confirm_removed":
        if stopped:
            state.reconcile_failed.add(entite.id_e)
            return
        _confirm_removed(client, store, clock, task, report, state)
        return
    if stopped == INTERRUPTED:
        report.add(
            "errors",
            item.model_copy(
                update={"reason": INTERRUPTED, "message": "Run stopped after a 401 (credentials)"}
            ),
        )
        state.fail(entite.id_e, flux)
        return
    if stopped == RUN_DEADLINE:
        report.add(
            "skipped", item.model_copy(update={"reason": RUN_DEADLINE, "message": "run deadline reached"})
        )
        state.fail(entite.id_e, flux)
        return
    if (entite.id_e, flux) in state.throttled_pairs:
        report.add(
            "skipped",
            item.model_copy(
                update={"reason": "limite_de_debit", "message": "Pastell asked to wait: next run"}
            ),
        )
        state.fail(entite.id_e, flux)
        return
    assert task.row is not None
    try:
        result = capture_document(
            client,
            store,
            clock,
            entite,
            flux,
            task.row,
            options.file_fields,
            held_only=task.kind == "held_only",
        )
    except Exception as exc:  # whatever fails for one document is that document's error
        if isinstance(exc, PastellAuthError):
            state.abort.set()
        if isinstance(exc, PastellRateLimitedError):
            state.throttle(entite.id_e, flux)
        state.fail(entite.id_e, flux)
        report.add(
            "errors", item.model_copy(update={"reason": _error_reason(exc), "message": str(exc)[:1000]})
        )
        return
    if result.outcome == "not_held":
        return  # a draft edited, or a document never acknowledged: not ours
    if result.outcome == "gone":
        report.add("skipped", item.model_copy(update={"reason": "document_supprime"}))
        return
    if result.outcome == "removed":
        report.add("removed", item.model_copy(update={"reason": "supprime_dans_pastell"}))
        return
    report.add("captured" if result.outcome == "captured" else "unchanged", item)
    if result.outcome == "captured":
        for missing in result.missing:
            report.add(
                "warnings",
                item.model_copy(
                    update={
                        "reason": missing.reason,
                        "message": f"{missing.field}/{missing.num} {missing.name!r}: {missing.message}",
                    }
                ),
            )


def _error_reason(exc: Exception) -> str:
    if isinstance(exc, PastellError):
        return _reason(exc)
    if isinstance(exc, ValueError):
        return "donnees_invalides"
    if isinstance(exc, (BotoCoreError, ClientError, PreconditionFailed, OSError)):
        return "stockage"
    return "erreur_interne"


def _confirm_removed(
    client: PastellClient,
    store: ObjectStore,
    clock: Clock,
    task: _Task,
    report: RunReport,
    state: _RunState,
) -> None:
    """A held document missing from the full listing: removed only if Pastell says it is gone."""
    id_e, id_d = task.entite.id_e, task.id_d
    try:
        existing = load_raw_document(store, id_e, id_d)
        if (
            existing is None
            or existing.capture.source != "pull"
            or existing.capture.removed is not None
            or existing.capture.flux not in task.flux_ok
        ):
            return  # pushed, already withdrawn, or its flux listing failed: nothing can be concluded
        flux = existing.capture.flux
        item = ReportItem(id_e=id_e, id_d=id_d, flux=flux, source="pull")
        try:
            client.detail_raw(id_e, id_d)
        except PastellNotFoundError as exc:
            if DOCUMENT_GONE not in str(exc):
                raise
            mark_removed(store, clock, id_e, id_d, f"reconciliation: {exc}")
            report.add("removed", item.model_copy(update={"reason": "supprime_dans_pastell"}))
            return
        report.add(
            "skipped",
            item.model_copy(
                update={
                    "reason": "absent_du_listing",
                    "message": "the document exists but is not in the full listing of its flux",
                }
            ),
        )
    except Exception as exc:  # one document's trouble never stops the reconciliation
        state.reconcile_failed.add(id_e)
        if isinstance(exc, PastellAuthError):
            state.abort.set()
        report.add(
            "errors",
            ReportItem(
                id_e=id_e,
                id_d=id_d,
                flux="*",
                reason=_error_reason(exc),
                message=f"reconciliation: {exc}"[:1000],
                source="pull",
            ),
        )


def mark_removed(store: ObjectStore, clock: Clock, id_e: str, id_d: str, evidence: str) -> bool:
    """Record in the envelope that Pastell deleted the document (the detail stays as last received)."""

    def build(current: RawDocument | None) -> RawDocument | None:
        if current is None or current.capture.removed is not None:
            return None
        removal = Removal(detected_at=utc_iso(clock.now()), evidence=evidence[:500])
        return current.model_copy(update={"capture": current.capture.model_copy(update={"removed": removal})})

    return update_raw_document(store, id_e, id_d, build)


def capture_document(
    client: PastellClient,
    store: ObjectStore,
    clock: Clock,
    entite: Entite,
    flux: str,
    row: DocumentRow,
    file_fields: Sequence[str] = CAPTURED_FILE_FIELDS,
    held_only: bool = False,
) -> CaptureResult:
    """Capture one listed document (raises on failure).

    ``held_only``: the row comes from a later transition's listing — only a document already captured
    is read again (``not_held`` otherwise).
    """
    id_e, id_d = entite.id_e, row.id_d
    existing, etag = read_raw_document(store, id_e, id_d)
    if held_only and existing is None:
        return CaptureResult("not_held")
    listing = row.fingerprint()
    if (
        existing is not None
        and existing.capture.source == "pull"
        and existing.capture.listing == listing
        and existing.capture.removed is None
    ):
        return CaptureResult("unchanged")

    try:
        detail_raw, detail = client.detail_raw(id_e, id_d)
    except PastellNotFoundError as exc:
        if DOCUMENT_GONE not in str(exc):
            raise
        # Deleted between the listing and now: withdraw what we hold, report the rest.
        if existing is not None and existing.capture.source == "pull":
            mark_removed(store, clock, id_e, id_d, str(exc))
            return CaptureResult("removed")
        return CaptureResult("gone")
    # New document: one LIST tells which file keys exist (usually none) instead of a HEAD per file.
    present = existing_file_keys(store, id_e, id_d) if existing is None else None
    files: list[CapturedFile] = []
    missing: list[MissingFile] = []
    for file_field in file_fields:
        for num, name in enumerate(detail.file_names(file_field)):
            key = document_file_key(id_e, id_d, file_field, num, name)
            with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
                try:
                    got = client.download_file(id_e, id_d, file_field, num, spool)
                except PastellFileMissingError as exc:
                    # Permanent (pastell-api.md §9): recorded, never retried, never blocks the watermark.
                    missing.append(
                        MissingFile(
                            field=file_field, num=num, name=name, status=exc.status, message=str(exc)[:300]
                        )
                    )
                    continue
                absent = present is not None and key not in present
                put_stream_if_changed(store, key, spool, got.sha256, got.content_type, known_absent=absent)
            files.append(
                CapturedFile(field=file_field, num=num, name=name, sha256=got.sha256, size=got.size, key=key)
            )

    digest = content_sha256(detail_raw, files, missing=missing)
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
        content_changed = (
            current is None or current.capture.content_sha256 != digest or current.capture.removed is not None
        )
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
                missing_files=missing,
            ),
            detail=detail_raw,
            entite=entite.model_dump(mode="json"),
            pushes=merge_pushes(list(current.pushes) if current else [], inherited),
        )

    written = update_raw_document(store, id_e, id_d, build, known=(existing, etag))
    for ref in folded:
        store.delete(document_detail_key(ref.id_e, ref.id_d))  # one live detail.json per act
    return CaptureResult("captured" if written and content_changed else "unchanged", tuple(missing))


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
    if isinstance(exc, PastellTooLargeError):
        return "reponse_trop_volumineuse"
    if isinstance(exc, PastellPaginationError):
        return "listing_incomplet"
    if isinstance(exc, PastellResponseError):
        return "reponse_invalide"
    if isinstance(exc, PastellTimeoutError):
        return "delai_depasse"
    if isinstance(exc, PastellRateLimitedError):
        return "limite_de_debit"
    if exc.status is not None and exc.status >= 500:
        return "erreur_serveur"
    if exc.status == 429:
        return "limite_de_debit"
    return "erreur_pastell" if exc.status else "injoignable"
