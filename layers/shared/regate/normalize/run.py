"""Run a whole normalisation (CLI / scheduled) and save its report — shared by the CLI and the handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from regate.clock import Clock, SystemClock, utc_iso
from regate.normalize.pipeline import Normalizer
from regate.normalize.reports import RunReport, save_report
from regate.storage import ObjectStore


def run_normalize(
    raw: ObjectStore,
    curated: ObjectStore,
    settings: Any,
    *,
    mode: Literal["normalize", "rebuild"] = "normalize",
    workers: int = 4,
    clock: Clock | None = None,
    directory: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> RunReport:
    """``regate normalize`` (pending only) or ``regate rebuild`` (everything); report saved in curated."""
    clock = clock or SystemClock()
    report = RunReport(mode=mode, started_at=utc_iso(clock.now()))
    normalizer = Normalizer.from_stores(
        raw, curated, settings, directory=directory, clock=clock, report=report
    )
    if mode == "rebuild":
        normalizer.rebuild_all(report, workers=workers, progress=progress)
    else:
        normalizer.run_pending(report, workers=workers, progress=progress)
    report = report.sorted_copy()
    report.finished_at = utc_iso(clock.now())
    save_report(curated, report)
    return report
