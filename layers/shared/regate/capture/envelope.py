"""The raw document as stored at ``pastell/{id_e}/{id_d}/detail.json`` — the contract between
capture (which writes it) and normalisation (which reads it).

``detail`` is the document exactly as Pastell returned it (pull: ``GET …/document/{id_d}``; push: a
detail-shaped wrapper ``{"info": {...}, "data": <metadata.json>}``), ``metadata`` is the depot
``metadata.json`` as received (push only), ``entite`` the entity row from ``GET /entite`` (pull).
``capture`` is the small envelope: when, from where, which flux, and the sha256 of every file.

Two optional parts (absent from documents that do not need them, so older envelopes stay byte-identical):
``missing_files`` lists files Pastell said no longer exist (``Ce fichier n'existe pas``) — the act is
captured without them; ``removed`` says the document was deleted in Pastell (found by reconciliation, or a
404 on its detail): the detail stays as last received and normalisation withdraws the act.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer

ENVELOPE_VERSION = 1


class CapturedFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    field: str = Field(
        description="Pastell form field (arrete, acte_tamponne, autre_document_attache, aractes…)"
    )
    num: int = Field(ge=0, description="Index in the field's file array")
    name: str = Field(description="Original file name")
    sha256: str
    size: int = Field(ge=0)
    key: str = Field(description="Key of the bytes in the raw bucket")


class MissingFile(BaseModel):
    """A file the detail names but Pastell cannot serve: captured as missing, not retried."""

    model_config = ConfigDict(frozen=True)

    field: str
    num: int = Field(ge=0)
    name: str = Field(description="File name the detail gives for the slot")
    status: int | None = Field(default=None, description="HTTP status of the download (400 or 404)")
    reason: str = Field(default="fichier_inexistant", description="Machine-readable code")
    message: str = Field(default="", description="Pastell's answer, e.g. 400 Ce fichier n'existe pas")


class Removal(BaseModel):
    """The document no longer exists in Pastell."""

    detected_at: str = Field(description="UTC ISO 8601 of the run that found it gone")
    reason: Literal["supprime_dans_pastell"] = "supprime_dans_pastell"
    evidence: str = Field(description="What proved it, e.g. the 404 of GET …/document/{id_d}")


class CaptureEnvelope(BaseModel):
    version: int = ENVELOPE_VERSION
    source: Literal["pull", "push"]
    captured_at: str = Field(description="UTC ISO 8601 of the capture that last changed this document")
    origin: str = Field(description="Pastell root URL (pull) or s3://bucket/inbox/… key (push)")
    flux: str
    id_e: str
    id_d: str
    siren: str | None = None
    files: list[CapturedFile] = Field(default_factory=list)
    content_sha256: str = Field(
        description="sha256 over the canonical detail and the file digests: equal ⇒ nothing changed"
    )
    listing: dict[str, str] | None = Field(
        default=None,
        description="Pull: last_action, last_action_date, modification of the listing row when captured; "
        "an equal row later means unchanged (no detail or file call)",
    )
    act_key: str | None = Field(
        default=None,
        description="Act identity (siren + numéro + date) indexed at _state/acts/{siren}/{act_key}",
    )
    missing_files: list[MissingFile] = Field(
        default_factory=list, description="Files Pastell says do not exist (not in ``files``)"
    )
    removed: Removal | None = Field(default=None, description="Set when the document was deleted in Pastell")

    @model_serializer(mode="wrap")
    def _omit_empty(self, handler: Any) -> Any:
        """Envelopes without missing files or removal serialise exactly as before these fields existed."""
        data = handler(self)
        if isinstance(data, dict):
            if not data.get("missing_files"):
                data.pop("missing_files", None)
            if data.get("removed") is None:
                data.pop("removed", None)
        return data


class RawDocument(BaseModel):
    capture: CaptureEnvelope
    detail: dict[str, Any]
    entite: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    pushes: list[dict[str, Any]] = Field(
        default_factory=list, description="Depot ZIPs that also delivered this act (push after pull)"
    )
