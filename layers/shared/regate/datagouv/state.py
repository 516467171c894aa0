"""What was published where (``layout.PUBLISH_STATE_KEY`` in the curated bucket).

The state lets a run find its datasets and resources again without searching the portal, and feeds the
DCAT catalogue. The portal stays the truth for checksums: the state is a cache plus a history of dates.
Concurrent writers (a scheduled run and an event-driven one) are serialised with a conditional write:
on conflict the run re-reads and merges its own entries over the newer state.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from regate.storage import ObjectStore, layout
from regate.storage.store import PreconditionFailed, dumps_canonical

STATE_VERSION = 1


class ResourceState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    resource_id: str
    title: str
    kind: str  # "hosted" | "remote"
    sha1: str
    filesize: int
    rows: int
    url: str | None = None
    first_published_at: str
    published_at: str  # last time the file changed on the portal


class DatasetState(BaseModel):
    """One published dataset: ``scope`` is ``all`` (OPSN national) or a SIREN (collectivité)."""

    model_config = ConfigDict(extra="ignore")

    scope: str
    dataset_id: str
    organization_id: str | None = None
    under_collectivite_org: bool = False
    title: str
    description: str = ""
    page: str | None = None
    coll_nom: str | None = None
    coll_siret: str | None = None
    coll_kind: str | None = None
    first_published_at: str
    modified_at: str
    resources: dict[str, ResourceState] = Field(default_factory=dict)  # key: annee as string


class PublishState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: int = STATE_VERSION
    mode: str = "opsn"
    datasets: dict[str, DatasetState] = Field(default_factory=dict)  # key: "{mode}:{scope}"


def dataset_key(mode: str, scope: str) -> str:
    return f"{mode}:{scope}"


class StateCorrupt(Exception):
    """The state file exists but cannot be read: refuse to run rather than publish duplicates."""


def load_state(store: ObjectStore, key: str = layout.PUBLISH_STATE_KEY) -> tuple[PublishState, str | None]:
    """Current state and its ETag (None when there is no state yet); ``key``: another flux's state."""
    found = store.get_with_etag(key)
    if found is None:
        return PublishState(), None
    body, etag = found
    try:
        return PublishState.model_validate(json.loads(body)), etag
    except (ValueError, ValidationError) as exc:
        raise StateCorrupt(f"{key} is unreadable: {exc}") from exc


def save_state(
    store: ObjectStore,
    state: PublishState,
    etag: str | None,
    touched: set[str],
    removed: set[str] | None = None,
    attempts: int = 5,
    key: str = layout.PUBLISH_STATE_KEY,
) -> PublishState:
    """Write ``state``; on a concurrent update, merge the ``touched`` datasets into the newer one.

    Returns the state actually stored. Writes nothing when the stored bytes would not change.
    """
    removed = removed or set()
    for _ in range(attempts):
        current_bytes = None
        if etag is not None:
            found = store.get_with_etag(key)
            if found is not None and found[1] == etag:
                current_bytes = found[0]
        body = dumps_canonical(state.model_dump(mode="json"))
        if current_bytes is not None and current_bytes == body:
            return state
        try:
            store.put_conditional(key, body, if_match=etag)
            return state
        except PreconditionFailed:
            newer, etag = load_state(store, key)
            merged: dict[str, Any] = dict(newer.datasets)
            for name in touched:
                if name in state.datasets:
                    merged[name] = state.datasets[name]
            for name in removed:
                merged.pop(name, None)
            state = newer.model_copy(update={"datasets": merged, "mode": state.mode})
    raise PreconditionFailed(key)
