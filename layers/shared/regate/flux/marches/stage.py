"""The scheduled marchés stage: capture the profils d'acheteur, then normalise the raw answers into the
curated DECP files (what ``functions/marches/marches_handler.py`` and ``regate demo`` run).

Capture and normalisation run in one invocation on purpose: the normaliser reads every raw answer of the
platform (deduplication is across answers), so it runs once after the capture rather than per S3 event.
Both steps are idempotent: a second run the same day captures nothing new and writes nothing. Publication is
the publish stage's scheduled reconcile (``publish_marches``), which reads what this stage wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from regate.clock import Clock
from regate.flux.marches import batch
from regate.flux.marches.normalize import NormalizeLimits
from regate.profil_acheteur.atexo import AtexoClient
from regate.profil_acheteur.capture import MarchesCaptureOptions, capture_marches, run_date
from regate.settings import Settings
from regate.storage import ObjectStore, make_s3_client


@dataclass
class MarchesRun:
    capture: dict[str, int] = field(default_factory=dict)
    capture_fatal: str | None = None
    normalized: dict[str, int] = field(default_factory=dict)
    written: int = 0
    unchanged: int = 0
    deleted: int = 0

    @property
    def ok(self) -> bool:
        return (
            self.capture_fatal is None and not self.capture.get("rejected") and not self.capture.get("error")
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": "marches",
            "ok": self.ok,
            "capture": self.capture,
            "capture_fatal": self.capture_fatal,
            "normalisation": self.normalized,
            "written": self.written,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
        }


def run_marches(
    settings: Settings,
    clock: Clock,
    s3_client: Any | None = None,
    *,
    since: date | None = None,
    sirens: tuple[str, ...] = (),
    atexo: AtexoClient | None = None,
) -> MarchesRun:
    """Capture (when buyers are configured) then normalise; outside failures are in the result, not raised."""
    client = s3_client or make_s3_client(settings)
    raw = ObjectStore(client, settings.raw_bucket)
    curated = ObjectStore(client, settings.curated_bucket)
    run = MarchesRun()
    options = MarchesCaptureOptions.from_settings(settings, since=since, sirens=sirens)
    if options.sirens:
        report = capture_marches(atexo or AtexoClient.from_settings(settings, clock), raw, options, clock)
        run.capture, run.capture_fatal = report.summary(), report.fatal
    limits = NormalizeLimits(
        max_document_bytes=settings.marches_max_document_bytes,
        max_records_per_document=settings.marches_max_records_per_document,
    )
    normalized = batch.build(raw, run_date(clock), limits)
    written = batch.write_outputs(curated, normalized)
    run.normalized = normalized.summary()
    run.written, run.unchanged, run.deleted = (
        len(written.written),
        len(written.unchanged),
        len(written.deleted),
    )
    return run
