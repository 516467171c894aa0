"""The seed file: accounts, entities and documents the simulator starts with (format in README.md).

A seed is outside input (operators edit it by hand), so it is validated strictly: unknown keys, dangling
references, non-string form values or unsorted histories are rejected with a message that names the
offending document, instead of a simulator that silently serves something else.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from regate_local.pastell_sim.files import (
    ActContext,
    acte_pdf,
    acte_tampon_pdf,
    annexe_pdf,
    aractes_xml,
    bordereau_pdf,
    make_pdf,
    type_piece_json,
)
from regate_local.pastell_sim.flux import ACT_FLUX, STATES

TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ID_D_RE = re.compile(
    r"^([0-9A-Za-z]{7}|[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})$"
)

FileKind = Literal[
    "acte",
    "acte-tampon",
    "annexe",
    "annexe-tampon",
    "bordereau",
    "aractes",
    "type-piece",
    "pdf",
    "text",
    "base64",
    "missing",
]


class SeedError(ValueError):
    """A seed file that cannot be used; the message says which file and which entry."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class SeedPlatform(_Strict):
    version: str = "4.1.6"
    revision: str = "a1b2c3d"
    last_changed_date: str = "2025-03-18 14:05:12"


class SeedDroits(_Strict):
    """Rights granted on an entity and its descendants (``id_e`` "0" = the whole platform).

    ``*:lecture`` / ``*:edition`` stand for every installed flux (a shorthand of the seed, not Pastell's).
    """

    id_e: str = Field(pattern=r"^\d+$")
    droits: list[str]


class SeedAccount(_Strict):
    id_u: str = Field(pattern=r"^[1-9]\d*$")
    login: str = Field(min_length=1)
    password: str = Field(min_length=1)
    token: str | None = None
    nom: str = ""
    prenom: str = ""
    email: str = ""
    active: bool = True
    roles: list[SeedDroits] = Field(default_factory=list)


class SeedEntity(_Strict):
    id_e: str = Field(pattern=r"^[1-9]\d*$")
    denomination: str = Field(min_length=1)
    siren: str = Field(pattern=r"^(\d{9})?$")
    type: Literal["collectivite", "centre_de_gestion", "service", "fournisseur"] = "collectivite"
    centre_de_gestion: str = Field(default="0", pattern=r"^\d+$")
    entite_mere: str = Field(default="0", pattern=r"^\d+$")
    is_active: bool = True
    date_inscription: str = "2019-01-01 00:00:00"
    departement: str = Field(default="", pattern=r"^(\d{2,3}|2[AB])?$")

    @field_validator("date_inscription")
    @classmethod
    def _ts(cls, value: str) -> str:
        if not TIMESTAMP_RE.match(value):
            raise ValueError("expected 'YYYY-MM-DD HH:MM:SS'")
        return value


class SeedFile(_Strict):
    """One file of a slot, described by kind; bytes are generated when the seed is loaded."""

    kind: FileKind
    name: str | None = None
    text: str | None = None
    content_base64: str | None = None

    @model_validator(mode="after")
    def _needs(self) -> SeedFile:
        if self.kind in ("text", "pdf") and self.text is None:
            raise ValueError(f"kind {self.kind!r} needs 'text'")
        if self.kind == "base64":
            if self.content_base64 is None or self.name is None:
                raise ValueError("kind 'base64' needs 'name' and 'content_base64'")
            try:
                base64.b64decode(self.content_base64, validate=True)
            except binascii.Error as exc:
                raise ValueError(f"content_base64 is not base64: {exc}") from exc
        if self.kind in ("text", "missing") and self.name is None:
            raise ValueError(f"kind {self.kind!r} needs 'name'")
        return self


