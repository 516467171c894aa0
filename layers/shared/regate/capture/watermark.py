"""Capture high-water marks per (entity, flux), stored in the raw bucket at ``watermark_key``.

A watermark ``T`` means "every document that entered the harvested state at or before ``T`` is captured".
The next listing asks for ``state_begin = T - overlap - 1 s`` (Pastell compares strictly) up to
``state_end`` = the run's start, in Pastell's platform time (Europe/Paris, no zone). The mark moves to that
``state_end`` only when every document of the window was captured; otherwise it stays put, so a document that
failed is listed again by the next run (unchanged ones cost no detail call: see ``pull``).

Later transitions (``annuler-tdt``, ``modification``… — ``REGATE_PASTELL_TRANSITIONS``) are listed with
their own mark (``state`` set, at ``transition_watermark_key``), so a cancellation months after the
acknowledgement is in the next incremental window of its own listing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, field_validator

from regate.clock import PARIS
from regate.storage.layout import transition_watermark_key, watermark_key
from regate.storage.store import ObjectStore

PASTELL_FORMAT = "%Y-%m-%d %H:%M:%S"


class Watermark(BaseModel):
    id_e: str
    flux: str
    high_water: str
    updated_at: str
    state: str | None = None  # None: the harvested state (acquiter-tdt / termine); else a later transition

    @property
    def key(self) -> str:
        if self.state is None:
            return watermark_key(self.id_e, self.flux)
        return transition_watermark_key(self.id_e, self.flux, self.state)

    @field_validator("high_water")
    @classmethod
    def _timestamp(cls, value: str) -> str:
        parse_pastell_timestamp(value)
        return value


def parse_pastell_timestamp(value: str) -> datetime:
    """``YYYY-MM-DD HH:MM:SS`` or ``YYYY-MM-DD`` (midnight), as Pastell reads bounds; ValueError otherwise."""
    value = value.strip()
    for fmt in (PASTELL_FORMAT, "%Y-%m-%d"):
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise ValueError(f"Not a Pastell timestamp (YYYY-MM-DD[ HH:MM:SS]): {value!r}")


def format_pastell_timestamp(moment: datetime) -> str:
    return moment.strftime(PASTELL_FORMAT)


def pastell_now(now: datetime) -> str:
    """The run's instant in Pastell platform time (Europe/Paris, naive)."""
    return format_pastell_timestamp(now.astimezone(PARIS).replace(tzinfo=None))


def load_watermark(store: ObjectStore, id_e: str, flux: str, state: str | None = None) -> Watermark | None:
    key = watermark_key(id_e, flux) if state is None else transition_watermark_key(id_e, flux, state)
    try:
        payload = store.get_json(key)
    except ValueError:
        return None
    if payload is None:
        return None
    try:
        return Watermark.model_validate(payload)
    except ValueError:
        return None  # a damaged mark only costs a longer listing, never a missed document


def save_watermark(store: ObjectStore, mark: Watermark) -> None:
    store.put_json_if_changed(mark.key, mark.model_dump(exclude_none=True))


def window_begin(mark: Watermark | None, since: str | None, default_since: str, overlap_seconds: int) -> str:
    """Lower bound (exclusive) of the listing window.

    ``since`` (a backfill) wins over the mark; a date-only ``since`` means that day at 00:00:00 *included*,
    hence the extra second back (bounds are strict).
    """
    if since:
        start = parse_pastell_timestamp(since)
    elif mark is not None:
        start = parse_pastell_timestamp(mark.high_water) - timedelta(seconds=overlap_seconds)
    else:
        start = parse_pastell_timestamp(default_since)
    return format_pastell_timestamp(start - timedelta(seconds=1))
