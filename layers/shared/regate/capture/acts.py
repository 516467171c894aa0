"""Act identity: the same act arriving by pull (API) and by push (depot ZIP) is one document.

A depot ZIP's ``id_d`` is the id of a ``ged-megalis-opendata`` copy, not the source document's, so acts are
identified by an **act key** built from what both paths carry: SIREN + ``numero_de_lacte`` +
``date_de_lacte``.
The index entry at ``act_index_key(siren, act_key)`` says which raw document currently holds the act
(``id_e``, ``id_d``, ``source``) and lists the other ids it arrived under (``aliases``). It is updated with
conditional writes (If-Match / If-None-Match) so concurrent captures of one act cannot lose an update.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from regate.storage.layout import act_index_key
from regate.storage.store import ObjectStore, PreconditionFailed, dumps_canonical

_READABLE = re.compile(r"^[0-9A-Za-z_]{1,64}$")
_LOOSE_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")
_SIREN = re.compile(r"^\d{9}$")


class DocumentRef(BaseModel):
    id_e: str
    id_d: str
    source: Literal["pull", "push"]


class ActIndexEntry(BaseModel):
    siren: str
    act_key: str
    numero_de_lacte: str
    date_de_lacte: str
    live: DocumentRef = Field(description="The raw document holding the act (its detail.json is live)")
    aliases: list[DocumentRef] = Field(default_factory=list, description="Other ids the act arrived under")


def normalise_act_date(value: str) -> str:
    """``2024-3-5`` and ``2024-03-05`` are the same act date (the raw value itself is kept as received)."""
    found = _LOOSE_DATE.match(value)
    if found:
        try:
            return date(int(found.group(1)), int(found.group(2)), int(found.group(3))).isoformat()
        except ValueError:
            pass
    return value.strip()


def act_key_for(siren: str | None, numero: object, date_de_lacte: object) -> str | None:
    """``YYYYMMDD_NUMERO`` when readable, else a hash; ``None`` when the act cannot be identified."""
    if (
        not siren
        or not _SIREN.match(siren)
        or not isinstance(numero, str)
        or not isinstance(date_de_lacte, str)
    ):
        return None
    numero_norm = numero.strip().upper()
    date_norm = normalise_act_date(date_de_lacte)
    if not numero_norm or not date_norm:
        return None
    readable = f"{date_norm.replace('-', '')}_{numero_norm}"
    if _READABLE.match(readable):
        return readable
    return "h" + hashlib.sha256(f"{date_norm}|{numero_norm}".encode()).hexdigest()[:40]


def read_index(store: ObjectStore, siren: str, act_key: str) -> tuple[ActIndexEntry | None, str | None]:
    found = store.get_with_etag(act_index_key(siren, act_key))
    if found is None:
        return None, None
    body, etag = found
    return ActIndexEntry.model_validate_json(body), etag


def update_index(
    store: ObjectStore,
    siren: str,
    act_key: str,
    change: Callable[[ActIndexEntry | None], ActIndexEntry | None],
    attempts: int = 8,
) -> ActIndexEntry | None:
    """Read-modify-write of one index entry under optimistic concurrency; ``change`` returns None = no write.

    ``change`` may be called several times (after a lost race): it must be a pure function of its input.
    """
    key = act_index_key(siren, act_key)
    for _ in range(attempts):
        current, etag = read_index(store, siren, act_key)
        wanted = change(current)
        if wanted is None or (current is not None and wanted == current):
            return current
        try:
            store.put_conditional(key, dumps_canonical(wanted.model_dump()), if_match=etag)
        except PreconditionFailed:
            continue
        return wanted
    raise PreconditionFailed(f"{key}: too many concurrent updates")


def with_alias(entry: ActIndexEntry, ref: DocumentRef) -> ActIndexEntry:
    if ref == entry.live or ref in entry.aliases:
        return entry
    return entry.model_copy(update={"aliases": [*entry.aliases, ref]})