class SeedHistory(_Strict):
    action: str = Field(min_length=1)
    date: str
    message: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _pair(cls, value: Any) -> Any:
        """Accept the compact ``["acquiter-tdt", "2024-01-18 10:02:13"]`` form."""
        if isinstance(value, list | tuple):
            if len(value) not in (2, 3):
                raise ValueError("a history entry is [action, 'YYYY-MM-DD HH:MM:SS'(, message)]")
            return dict(zip(("action", "date", "message"), value, strict=False))
        return value

    @field_validator("date")
    @classmethod
    def _ts(cls, value: str) -> str:
        if not TIMESTAMP_RE.match(value):
            raise ValueError(f"{value!r}: expected 'YYYY-MM-DD HH:MM:SS'")
        return value

    @property
    def resolved_message(self) -> str:
        return (
            self.message
            if self.message is not None
            else STATES.get(self.action, (self.action, self.action))[1]
        )


class SeedDocument(_Strict):
    id_d: str
    id_e: str
    type: str
    data: dict[str, str] = Field(default_factory=dict)
    files: dict[str, list[SeedFile]] = Field(default_factory=dict)
    history: list[SeedHistory] = Field(min_length=1)

    @field_validator("id_d")
    @classmethod
    def _id_d(cls, value: str) -> str:
        if not ID_D_RE.match(value):
            raise ValueError(f"{value!r}: id_d is a 7-character [0-9A-Za-z] string or a lower-case UUIDv4")
        return value

    @field_validator("type")
    @classmethod
    def _flux(cls, value: str) -> str:
        if value not in ACT_FLUX:
            raise ValueError(f"unknown flux {value!r} (installed: {', '.join(ACT_FLUX)})")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> SeedDocument:
        dates = [h.date for h in self.history]
        if dates != sorted(dates):
            raise ValueError(f"document {self.id_d}: history must be in chronological order")
        overlap = set(self.data) & set(self.files)
        if overlap:
            raise ValueError(f"document {self.id_d}: {sorted(overlap)} are both data and files")
        return self


class PastellSeed(_Strict):
    version: Literal[1] = 1
    platform: SeedPlatform = Field(default_factory=SeedPlatform)
    accounts: list[SeedAccount]
    entities: list[SeedEntity]
    documents: list[SeedDocument] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> PastellSeed:
        ids = [e.id_e for e in self.entities]
        if len(ids) != len(set(ids)):
            raise ValueError("duplicate id_e among entities")
        known = set(ids)
        for e in self.entities:
            if e.entite_mere != "0" and e.entite_mere not in known:
                raise ValueError(f"entity {e.id_e}: entite_mere {e.entite_mere} does not exist")
            if e.centre_de_gestion != "0" and e.centre_de_gestion not in known:
                raise ValueError(f"entity {e.id_e}: centre_de_gestion {e.centre_de_gestion} does not exist")
        logins = [a.login for a in self.accounts]
        if len(logins) != len(set(logins)) or len({a.id_u for a in self.accounts}) != len(logins):
            raise ValueError("duplicate login or id_u among accounts")
        tokens = [a.token for a in self.accounts if a.token]
        if len(tokens) != len(set(tokens)):
            raise ValueError("duplicate token among accounts")
        for a in self.accounts:
            for r in a.roles:
                if r.id_e != "0" and r.id_e not in known:
                    raise ValueError(f"account {a.login}: role on unknown entity {r.id_e}")
        seen: set[str] = set()
        for d in self.documents:
            if d.id_d in seen:
                raise ValueError(f"duplicate id_d {d.id_d}")
            seen.add(d.id_d)
            if d.id_e not in known:
                raise ValueError(f"document {d.id_d}: entity {d.id_e} does not exist")
        return self


