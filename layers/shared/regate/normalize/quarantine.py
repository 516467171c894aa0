"""Quarantine: rejected acts with a machine-readable reason, never lost (the raw document stays)."""

from __future__ import annotations

from pydantic import BaseModel

from regate.storage import layout
from regate.storage.store import ObjectStore, dumps_canonical


class QuarantineEntry(BaseModel):
    """``quarantine/{id_e}/{id_d}.json``: why an act could not be normalised."""

    id_e: str
    id_d: str
    reason: str
    message: str
    raw_key: str
    raw_version: str | None = None
    raw_etag: str | None = None


def put_quarantine(store: ObjectStore, entry: QuarantineEntry) -> bool:
    """Write (or keep) the entry; ``True`` when something changed."""
    key = layout.quarantine_key(entry.id_e, entry.id_d)
    return store.put_if_changed(
        key, dumps_canonical(entry.model_dump()), content_type="application/json"
    ).written


def clear_quarantine(store: ObjectStore, id_e: str, id_d: str) -> bool:
    """The act is readable again (or withdrawn): drop its quarantine entry."""
    return store.delete(layout.quarantine_key(id_e, id_d))
