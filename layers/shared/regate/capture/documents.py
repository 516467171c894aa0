"""Writing raw documents: file bytes and ``detail.json`` (:class:`regate.capture.envelope.RawDocument`).

Both writes are idempotent: a file whose sha256 is already the current object's is not uploaded again, and a
``detail.json`` with the same canonical bytes is not rewritten, so re-capturing an unchanged document leaves
the versioned bucket exactly as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import IO, Any

from regate.capture.envelope import CapturedFile, MissingFile, RawDocument
from regate.storage.layout import PASTELL_PREFIX, document_detail_key, document_prefix, safe_segment
from regate.storage.store import SHA256_META, ObjectStore, PreconditionFailed, dumps_canonical

_SINGLE_PUT_BYTES = 8 * 1024 * 1024


def content_sha256(
    detail: dict[str, Any],
    files: list[CapturedFile],
    metadata: dict[str, Any] | None = None,
    missing: list[MissingFile] | None = None,
) -> str:
    """Digest of what the source said (detail, metadata, file digests, missing files): equal ⇒ unchanged."""
    payload: dict[str, Any] = {
        "detail": detail,
        "metadata": metadata,
        "files": [[f.field, f.num, f.name, f.sha256] for f in sorted(files, key=lambda f: (f.field, f.num))],
    }
    if missing:  # only when there are some: digests of complete documents are unchanged
        payload["missing"] = [
            [m.field, m.num, m.name] for m in sorted(missing, key=lambda m: (m.field, m.num))
        ]
    return hashlib.sha256(dumps_canonical(payload)).hexdigest()


def load_raw_document(store: ObjectStore, id_e: str, id_d: str) -> RawDocument | None:
    """The current raw document, or None (absent, or unreadable: it is then simply captured again)."""
    found = store.get_with_etag(document_detail_key(id_e, id_d))
    if found is None:
        return None
    try:
        return RawDocument.model_validate_json(found[0])
    except ValueError:
        return None


def read_raw_document(store: ObjectStore, id_e: str, id_d: str) -> tuple[RawDocument | None, str | None]:
    """The current document (None when absent or unreadable) and its ETag (None when absent)."""
    found = store.get_with_etag(document_detail_key(id_e, id_d))
    if found is None:
        return None, None
    try:
        return RawDocument.model_validate_json(found[0]), found[1]
    except ValueError:
        return None, found[1]  # unreadable: rewritten by the next capture, the old bytes stay versioned


def update_raw_document(
    store: ObjectStore,
    id_e: str,
    id_d: str,
    build: Callable[[RawDocument | None], RawDocument | None],
    attempts: int = 8,
    known: tuple[RawDocument | None, str | None] | None = None,
) -> bool:
    """Read-modify-write of ``detail.json`` with If-Match, so a concurrent pull and push lose no update.

    ``build(current)`` returns the new document (None = leave it); it may run again after a lost race.
    Returns True when a new version was written (never for identical bytes).
    """
    key = document_detail_key(id_e, id_d)
    for attempt in range(attempts):
        # ``known``: the (document, ETag) the caller read earlier; a stale one just costs a retry.
        current, etag = known if known is not None and attempt == 0 else read_raw_document(store, id_e, id_d)
        wanted = build(current)
        if wanted is None:
            return False
        body = dumps_canonical(wanted.model_dump(mode="json"))
        if current is not None and dumps_canonical(current.model_dump(mode="json")) == body:
            return False
        try:
            store.put_conditional(key, body, if_match=etag)
        except PreconditionFailed:
            continue
        return True
    raise PreconditionFailed(f"{key}: too many concurrent updates")


def held_document_ids(store: ObjectStore, id_e: str) -> set[str]:
    """``id_d`` of every document folder under ``pastell/{id_e}/`` (one LIST per 1000, no GET)."""
    prefix = f"{PASTELL_PREFIX}{safe_segment(id_e, 'id_e')}/"
    paginator = store.client.get_paginator("list_objects_v2")
    found: set[str] = set()
    for page in paginator.paginate(Bucket=store.bucket, Prefix=prefix, Delimiter="/"):
        for common in page.get("CommonPrefixes", []):
            found.add(common["Prefix"][len(prefix) :].rstrip("/"))
    return found


def existing_file_keys(store: ObjectStore, id_e: str, id_d: str) -> set[str]:
    """Keys under the document's ``files/`` prefix (one LIST instead of a HEAD per file)."""
    return set(store.list_keys(document_prefix(id_e, id_d) + "files/"))


def put_stream_if_changed(
    store: ObjectStore,
    key: str,
    fileobj: IO[bytes],
    sha256: str,
    content_type: str = "application/octet-stream",
    known_absent: bool = False,
) -> bool:
    """Upload a (possibly 150 MB) spooled file unless the current object has the same sha256.

    ``known_absent``: the caller listed the prefix and the key is not there, so no HEAD is needed.
    """
    if not known_absent:
        current = store.head(key)
        if current is not None and (current.get("Metadata") or {}).get(SHA256_META) == sha256:
            return False
    content_type = content_type or "application/octet-stream"
    size = fileobj.seek(0, 2)
    fileobj.seek(0)
    if size <= _SINGLE_PUT_BYTES:  # one request; the transfer manager only pays off for big files
        store.client.put_object(
            Bucket=store.bucket,
            Key=key,
            Body=fileobj.read(),
            ContentType=content_type,
            Metadata={SHA256_META: sha256},
        )
        return True
    store.client.upload_fileobj(
        fileobj, store.bucket, key, ExtraArgs={"Metadata": {SHA256_META: sha256}, "ContentType": content_type}
    )
    return True
