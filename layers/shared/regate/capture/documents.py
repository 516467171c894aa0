"""Writing raw documents: file bytes and ``detail.json`` (:class:`regate.capture.envelope.RawDocument`).

Both writes are idempotent: a file whose sha256 is already the current object's is not uploaded again, and a
``detail.json`` with the same canonical bytes is not rewritten, so re-capturing an unchanged document leaves
the versioned bucket exactly as it was.
"""

from __future__ import annotations

import hashlib
from typing import Any, BinaryIO

from regate.capture.envelope import CapturedFile, RawDocument
from regate.storage.layout import document_detail_key
from regate.storage.store import SHA256_META, ObjectStore, dumps_canonical

_SINGLE_PUT_BYTES = 8 * 1024 * 1024


def content_sha256(
    detail: dict[str, Any], files: list[CapturedFile], metadata: dict[str, Any] | None = None
) -> str:
    """Digest of what the source said (detail, metadata, file digests): equal ⇒ nothing changed."""
    payload = {
        "detail": detail,
        "metadata": metadata,
        "files": [[f.field, f.num, f.name, f.sha256] for f in sorted(files, key=lambda f: (f.field, f.num))],
    }
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


def write_raw_document(store: ObjectStore, document: RawDocument) -> bool:
    """Write ``detail.json``; False when the stored bytes were already identical (no new version)."""
    body = dumps_canonical(document.model_dump(mode="json"))
    key = document_detail_key(document.capture.id_e, document.capture.id_d)
    return store.put_if_changed(key, body, content_type="application/json").written


def put_stream_if_changed(
    store: ObjectStore,
    key: str,
    fileobj: BinaryIO,
    sha256: str,
    content_type: str = "application/octet-stream",
) -> bool:
    """Upload a (possibly 150 MB) spooled file unless the current object has the same sha256."""
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
