"""Capture of DECP exports from a profil d'acheteur into the raw bucket, incremental by notification date.

For each buyer (SIREN) of a platform:

1. the window starts at ``since`` (an operator sweep), else at the buyer's mark minus ``overlap_days``
   (contracts are entered late: DECP are due within two months of notification), else at ``default_since``;
2. it is cut into calendar months up to the run's month — one export call per month, the unit the platform
   answers without timing out, and the unit of the raw key
   ``acheteurs/{plateforme}/{siren}/{annee}/{mm}.json``;
3. each answer is checked by the client (HTML, malformed, too large… never stored over a good answer: the
   refusal goes to ``acheteurs-rejected/…`` with its reason) and written as received with ``put_if_changed``:
   an unchanged month costs one call and creates no object and no version;
4. the mark moves to the run's date only over the months that all succeeded (a failed month is asked again
   next run); it never moves back.

A 401 (credentials) stops the platform (every buyer would fail the same way, and retrying burns the account);
a 403 skips the buyer; anything else fails the month only. Contracts notified before the overlap and changed
later (a late modification) are seen by a periodic sweep (``since``), at the cost of calls only.
"""

from __future__ import annotations

import calendar
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, Field
from stdnum.fr import siren as stdnum_siren

from regate.clock import PARIS, Clock, utc_iso
from regate.profil_acheteur.atexo import (
    AtexoAuthError,
    AtexoClient,
    AtexoError,
    AtexoForbiddenError,
    AtexoResponseError,
    ExportRequest,
)
from regate.settings import Settings
from regate.storage import layout
from regate.storage.store import ObjectStore, dumps_canonical


class BuyerWatermark(BaseModel):
    """``_state/acheteurs/{plateforme}/{siren}.json``: every contract notified up to ``high_water`` is
    captured."""

    plateforme: str
    siren: str
    high_water: date
    updated_at: str


@dataclass(frozen=True)
class MarchesCaptureOptions:
    plateforme: str
    sirens: tuple[str, ...]
    overlap_days: int = 62
    default_since: date = date(2024, 1, 1)
    since: date | None = None

    def __post_init__(self) -> None:
        layout.safe_segment(self.plateforme, "plateforme")
        bad = [s for s in self.sirens if not (len(s) == 9 and s.isdigit() and stdnum_siren.is_valid(s))]
        if bad:
            raise ValueError(f"Not valid SIRENs (REGATE_ATEXO_SIRENS): {', '.join(bad)}")
        if self.overlap_days < 0:
            raise ValueError("overlap_days must be >= 0")

    @classmethod
    def from_settings(
        cls, settings: Settings, *, since: date | None = None, sirens: Sequence[str] = ()
    ) -> MarchesCaptureOptions:
        return cls(
            plateforme=settings.atexo_plateforme,
            sirens=tuple(sirens) or settings.atexo_sirens,
            overlap_days=settings.marches_overlap_days,
            default_since=settings.marches_default_since,
            since=since,
        )


Outcome = Literal["captured", "unchanged", "rejected", "error", "skipped"]


class WindowItem(BaseModel):
    siren: str
    annee: int
    mois: int
    outcome: Outcome
    key: str | None = None
    code: str | None = None
    message: str | None = None
    marches: int | None = None
    concessions: int | None = None


class MarchesCaptureReport(BaseModel):
    stage: str = layout.MARCHES_CAPTURE_STAGE
    plateforme: str
    started_at: str
    finished_at: str | None = None
    items: list[WindowItem] = Field(default_factory=list)
    marks: dict[str, str] = Field(default_factory=dict, description="SIREN → high-water mark after the run")
    fatal: str | None = None

    def count(self, outcome: Outcome) -> int:
        return sum(1 for i in self.items if i.outcome == outcome)

    def summary(self) -> dict[str, int]:
        return {o: self.count(o) for o in ("captured", "unchanged", "rejected", "error", "skipped")}

    @property
    def ok(self) -> bool:
        return self.fatal is None and not any(i.outcome in ("rejected", "error") for i in self.items)

    def save(self, store: ObjectStore) -> None:
        store.put_if_changed(
            layout.run_report_key(self.stage),
            dumps_canonical(self.model_dump(mode="json", exclude_none=True)),
            content_type="application/json",
        )


