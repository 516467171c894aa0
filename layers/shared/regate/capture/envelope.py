"""The raw document as stored at ``pastell/{id_e}/{id_d}/detail.json`` — the contract between
capture (which writes it) and normalisation (which reads it).

``detail`` is the document exactly as Pastell returned it (pull: ``GET …/document/{id_d}``; push: a
detail-shaped wrapper ``{"info": {...}, "data": <metadata.json>}``), ``metadata`` is the depot
``metadata.json`` as received (push only), ``entite`` the entity row from ``GET /entite`` (pull).
``capture`` is the small envelope: when, from where, which flux, and the sha256 of every file.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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


class RawDocument(BaseModel):
    capture: CaptureEnvelope
    detail: dict[str, Any]
    entite: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    pushes: list[dict[str, Any]] = Field(
        default_factory=list, description="Depot ZIPs that also delivered this act (push after pull)"
    )
