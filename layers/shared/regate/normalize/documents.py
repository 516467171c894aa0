"""Published documents: copies of raw files under ``public/documents/{document_id}/{nom}``.

Only acts whose decision is ``publier`` have documents there; ids are sha256-derived (see
:func:`regate.normalize.records.document_id_for`) so they cannot be enumerated. Withdrawn or withheld
acts' documents are deleted *before* anything else changes, so nothing private stays reachable.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable

from regate.normalize.records import DocumentPublic
from regate.storage import layout
from regate.storage.store import SHA256_META, ObjectStore


def public_key(document: DocumentPublic) -> str:
    return layout.public_document_key(document.document_id, document.nom)


def publish_documents(
    raw: ObjectStore, curated: ObjectStore, documents: Iterable[DocumentPublic]
) -> list[str]:
    """Copy the act's public files; skips those already there with the same sha256 (no new version)."""
    written: list[str] = []
    for document in documents:
        key = public_key(document)
        head = curated.head(key)
        if head is not None and (head.get("Metadata") or {}).get(SHA256_META) == document.sha256:
            continue
        content_type = mimetypes.guess_type(document.nom)[0] or "application/octet-stream"
        result = curated.put_if_changed(key, raw.get_bytes(document.raw_key), content_type=content_type)
        if result.written:
            written.append(key)
    return written


def delete_documents(curated: ObjectStore, keys: Iterable[str]) -> list[str]:
    """Remove public copies (idempotent)."""
    return [key for key in keys if curated.delete(key)]
