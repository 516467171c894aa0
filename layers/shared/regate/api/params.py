"""Query parameters of every route, as pydantic models — the one source for validation and OpenAPI.

Unknown parameters are a 400 (a typo such as ``?anne=2024`` must not silently return everything),
except the few that browsers, jQuery and link trackers add on their own (:data:`IGNORED_PARAMETERS`):
those are dropped, so a dashboard is never broken by a cache-buster. Malformed values are a 422 with a
French message naming the parameter. Repeated parameters are only accepted for list fields (``siren``);
lists may also be comma-separated.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from regate.api.errors import ApiError, invalid_value, unknown_parameter

SIREN_RE = re.compile(r"^\d{9}$")
MATIERE_RE = re.compile(r"^\d(\.\d{1,2}){0,3}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DEPARTEMENT_RE = re.compile(r"^(\d{2,3}|2[AB])$")

#: Columns a client may ask for with ``fields`` (JSON output), in output order.
DELIBERATION_FIELDS: tuple[str, ...] = (
    "acte_id",
    "siren",
    "annee",
    "nature",
    "nature_libelle",
    "classification_code",
    "coll_nom",
    "coll_siret",
    "delib_id",
    "delib_date",
    "delib_matiere_code",
    "delib_matiere_nom",
    "delib_objet",
    "budget_annee",
    "budget_nom",
    "pref_id",
    "pref_date",
    "vote_effectif",
    "vote_reel",
    "vote_pour",
    "vote_contre",
    "vote_abstention",
    "delib_url",
    "decision",
    "documents_publics",
    "annexes",
)

SortKey = Literal[
    "delib_date", "-delib_date", "siren", "-siren", "delib_id", "-delib_id", "acte_id", "-acte_id"
]
StatsGroup = Literal["matiere", "annee", "mois", "nature", "collectivite"]

#: Parameters clients add without the user asking, ignored on every route (never a 400). ``_`` is
#: jQuery's cache-buster (``cache: false``, and every JSONP call); ``callback`` is jQuery's JSONP callback
#: name — JSONP is not offered (CORS is open): the answer stays plain JSON; the others are link trackers
#: that mail and social platforms append to shared URLs.
IGNORED_PARAMETERS: frozenset[str] = frozenset(
    {
        "_",
        "callback",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
        "fbclid",
        "gclid",
    }
)

_TRUE = {"true", "1", "oui", "yes"}
_FALSE = {"false", "0", "non", "no"}


class ApiParams(BaseModel):
    """Base of every parameter model: no extra parameter, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class FiltresActes(ApiParams):
    """Filters shared by ``/v1/deliberations`` and ``/v1/stats``."""

    siren: list[str] = Field(
        default_factory=list,
        description=(
            "SIREN de la collectivité (9 chiffres) ; plusieurs valeurs possibles "
            "(répétées ou séparées par des virgules)"
        ),
    )
    annee: int | None = Field(default=None, ge=1900, le=2100, description="Année de la décision (DELIB_DATE)")
    date_min: date | None = Field(default=None, description="Date de décision minimale incluse (AAAA-MM-JJ)")
    date_max: date | None = Field(default=None, description="Date de décision maximale incluse (AAAA-MM-JJ)")
    matiere: str | None = Field(
        default=None, description="Préfixe du code matière ACTES (`7` ou `7.5`)", examples=["7.5"]
    )
    q: str | None = Field(
        default=None,
        max_length=200,
        description=(
            "Recherche plein texte (accents et casse ignorés ; tous les mots doivent figurer). Sur "
            "`/v1/deliberations` : dans l'objet et le texte des documents publiés (voir `in`), avec "
            '`"expression exacte"`, `préfixe*` et `-exclusion`, classée par pertinence, extraits surlignés '
            "(`recherche`) ; sur `/v1/stats` : dans l'objet"
        ),
    )
    publie: bool | None = Field(
        default=None, description="`true` : documents publiés ; `false` : métadonnées seules"
    )

    @field_validator("siren", mode="before")
    @classmethod
    def _siren(cls, value: Any) -> list[str]:
        return validate_sirens(value)

    @field_validator("matiere")
    @classmethod
    def _matiere(cls, value: str | None) -> str | None:
        if value is not None and not MATIERE_RE.match(value):
            raise ValueError("code matière attendu, par exemple `7` ou `7.5`")
        return value

    @field_validator("date_min", "date_max", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        if isinstance(value, str) and not DATE_RE.match(value):
            raise ValueError("date au format AAAA-MM-JJ attendue")
        return value

    @field_validator("publie", mode="before")
    @classmethod
    def _bool(cls, value: Any) -> Any:
        return _parse_bool(value)


class DeliberationsParams(FiltresActes):
    """``GET /v1/deliberations``."""

    fields: list[str] = Field(
        default_factory=list,
        description=(
            f"Colonnes à renvoyer (JSON), séparées par des virgules, parmi : {', '.join(DELIBERATION_FIELDS)}"
        ),
    )
    sort: SortKey = Field(
        default="-delib_date", description="Tri (`-` = décroissant) ; départage par acte_id"
    )
    limit: int | None = Field(default=None, ge=1, description="Taille de page (défaut 50, maximum 1000)")
    cursor: str | None = Field(
        default=None, max_length=2000, description="Curseur opaque renvoyé dans `next`"
    )
    format: Literal["json", "csv", "parquet"] = Field(
        default="json", description="`csv` (SCDL) et `parquet` renvoient tout l'ensemble filtré"
    )
    in_: Literal["objet", "documents", "both"] = Field(
        default="both",
        alias="in",
        description=(
            "Avec `q` : où chercher — `objet` (objet et numéro), `documents` (texte de l'acte et de ses "
            "annexes publiques, OCR compris), `both` (défaut)"
        ),
    )

    @field_validator("fields", mode="before")
    @classmethod
    def _fields(cls, value: Any) -> list[str]:
        values = _split_list(value)
        unknown = [v for v in values if v not in DELIBERATION_FIELDS]
        if unknown:
            raise ValueError(f"colonne(s) inconnue(s) : {', '.join(unknown)}")
        return list(dict.fromkeys(values))


class StatsParams(FiltresActes):
    """``GET /v1/stats``."""

    group: StatsGroup = Field(default="matiere", description="Regroupement des comptes")
    nature: int | None = Field(
        default=None,
        ge=1,
        le=7,
        description=(
            "Nature ACTES (1–7). Par défaut : délibérations (1), "
            "sauf `group=nature` (toutes natures publiques)"
        ),
    )


class CollectivitesParams(ApiParams):
    """``GET /v1/collectivites``."""

    siren: list[str] = Field(default_factory=list, description="Restreindre à ces SIREN")
    dep: str | None = Field(default=None, description="Code département (`35`, `2A`, `974`)")

    @field_validator("siren", mode="before")
    @classmethod
    def _siren(cls, value: Any) -> list[str]:
        return validate_sirens(value)

    @field_validator("dep")
    @classmethod
    def _dep(cls, value: str | None) -> str | None:
        if value is not None and not DEPARTEMENT_RE.match(value):
            raise ValueError("code département attendu (`35`, `2A`, `974`)")
        return value


class GeojsonParams(CollectivitesParams):
    """``GET /v1/collectivites.geojson``."""

    annee: int | None = Field(
        default=None,
        ge=1900,
        le=2100,
        description="Année ; sans elle, une entité par collectivité et par année",
    )


class MreportParams(ApiParams):
    """``GET /v1/mreport/{report}``."""

    dataid: str | None = Field(
        default=None, description="SIREN de la collectivité (ou de l'acheteur) ; absent : liste des entités"
    )
    format: Literal["json", "csv"] = Field(default="json", description='`json` (`{"data": [...]}`) ou `csv`')

    @field_validator("dataid")
    @classmethod
    def _dataid(cls, value: str | None) -> str | None:
        if value is not None and not SIREN_RE.match(value):
            raise ValueError("SIREN attendu (9 chiffres)")
        return value


class NoParams(ApiParams):
    """Routes without query parameters."""


def parse_params(model: type[ApiParams], raw: dict[str, list[str]]) -> Any:
    """Validate raw query parameters into ``model``; 400 for unknown names, 422 for bad values.

    Names in :data:`IGNORED_PARAMETERS` are dropped first (unless the model declares one)."""
    names = {(info.alias or name): name for name, info in model.model_fields.items()}  # ``in`` → ``in_``
    raw = {k: v for k, v in raw.items() if k in names or k not in IGNORED_PARAMETERS}
    allowed = list(names)
    unknown = [name for name in raw if name not in names]
    if unknown:
        raise unknown_parameter(unknown, allowed)
    values: dict[str, Any] = {}
    for name, items in raw.items():
        if _is_list_field(model, names[name]):
            values[name] = [part for item in items for part in item.split(",") if part != ""]
        elif len(items) > 1:
            raise invalid_value(name, "une seule valeur attendue")
        else:
            values[name] = items[0]
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise _french(exc) from None


def _is_list_field(model: type[ApiParams], name: str) -> bool:
    annotation = model.model_fields[name].annotation
    return get_origin(annotation) is list


def validate_sirens(value: Any) -> list[str]:
    """SIREN list (repeated or comma-separated), each exactly 9 digits, at most 100."""
    values = list(dict.fromkeys(_split_list(value)))
    for item in values:
        if not SIREN_RE.match(item):
            raise ValueError(f"« {item[:20]} » n'est pas un SIREN (9 chiffres attendus)")
    if len(values) > 100:
        raise ValueError("100 SIREN au plus")
    return values


def _split_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    return [part.strip() for item in value for part in str(item).split(",") if part.strip()]


def _parse_bool(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError("`true` ou `false` attendu")
    return value


_MESSAGES = {
    "int_parsing": "nombre entier attendu",
    "int_from_float": "nombre entier attendu",
    "greater_than_equal": "valeur trop petite (minimum {ge})",
    "less_than_equal": "valeur trop grande (maximum {le})",
    "literal_error": "valeur attendue parmi : {expected}",
    "date_from_datetime_parsing": "date au format AAAA-MM-JJ attendue",
    "date_parsing": "date au format AAAA-MM-JJ attendue",
    "date_from_datetime_inexact": "date au format AAAA-MM-JJ attendue",
    "string_too_long": "texte trop long (maximum {max_length} caractères)",
    "bool_parsing": "`true` ou `false` attendu",
}


def _french(exc: ValidationError) -> ApiError:
    """First pydantic error → one 422 naming the parameter, with a French reason."""
    error = exc.errors(include_url=False)[0]
    name = str(error["loc"][0]) if error["loc"] else "?"
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "value_error":
        reason = str(ctx.get("error", error["msg"]))
    elif kind in _MESSAGES:
        try:
            reason = _MESSAGES[kind].format(**ctx)
        except (KeyError, IndexError):
            reason = _MESSAGES[kind]
    else:
        reason = "valeur non reconnue"
    return invalid_value(name, reason)


def literal_values(annotation: Any) -> list[str]:
    """Members of a ``Literal`` (for OpenAPI enums and messages)."""
    return [str(v) for v in get_args(annotation)]
