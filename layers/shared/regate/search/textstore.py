"""The text store: one extracted text per document content, ``_text/{sha256}.json`` in the curated bucket.

Keyed by the sha256 of the file bytes, so an unchanged file is never extracted again (re-normalising,
reindexing, an objet edit or the same annex attached to two acts all reuse it). A text cut off by a bound
(``partiel``) is kept too; :meth:`TextStore.ensure` redoes it only when asked (e.g. with a larger budget).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from regate.search.documents import PublicDocument, require_public_document
from regate.search.extract import ExtractedText, ExtractionLimits, ExtractionWorker, extract_public_document
from regate.storage import layout
from regate.storage.store import ObjectStore, dumps_canonical


class TextStore:
    """Extracted texts over an :class:`ObjectStore` (the curated bucket)."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def get(self, sha256: str) -> ExtractedText | None:
        found = self.store.get_with_etag(layout.text_key(sha256))
        if found is None:
            return None
        try:
            return ExtractedText.model_validate(json.loads(found[0]))
        except ValueError:  # a damaged object is redone, not trusted
            return None

    def put(self, text: ExtractedText) -> bool:
        """Write the text (no new S3 version when identical); ``True`` if written."""
        return self.store.put_if_changed(
            layout.text_key(text.sha256), dumps_canonical(text.model_dump(mode="json")), "application/json"
        ).written

    def ensure(
        self,
        document: PublicDocument,
        read_bytes: Callable[[], bytes],
        limits: ExtractionLimits,
        worker: ExtractionWorker | None = None,
        redo_partial: bool = False,
    ) -> tuple[ExtractedText, bool]:
        """The text of a **public** document: from the store, else extracted and stored.

        Returns ``(text, extracted_now)``. ``read_bytes`` is called only when an extraction is needed.
        Failures (``echec``) are stored too, so a hostile file is not retried on every run.
        """
        document = require_public_document(document)
        known = self.get(document.sha256)
        if known is not None and not (redo_partial and known.statut != "complet"):
            return known, False
        text = extract_public_document(document, read_bytes(), limits, worker)
        if text.motif != "empreinte_differente":
            self.put(text)
        return text, True

    def delete(self, sha256: str) -> bool:
        """Forget a text (when no published document holds that content any more)."""
        return self.store.delete(layout.text_key(sha256))
