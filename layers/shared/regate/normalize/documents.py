"""Published documents: copies of raw files under ``public/documents/{document_id}/{nom}``.

Only acts whose decision is ``publier`` have documents there; ids are sha256-derived (see
:func:`regate.normalize.records.document_id_for`) so they cannot be enumerated. Withdrawn or withheld
acts' documents are deleted *before* anything else changes, so nothing private stays reachable.

Files Pastell could not serve (``capture.missing_files``) are never published: a missing annex is simply
absent; a missing main file turns ``publier`` into ``metadonnees`` (the SCDL row stays, without
``DELIB_URL``) with the motif ``fichier_principal_manquant`` — see :func:`apply_missing_files`.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable

from regate.actes.model import MAIN_FIELDS, Acte
from regate.normalize.decision import PublicationDecision
from regate.normalize.records import Avertissement, DocumentPublic
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


def apply_missing_files(acte: Acte, decision: PublicationDecision) -> PublicationDecision:
    """Documents are public only if the main file exists: without it, metadata only, and say why."""
    if not decision.documents_publics or not acte.main_file_missing():
        return decision
    lost = ", ".join(f"{m.field}/{m.num} {m.name}" for m in acte.fichiers_manquants if m.field in MAIN_FIELDS)
    return decision.model_copy(
        update={
            "decision": "metadonnees",
            "motif": "fichier_principal_manquant",
            "source": "capture",
            "detail": f"{decision.source}:{decision.motif}; absent de Pastell : {lost}",
        }
    )


def missing_file_warnings(acte: Acte) -> list[Avertissement]:
    """One warning per file Pastell could not serve (operators see them in the run report)."""
    warnings = []
    for missing in acte.fichiers_manquants:
        code = "fichier_principal_manquant" if missing.field in MAIN_FIELDS else "fichier_manquant"
        warnings.append(
            Avertissement(
                code=code,
                message=f"{missing.field}/{missing.num} « {missing.name} » absent de Pastell "
                f"({missing.motif}) : non publié",
            )
        )
    return warnings
