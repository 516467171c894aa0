"""Typed views of what the udata API v1 answers (only the fields Rég@te reads).

udata adds fields over time, so every model ignores unknown keys; but a field we rely on that is
missing or of the wrong type is a malformed response and must fail loudly (:class:`MalformedResponse`)
rather than let the publisher guess.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

T = TypeVar("T")


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Checksum(_Lenient):
    type: str
    value: str


class SchemaRef(_Lenient):
    """``{"name": "scdl/deliberations", "version": "2.1.5"}`` as declared on a resource."""

    name: str | None = None
    version: str | None = None
    url: str | None = None


class Resource(_Lenient):
    id: str
    title: str = ""
    description: str | None = None
    filetype: str = "file"
    type: str = "main"
    format: str | None = None
    mime: str | None = None
    filesize: int | None = None
    url: str | None = None
    latest: str | None = None
    checksum: Checksum | None = None
    schema_: SchemaRef | None = Field(default=None, alias="schema")
    extras: dict[str, Any] = Field(default_factory=dict)
    created_at: str | None = None
    last_modified: str | None = None


class OrganizationRef(_Lenient):
    id: str
    name: str | None = None
    slug: str | None = None


class Organization(_Lenient):
    id: str
    name: str
    slug: str | None = None
    business_number_id: str | None = None
    page: str | None = None
    uri: str | None = None


class Spatial(_Lenient):
    zones: list[str] | None = None
    granularity: str | None = None


class Dataset(_Lenient):
    id: str
    slug: str | None = None
    title: str
    description: str | None = None
    page: str | None = None
    uri: str | None = None
    license: str | None = None
    frequency: str | None = None
    private: bool = False
    tags: list[str] = Field(default_factory=list)
    extras: dict[str, Any] = Field(default_factory=dict)
    spatial: Spatial | None = None
    organization: OrganizationRef | None = None
    resources: list[Resource] = Field(default_factory=list)
    created_at: str | None = None
    last_modified: str | None = None
    deleted: str | None = None


class MeOrganization(_Lenient):
    id: str
    slug: str | None = None
    name: str | None = None


class Me(_Lenient):
    """``GET /me/``: who the key belongs to and which organisations it may publish for."""

    id: str
    slug: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    organizations: list[MeOrganization] = Field(default_factory=list)


class Page(_Lenient, Generic[T]):
    data: list[T]
    page: int = 1
    page_size: int = 20
    total: int = 0
    next_page: str | None = None


class DatagouvError(Exception):
    """A udata call that failed for good; ``status`` is the HTTP status (None for transport errors)."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class AuthError(DatagouvError):
    """The API key is missing, invalid, revoked or expired: nothing can be published, stop the run."""


class MalformedResponse(DatagouvError):
    """The portal answered something that is not what the API documents."""


M = TypeVar("M", bound=BaseModel)


def parse_model(model: type[M], payload: Any, what: str) -> M:
    """Validate ``payload`` against ``model``, turning pydantic errors into :class:`MalformedResponse`."""
    if not isinstance(payload, dict):
        raise MalformedResponse(f"{what}: expected a JSON object, got {type(payload).__name__}")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise MalformedResponse(f"{what}: malformed response ({where}: {first.get('msg')})") from exc