def month_windows(start: date, end: date) -> list[tuple[date, date]]:
    """Calendar months covering ``start``…``end`` (whole months: a month is one raw key and one call)."""
    windows: list[tuple[date, date]] = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        last = calendar.monthrange(year, month)[1]
        windows.append((date(year, month, 1), date(year, month, last)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return windows


def load_mark(store: ObjectStore, plateforme: str, siren: str) -> BuyerWatermark | None:
    try:
        payload = store.get_json(layout.profil_watermark_key(plateforme, siren))
        return BuyerWatermark.model_validate(payload) if payload is not None else None
    except ValueError:
        return None  # a damaged mark only costs a longer window, never a missed contract


def run_date(clock: Clock) -> date:
    """Today in France (notification dates are French calendar dates)."""
    now: datetime = clock.now()
    return now.astimezone(PARIS).date()


def capture_marches(
    client: AtexoClient, store: ObjectStore, options: MarchesCaptureOptions, clock: Clock
) -> MarchesCaptureReport:
    """Capture every buyer of ``options``; never raises for outside failures (they are in the report)."""
    report = MarchesCaptureReport(plateforme=options.plateforme, started_at=utc_iso(clock.now()))
    today = run_date(clock)
    for siren in options.sirens:
        if report.fatal:
            report.items.append(
                WindowItem(
                    siren=siren,
                    annee=today.year,
                    mois=today.month,
                    outcome="skipped",
                    code="arret",
                    message=report.fatal,
                )
            )
            continue
        _capture_buyer(client, store, options, siren, today, clock, report)
    report.finished_at = utc_iso(clock.now())
    with contextlib.suppress(ClientError, BotoCoreError):  # the report is returned to the caller anyway
        report.save(store)
    return report


def _capture_buyer(
    client: AtexoClient,
    store: ObjectStore,
    options: MarchesCaptureOptions,
    siren: str,
    today: date,
    clock: Clock,
    report: MarchesCaptureReport,
) -> None:
    mark = load_mark(store, options.plateforme, siren)
    if options.since is not None:
        start = options.since
    elif mark is not None:
        start = mark.high_water - timedelta(days=options.overlap_days)
    else:
        start = options.default_since
    complete_until: date | None = None  # last day of the longest run of successful months from the start
    broken = False
    for first, last in month_windows(min(start, today), today):
        item = _capture_month(client, store, options.plateforme, siren, first, last)
        report.items.append(item)
        if item.outcome in ("captured", "unchanged") and not broken:
            complete_until = min(last, today)
        else:
            broken = True
        if item.code == AtexoAuthError.code:
            report.fatal = f"{options.plateforme}: {item.message}"
            return
        if item.code == AtexoForbiddenError.code:
            return
    if complete_until is None:
        return
    new_mark = complete_until if mark is None else max(mark.high_water, complete_until)
    if mark is None or new_mark != mark.high_water:
        payload = BuyerWatermark(
            plateforme=options.plateforme, siren=siren, high_water=new_mark, updated_at=utc_iso(clock.now())
        )
        store.put_json_if_changed(
            layout.profil_watermark_key(options.plateforme, siren), payload.model_dump(mode="json")
        )
    report.marks[siren] = new_mark.isoformat()


def _capture_month(
    client: AtexoClient,
    store: ObjectStore,
    plateforme: str,
    siren: str,
    first: date,
    last: date,
) -> WindowItem:
    base: dict[str, Any] = {"siren": siren, "annee": first.year, "mois": first.month}
    request = ExportRequest(siren=siren, date_min=first, date_max=last)
    try:
        answer = client.export(request)
    except AtexoError as exc:
        refused = isinstance(exc, AtexoResponseError) and (
            exc.status == 200 or exc.code == "reponse_trop_grosse"
        )
        outcome: Outcome = "rejected" if refused else "error"
        if outcome == "rejected":
            _store_rejection(store, plateforme, siren, first, exc)
        return WindowItem(**base, outcome=outcome, code=exc.code, message=str(exc)[:500])
    key = layout.profil_export_key(plateforme, siren, first.year, first.month)
    metadata = {
        "plateforme": plateforme,
        "siren": siren,
        "date-notif-min": first.isoformat(),
        "date-notif-max": last.isoformat(),
        "fetched-at": answer.fetched_at,
    }
    try:
        result = store.put_if_changed(key, answer.body, content_type="application/json", metadata=metadata)
    except (ClientError, BotoCoreError) as exc:
        return WindowItem(**base, outcome="error", key=key, code="stockage", message=str(exc)[:500])
    return WindowItem(
        **base,
        outcome="captured" if result.written else "unchanged",
        key=key,
        marches=answer.marches,
        concessions=answer.concessions,
    )


def _store_rejection(store: ObjectStore, plateforme: str, siren: str, first: date, exc: AtexoError) -> None:
    """Why the answer was refused, with the head of what came back (no timestamp: the same refusal twice
    is one version; the run report dates it)."""
    reason = {
        "plateforme": plateforme,
        "siren": siren,
        "window": f"{first.year:04d}-{first.month:02d}",
        "code": exc.code,
        "message": str(exc)[:1000],
        "status": exc.status,
        "body_sha256": exc.sha256,
        "body_head": exc.head.decode("utf-8", errors="replace") if exc.head else None,
    }
    with contextlib.suppress(ClientError, BotoCoreError):  # the run report still names the refusal
        store.put_if_changed(
            layout.profil_rejected_key(plateforme, siren, first.year, first.month),
            dumps_canonical(reason),
            content_type="application/json",
        )
