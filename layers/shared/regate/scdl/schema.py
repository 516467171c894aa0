"""Table Schema model (Frictionless Table Schema + Validata ``custom_checks``) and the bundled schemas.

A pydantic model because schema files are outside input: a malformed one must fail loudly at load time,
not half-validate a CSV. Only what the validator uses is typed; unknown keys are kept (``extra="allow"``).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

_SCHEMA_PACKAGE = "regate.scdl.schemas"


class FieldConstraints(BaseModel):
    """Table Schema ``constraints`` of a field."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    required: bool = False
    pattern: str | None = None
    enum: list[Any] | None = None
    minimum: Any = None
    maximum: Any = None
    min_length: int | None = Field(default=None, alias="minLength")
    max_length: int | None = Field(default=None, alias="maxLength")


class SchemaField(BaseModel):
    """One Table Schema field."""

    model_config = ConfigDict(extra="allow")

    name: str
    type: str = "string"
    format: str = "default"
    title: str | None = None
    example: Any = None
    constraints: FieldConstraints = Field(default_factory=FieldConstraints)


class CustomCheck(BaseModel):
    """A Validata custom check: ``{"name": …, "params": {"column": …, …}}``."""

    model_config = ConfigDict(extra="allow")

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class TableSchema(BaseModel):
    """A Table Schema as published on schema.data.gouv.fr."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    name: str | None = None
    title: str | None = None
    version: str | None = None
    fields: list[SchemaField]
    missing_values: list[str] = Field(default_factory=lambda: [""], alias="missingValues")
    custom_checks: list[CustomCheck] = Field(default_factory=list)

    @property
    def field_names(self) -> tuple[str, ...]:
        """Column names in schema order."""
        return tuple(f.name for f in self.fields)


def _bundled_file(name: str, version: str) -> str:
    org, _, short = name.partition("/")
    return f"{org}_{short}_{version}_schema.json"


def bundled_schemas() -> dict[str, list[str]]:
    """``{"scdl/deliberations": ["2.1.5"], …}`` — what ``load_schema`` can resolve offline."""
    found: dict[str, list[str]] = {}
    for entry in resources.files(_SCHEMA_PACKAGE).iterdir():
        stem = entry.name
        if not stem.endswith("_schema.json"):
            continue
        org, short, version = stem[: -len("_schema.json")].split("_", 2)
        found.setdefault(f"{org}/{short}", []).append(version)
    for versions in found.values():
        versions.sort(key=lambda v: tuple(int(p) if p.isdigit() else 0 for p in v.split(".")))
    return found


def parse_schema(descriptor: dict[str, Any] | str | bytes) -> TableSchema:
    """Build a :class:`TableSchema` from a descriptor (dict or JSON text); ``ValueError`` if malformed."""
    try:
        data = json.loads(descriptor) if isinstance(descriptor, str | bytes) else descriptor
        return TableSchema.model_validate(data)
    except (json.JSONDecodeError, ValidationError, TypeError) as exc:
        raise ValueError(f"schéma Table Schema invalide : {exc}") from exc


def load_schema(name: str = "scdl/deliberations", version: str | None = None) -> TableSchema:
    """Load a bundled schema (``"scdl/deliberations"``, ``"2.1.5"``), or a JSON file when ``name`` is a path.

    ``version=None`` picks the newest bundled version of ``name`` (2.1.5 for délibérations: versions are
    pinned by what is bundled, never fetched).
    """
    path = Path(name)
    if name.endswith(".json") and path.is_file():
        return parse_schema(path.read_bytes())
    available = bundled_schemas()
    if name not in available:
        raise ValueError(f"schéma inconnu : {name!r} (disponibles : {', '.join(sorted(available))})")
    if version is None:
        version = available[name][-1]
    if version not in available[name]:
        raise ValueError(
            f"version {version!r} du schéma {name} non embarquée (disponibles : {available[name]})"
        )
    data = resources.files(_SCHEMA_PACKAGE).joinpath(_bundled_file(name, version)).read_bytes()
    return parse_schema(data)
