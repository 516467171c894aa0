"""What the DECP normalisation says about each record: findings, repairs, where the record came from.

Every finding carries a stable machine-readable ``code`` (operators and buyers filter on it), a JSON-ish
``path`` inside the record (``titulaires[0].titulaire.id``) and a French message meant for the buyer.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["marche", "contrat-concession"]
KINDS: tuple[Kind, ...] = ("marche", "contrat-concession")
Severity = Literal["error", "warning"]
Origin = Literal["document", "schema", "regle", "reparation", "perimetre"]


class Finding(BaseModel):
    """One problem found in a record (``error`` = the record is quarantined; ``warning`` = kept, reported)."""

    model_config = ConfigDict(frozen=True)

    code: str
    severity: Severity
    origin: Origin
    path: str = ""
    message: str
    detail: Any = Field(default=None, description="What was removed or the offending value, when useful")


class Repair(BaseModel):
    """One change made to a record before validation (each one is logged; published data are never edited
    beyond these documented repairs)."""

    model_config = ConfigDict(frozen=True)

    code: str
    path: str = ""
    message: str
    removed: Any = None


class SourceRef(BaseModel):
    """Where a record came from: the raw answer (key + version) and its position in that answer."""

    model_config = ConfigDict(frozen=True)

    key: str
    version_id: str | None = None
    plateforme: str | None = None
    siren: str | None = Field(default=None, description="SIREN the platform was asked for (perimeter check)")
    kind: Kind
    position: int


def format_path(parts: Any) -> str:
    """``deque(['titulaires', 0, 'titulaire', 'id'])`` → ``titulaires[0].titulaire.id``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def items_of(value: Any) -> list[Any]:
    """``value`` if it is a list, else nothing to iterate (outside data may hold anything)."""
    return value if isinstance(value, list) else []
