"""What the search core accepts: documents and acts the caller has declared **public**.

The first rule (nothing private leaks) is enforced at the door: :class:`PublicDocument` and
:class:`~regate.search.index.IndexEntry` cannot be built for a withheld act or a private annex, so a
withheld document can be neither extracted nor indexed by mistake. The caller states the decision it
took (``decision="publier"`` for documents; ``publier`` or ``metadonnees`` for an act's metadata); any
other value is refused with :class:`NonPublic`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Role = Literal["acte", "annexe"]
_SHA256 = re.compile(r"[0-9a-f]{64}")


class NonPublic(ValueError):
    """The caller offered something that is not public: refused, never extracted nor indexed."""


class PublicDocument(BaseModel):
    """A published file of an act (main document or annex), as the caller decided it.

    ``decision`` is the act's publication decision and must be ``publier`` (documents are public only
    then); an annex must also carry ``annexe_publique=True`` (the collectivité or the operator may keep
    annexes private while the act is published). Build it with :meth:`declare`, which raises
    :class:`NonPublic` instead of a validation error for a withheld document.
    """

    model_config = ConfigDict(frozen=True)

    acte_id: str = Field(min_length=1, max_length=128)
    document_id: str = Field(min_length=1, max_length=128)
    sha256: str = Field(description="sha256 of the file bytes (the text store key)")
    role: Role
    nom: str = Field(min_length=1, max_length=512)
    decision: Literal["publier"]
    annexe_publique: bool = Field(default=False, description="Required True for an annex")

    @model_validator(mode="after")
    def _public_only(self) -> PublicDocument:
        if not _SHA256.fullmatch(self.sha256):
            raise ValueError(f"sha256 must be 64 lowercase hex digits: {self.sha256!r}")
        if self.role == "annexe" and not self.annexe_publique:
            raise ValueError("annexe non publique : refusée")
        return self

    @classmethod
    def declare(cls, **values: Any) -> PublicDocument:
        """Build a public document, or raise :class:`NonPublic` when it is not public."""
        decision = values.get("decision")
        if decision != "publier":
            raise NonPublic(
                f"document {values.get('document_id')!r} : décision {decision!r}, seuls les documents "
                "d'un acte publié (decision=publier) sont extraits et indexés"
            )
        if values.get("role") == "annexe" and values.get("annexe_publique") is not True:
            raise NonPublic(f"annexe {values.get('document_id')!r} non publique : refusée")
        return cls(**values)


def require_public_document(document: Any) -> PublicDocument:
    """Guard for entry points: only a :class:`PublicDocument` passes (a dict or a record does not)."""
    if not isinstance(document, PublicDocument):
        raise NonPublic(f"attendu un PublicDocument, reçu {type(document).__name__} : refusé")
    return document
