"""Wiring of capture from :class:`Settings` — shared by the Lambda handler and the CLI.

Kept apart from :mod:`pull` / :mod:`push` (which take their dependencies) so those stay testable with fakes,
while entry points get the same assembly everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from regate.capture.pull import CaptureOptions, Progress, run_capture
from regate.capture.push import DepotLimits, IngestResult, ingest_guarded, ingest_inbox_object, ingest_report
from regate.capture.report import ReportItem, RunReport
from regate.clock import Clock, SystemClock, utc_iso
from regate.http.limits import Deadline
from regate.pastell.client import PastellClient, PastellError, make_pastell_session
from regate.settings import Settings
from regate.storage.layout import INBOX_PREFIX
from regate.storage.store import ObjectStore, make_s3_client


def raw_store(settings: Settings, s3_client: Any | None = None) -> ObjectStore:
    return ObjectStore(s3_client or make_s3_client(settings), settings.raw_bucket)


def capture_from_settings(
    settings: Settings,
    *,
    since: str | None = None,
    entites: Sequence[str] = (),
    flux: Sequence[str] = (),
    clock: Clock | None = None,
    store: ObjectStore | None = None,
    progress: Progress | None = None,
    remaining_seconds: float | None = None,
    reconcile: bool | None = None,
) -> RunReport:
    """A pull capture run configured by ``settings`` (report saved in the raw bucket).

    ``remaining_seconds`` (Lambda: the invocation's remaining time): the run stops
    ``REGATE_PASTELL_RUN_MARGIN_SECONDS`` before it, or at ``REGATE_PASTELL_RUN_DEADLINE_SECONDS`` if sooner.
    """
    clock = clock or SystemClock()
    store = store or raw_store(settings)
    try:
        client = PastellClient.from_settings(settings, make_pastell_session(settings, clock))
    except PastellError as exc:
        report = RunReport.start(clock)
        report.add("errors", ReportItem(id_e="*", flux="*", reason="configuration", message=str(exc)))
        report.finish(clock).save(store)
        return report
    options = CaptureOptions.from_settings(
        settings, since=since, entites=entites, flux=flux, reconcile=reconcile
    )
    deadline = run_deadline(settings, remaining_seconds)
    return run_capture(client, store, clock, options, progress=progress, deadline=deadline)


def run_deadline(settings: Settings, remaining_seconds: float | None = None) -> Deadline:
    """The run's deadline: the CLI setting, and in Lambda the remaining time minus a margin."""
    limits = [settings.pastell_run_deadline_seconds] if settings.pastell_run_deadline_seconds > 0 else []
    if remaining_seconds is not None:
        limits.append(max(remaining_seconds - settings.pastell_run_margin_seconds, 1.0))
    return Deadline(min(limits) if limits else None)


def is_inbox_zip(key: str) -> bool:
    return key.startswith(INBOX_PREFIX) and key.lower().endswith(".zip")


def ingest_from_event(
    store: ObjectStore,
    bucket: str,
    key: str,
    clock: Clock,
    version_id: str | None = None,
    limits: DepotLimits | None = None,
) -> IngestResult | None:
    """Ingest the object an S3 event names; ``None`` when the event is not about this inbox.

    Never raises for the ZIP's content; a storage failure is an ``error`` result (the event is redelivered).
    """
    if bucket != store.bucket or not is_inbox_zip(key):
        return None
    return ingest_guarded(key, lambda: ingest_inbox_object(store, key, clock, version_id, limits))


def save_ingest_report(
    store: ObjectStore, results: list[IngestResult], clock: Clock, started_at: str
) -> RunReport:
    """The ingest report of a batch (or one event), saved at ``run_report_key("ingest")`` — best effort."""
    report = ingest_report(results, clock, started_at)
    try:
        report.save(store)
    except Exception as exc:  # the results are returned and logged anyway
        report.add(
            "errors", ReportItem(id_e="*", flux="*", reason="rapport_non_enregistre", message=str(exc))
        )
    return report


def started_now(clock: Clock) -> str:
    return utc_iso(clock.now())