def _format_errors(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors()[:20]:
        where = ".".join(str(p) for p in err["loc"]) or "(root)"
        lines.append(f"  - {where}: {err['msg']}")
    more = len(exc.errors()) - 20
    if more > 0:
        lines.append(f"  … and {more} more")
    return "\n".join(lines)


def parse_seed(raw: bytes | str, origin: str = "<seed>") -> PastellSeed:
    """Validate seed JSON; raise :class:`SeedError` with every problem listed."""
    try:
        payload = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SeedError(f"seed file {origin}: not valid JSON ({exc})") from exc
    if not isinstance(payload, dict):
        raise SeedError(
            f"seed file {origin}: the top level must be an object with accounts/entities/documents"
        )
    try:
        return PastellSeed.model_validate(payload)
    except ValidationError as exc:
        raise SeedError(f"seed file {origin} is invalid:\n{_format_errors(exc)}") from exc


def load_seed(path: Path | str) -> PastellSeed:
    """Read and validate a seed file (see README.md for the format)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise SeedError(f"seed file {p}: cannot be read ({exc.strerror or exc})") from exc
    return parse_seed(raw, origin=str(p))


def default_seed() -> PastellSeed:
    """The embedded Breton seed (``seed/default.json``)."""
    raw = resources.files("regate_local.pastell_sim").joinpath("seed/default.json").read_bytes()
    return parse_seed(raw, origin="regate_local.pastell_sim:seed/default.json")


# --- bytes generation -------------------------------------------------------------------------------------


def _stem(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else name


def act_context(
    doc: SeedDocument | Any, entity: SeedEntity | Any, data: dict[str, Any] | None = None
) -> ActContext:
    """Collect what the generators need; file names come from the document's file slots."""
    values = data if data is not None else doc.data
    files = getattr(doc, "files", {}) or {}

    def names(field: str) -> tuple[str, ...]:
        out = []
        for f in files.get(field, []):
            out.append(f.name if isinstance(f, SeedFile) else f)
        return tuple(n for n in out if n)

    numero = values.get("numero_de_lacte") or doc.id_d
    main = names("arrete")
    annexes = names("autre_document_attache")
    return ActContext(
        denomination=entity.denomination,
        siren=entity.siren,
        departement=entity.departement or "000",
        numero=numero,
        objet=values.get("objet", ""),
        nature=values.get("acte_nature", "6"),
        date_de_lacte=values.get("date_de_lacte", "1970-01-01"),
        classification=values.get("classification", "9.2"),
        date_ar=values.get("date_ar") or None,
        annex_names=annexes,
        main_name=main[0] if main else f"{numero}.pdf",
        document_papier=bool(values.get("document_papier")),
        acte_unique_id=values.get("acte_unique_id") or None,
    )


def default_file_name(field: str, kind: str, index: int, ctx: ActContext) -> str:
    """Names Pastell gives to the files it produces (§14)."""
    if kind == "acte":
        return f"{ctx.numero}.pdf"
    if kind == "acte-tampon":
        return f"{_stem(ctx.main_name)}-tampon.pdf"
    if kind == "annexe":
        return f"{ctx.numero}_annexe_{index + 1}.pdf"
    if kind == "annexe-tampon":
        base = ctx.annex_names[index] if index < len(ctx.annex_names) else f"annexe_{index + 1}.pdf"
        return f"{_stem(base)}-tampon.pdf"
    if kind == "bordereau":
        return f"{ctx.numero}-bordereau-tdt.pdf"
    if kind == "aractes":
        return f"{ctx.numero}-ar-actes.xml"
    if kind == "type-piece":
        return "type_piece.json"
    return f"{field}_{index}"


def generate_file(spec: SeedFile, field: str, index: int, ctx: ActContext) -> tuple[str, bytes | None]:
    """(original name, bytes) of one seeded file; ``None`` bytes = slot set but file missing on disk."""
    name = spec.name or default_file_name(field, spec.kind, index, ctx)
    kind = spec.kind
    content: bytes | None
    if kind == "acte":
        content = acte_pdf(ctx)
    elif kind == "acte-tampon":
        content = acte_tampon_pdf(ctx)
    elif kind == "annexe":
        content = annexe_pdf(ctx, index, _stem(name))
    elif kind == "annexe-tampon":
        base = ctx.annex_names[index] if index < len(ctx.annex_names) else name
        content = annexe_pdf(ctx, index, _stem(base), stamped=True)
    elif kind == "bordereau":
        content = bordereau_pdf(ctx)
    elif kind == "aractes":
        content = aractes_xml(ctx)
    elif kind == "type-piece":
        content = type_piece_json(ctx)
    elif kind == "pdf":
        content = make_pdf((spec.text or "").splitlines())
    elif kind == "text":
        content = (spec.text or "").encode("utf-8")
    elif kind == "base64":
        content = base64.b64decode(spec.content_base64 or "")
    else:  # missing
        content = None
    return name, content
