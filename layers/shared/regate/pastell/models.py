"""Typed views of the Pastell API v2 payloads the harvester reads (pastell-api.md §6–§8).

Pastell sends strings everywhere (ids, dates), bare JSON arrays, and sometimes an error object with HTTP 200
(non-UTF-8 data). These models validate exactly what capture relies on and keep every other key (``extra``
allowed) so nothing received is lost: the raw payload is stored as received, the model only guards it.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: ``YYYY-MM-DD HH:MM:SS`` as Pastell writes timestamps (platform local time, no zone).
PASTELL_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def _non_empty_id(value: Any, what: str) -> str:
    """Ids are opaque strings; a number or an empty value means the payload is not what we expect."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return value


class Entite(BaseModel):
    """A row of ``GET /entite`` (§6)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id_e: str
    denomination: str = ""
    siren: str = ""
    type: str = ""
    entite_mere: str = "0"
    centre_de_gestion: str = "0"
    is_active: bool = True

    @field_validator("id_e", mode="before")
    @classmethod
    def _id(cls, value: Any) -> str:
        return _non_empty_id(value, "id_e")

    @field_validator("siren", "denomination", "type", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value


class DocumentRow(BaseModel):
    """A row of ``GET /entite/{id_e}/document`` (§7): enough to decide whether the detail changed."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id_d: str
    id_e: str
    type: str = ""
    last_action: str = ""
    last_action_date: str = ""
    modification: str = ""
    titre: str = ""

    @field_validator("id_d", "id_e", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> str:
        return _non_empty_id(value, "id")

    @field_validator("type", "last_action", "last_action_date", "modification", "titre", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value

    def fingerprint(self) -> dict[str, str]:
        """What changes when Pastell changes the document: state, state date, modification date."""
        return {
            "last_action": self.last_action,
            "last_action_date": self.last_action_date,
            "modification": self.modification,
        }


class DocumentInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    id_d: str
    type: str = ""
    titre: str = ""
    creation: str = ""
    modification: str = ""

    @field_validator("id_d", mode="before")
    @classmethod
    def _id(cls, value: Any) -> str:
        return _non_empty_id(value, "info.id_d")


class LastAction(BaseModel):
    model_config = ConfigDict(extra="allow")

    action: str = ""
    message: str = ""
    date: str = ""


class DocumentDetail(BaseModel):
    """``GET /entite/{id_e}/document/{id_d}`` (§8). ``data`` holds only fields ever set."""

    model_config = ConfigDict(extra="allow")

    info: DocumentInfo
    data: dict[str, Any] = Field(default_factory=dict)
    last_action: LastAction | None = None

    @field_validator("data", mode="before")
    @classmethod
    def _empty_list_is_empty_dict(cls, value: Any) -> Any:
        # PHP serialises an empty associative array as ``[]``.
        return {} if value == [] else value

    def file_names(self, field: str) -> list[str]:
        """Original file names of a file field (``[]`` when absent); rejects non-string entries."""
        value = self.data.get(field)
        if value in (None, "", []):
            return []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
            raise ValueError(f"data.{field} must be a list of file names, got {value!r}")
        return list(value)
