"""Capture high-water marks per (entity, flux), stored in the raw bucket at ``watermark_key``.

A watermark ``T`` means "every document that entered the harvested state at or before ``T`` is captured".
The next listing asks for ``state_begin = T - overlap - 1 s`` (Pastell compares strictly) up to
``state_end`` = the run's start, in Pastell's platform time (Europe/Paris, no zone). The mark moves to that
``state_end`` only when every document of the window was captured; otherwise it stays put, so a document that
failed is listed again by the next run (unchanged ones cost no detail call: see ``pull``).

Later transitions (``annuler-tdt``, ``modification``… — ``REGATE_PASTELL_TRANSITIONS``) are listed with
their own mark, kept in the same file (``transitions``: state → high-water mark; one read and one write per
pair and run), so a cancellation months after the acknowledgement is in the next incremental window of its
own listing, and a transition added to the setting later starts from the first-run bound.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field, field_validator

from regate.clock import PARIS
from regate.storage.layout import watermark_key
from regate.storage.store import ObjectStore

PASTELL_FORMAT = "%Y-%m-%d %H:%M:%S"


class Watermark(BaseModel):
    id_e: str
    flux: str
    high_water: str
    updated_at: str
    transitions: dict[str, str] = Field(
        default_factory=dict, description="Later transition listed on its own → its high-water mark"
    )

    @field_validator("high_water")
    @classmethod
    def _timestamp(cls, value: str) -> str:
        parse_pastell_timestamp(value)
        return value

    @field_validator("transitions")
    @classmethod
    def _timestamps(cls, value: dict[str, str]) -> dict[str, str]:
        for mark in value.values():
            parse_pastell_timestamp(mark)
        return value

    def high_water_of(self, state: str | None) -> str | None:
        """The mark of the harvested state (``None``) or of a later transition (absent: never listed)."""
        return self.high_water if state is None else self.transitions.get(state)


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


def load_watermark(store: ObjectStore, id_e: str, flux: str) -> Watermark | None:
    try:
        payload = store.get_json(watermark_key(id_e, flux))
    except ValueError:
        return None
    if payload is None:
        return None
    try:
        return Watermark.model_validate(payload)
    except ValueError:
        return None  # a damaged mark only costs a longer listing, never a missed document


def save_watermark(store: ObjectStore, mark: Watermark) -> None:
    payload = mark.model_dump()
    if not payload["transitions"]:
        payload.pop("transitions")  # marks without transitions keep their former shape
    store.put_json_if_changed(watermark_key(mark.id_e, mark.flux), payload)


def window_begin(
    mark: Watermark | None,
    since: str | None,
    default_since: str,
    overlap_seconds: int,
    state: str | None = None,
) -> str:
    """Lower bound (exclusive) of the listing window of ``state`` (None: the harvested state).

    ``since`` (a backfill) wins over the mark; a date-only ``since`` means that day at 00:00:00 *included*,
    hence the extra second back (bounds are strict).
    """
    high_water = mark.high_water_of(state) if mark is not None else None
    if since:
        start = parse_pastell_timestamp(since)
    elif high_water is not None:
        start = parse_pastell_timestamp(high_water) - timedelta(seconds=overlap_seconds)
    else:
        start = parse_pastell_timestamp(default_since)
    return format_pastell_timestamp(start - timedelta(seconds=1))
