"""Wiring of capture from :class:`Settings` — shared by the Lambda handler and the CLI.

Kept apart from :mod:`pull` / :mod:`push` (which take their dependencies) so those stay testable with fakes,
while entry points get the same assembly everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from regate.capture.pull import CaptureOptions, Progress, run_capture
from regate.capture.push import IngestResult, ingest_inbox_object
from regate.capture.report import ReportItem, RunReport
from regate.clock import Clock, SystemClock
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
) -> RunReport:
    """A pull capture run configured by ``settings`` (report saved in the raw bucket)."""
    clock = clock or SystemClock()
    store = store or raw_store(settings)
    try:
        client = PastellClient.from_settings(settings, make_pastell_session(settings, clock))
    except PastellError as exc:
        report = RunReport.start(clock)
        report.add("errors", ReportItem(id_e="*", flux="*", reason="configuration", message=str(exc)))
        report.finish(clock).save(store)
        return report
    options = CaptureOptions.from_settings(settings, since=since, entites=entites, flux=flux)
    return run_capture(client, store, clock, options, progress=progress)


def is_inbox_zip(key: str) -> bool:
    return key.startswith(INBOX_PREFIX) and key.lower().endswith(".zip")


def ingest_from_event(
    store: ObjectStore, bucket: str, key: str, clock: Clock, version_id: str | None = None
) -> IngestResult | None:
    """Ingest the object an S3 event names; ``None`` when the event is not about this inbox."""
    if bucket != store.bucket or not is_inbox_zip(key):
        return None
    return ingest_inbox_object(store, key, clock, version_id=version_id)
