"""Read API of the marchés publics (DECP): routes, parameters, DuckDB queries, handlers — in one module.

* ``GET /v1/marches`` — contracts (marchés and concessions) from the yearly Parquet tables
  ``public/marches/{contrats|titulaires}/annee={annee}/data.parquet`` (see :mod:`.lake`): filters, ``fields``,
  ``sort``, keyset ``cursor``, ``format=json|csv`` (CSV = the reusers' view of :mod:`.table`);
* ``GET /v1/marches/{siret}/{annee}.json`` — the curated DECP file, byte for byte (``all`` = national file);
* ``GET /v1/marches/stats`` — counts and amounts by CPV division, procédure, month (and nature, year, buyer).

Wiring: :func:`route_specs` is appended to :data:`regate.api.routes.ROUTES` (so OpenAPI documents the routes),
:func:`register` adds the handlers to the resolver. Every user value reaches SQL as a bound parameter;
the only SQL text comes from the fixed tables of this module.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, field_validator

from regate.api.dataset import Partition, PartitionChanged, data_version
from regate.api.errors import ApiError, invalid_value, not_found
from regate.api.params import ApiParams, NoParams, _split_list
from regate.api.query import Cursor as ApiCursor
from regate.api.query import search_tokens
from regate.flux.marches import table
from regate.storage import layout

if TYPE_CHECKING:
    from regate.api.app import ApiServices
    from regate.api.resolver import RequestScopedResolver

SIRET_OR_SIREN_RE = re.compile(r"^(\d{9}|\d{14})$")
SIRET_RE = re.compile(r"^\d{14}$")
CPV_PREFIX_RE = re.compile(r"^\d{1,8}$")
YEAR_RE = re.compile(r"^\d{4}$")
CSV_MAX_ROWS = 50_000

#: JSON columns, in output order: the contract table plus the titulaires' identifiers.
MARCHE_FIELDS: tuple[str, ...] = (*table.ContratRow.model_fields, "titulaires")
MarchesSort = Literal["-date", "date", "-montant", "montant", "uid", "-uid"]
MarchesGroup = Literal["cpv", "procedure", "mois", "nature", "annee", "acheteur"]

_DATE = "coalesce(date_notification, date_signature, DATE '1900-01-01')"
_AMOUNT = "coalesce(montant, valeur_globale)"
#: sort key → (SQL expression, DuckDB type used to re-bind the cursor value)
SORTS: dict[str, tuple[str, str]] = {
    "date": (_DATE, "DATE"),
    "montant": (f"coalesce({_AMOUNT}, -1)", "DOUBLE"),
    "uid": ("uid", "VARCHAR"),
}
TIE = "(kind || ':' || uid)"
GROUPS: dict[str, str] = {
    "cpv": "coalesce(left(code_cpv, 2), '')",
    "procedure": "procedure",
    "mois": f"strftime({_DATE}, '%Y-%m')",
    "nature": "nature",
    "annee": "CAST(annee AS VARCHAR)",
    "acheteur": "acheteur_siret",
}


@lru_cache(maxsize=1)
def schema_enums() -> dict[str, tuple[str, ...]]:
    """``nature`` and ``procedure`` values of both kinds, read from the DECP schema (one home per rule)."""
    from regate.flux.marches.schema import dereferenced

    found: dict[str, list[str]] = {"nature": [], "procedure": []}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in found and isinstance(value, dict) and isinstance(value.get("enum"), list):
                    found[key].extend(v for v in value["enum"] if v not in found[key])
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(dereferenced())
    return {k: tuple(v) for k, v in found.items()}


# ------------------------------------------------------------------------------------ parameters
class FiltresMarches(ApiParams):
    """Filters shared by ``/v1/marches`` and ``/v1/marches/stats``."""

    acheteur: list[str] = Field(
        default_factory=list,
        description="SIRET (14 chiffres) ou SIREN (9 chiffres) de l'acheteur ou de l'autorité concédante ; "
        "plusieurs valeurs possibles",
    )
    titulaire: list[str] = Field(
        default_factory=list, description="SIRET (14 chiffres) d'un titulaire ou concessionnaire"
    )
    annee: int | None = Field(
        default=None, ge=2000, le=2100, description="Année de notification (ou de signature d'une concession)"
    )
    nature: str | None = Field(
        default=None, max_length=80, description="Nature du contrat (valeur du schéma)"
    )
    procedure: str | None = Field(default=None, max_length=120, description="Procédure (valeur du schéma)")
    cpv: str | None = Field(default=None, description="Préfixe du code CPV (1 à 8 chiffres, `45` ou `4521`)")
    montant_min: float | None = Field(default=None, ge=0, description="Montant initial minimal (€ HT)")
    montant_max: float | None = Field(default=None, ge=0, description="Montant initial maximal (€ HT)")
    q: str | None = Field(
        default=None, max_length=200, description="Mots de l'objet (accents et casse ignorés ; tous requis)"
    )

    @field_validator("acheteur", mode="before")
    @classmethod
    def _acheteur(cls, value: Any) -> list[str]:
        return _identifiers(value, SIRET_OR_SIREN_RE, "SIRET (14 chiffres) ou SIREN (9 chiffres)")

    @field_validator("titulaire", mode="before")
    @classmethod
    def _titulaire(cls, value: Any) -> list[str]:
        return _identifiers(value, SIRET_RE, "SIRET (14 chiffres)")

    @field_validator("nature", "procedure")
    @classmethod
    def _enum(cls, value: str | None, info: Any) -> str | None:
        allowed = schema_enums()[info.field_name]
        if value is not None and value not in allowed:
            raise ValueError(f"valeur attendue parmi : {', '.join(allowed)}")
        return value

    @field_validator("cpv")
    @classmethod
    def _cpv(cls, value: str | None) -> str | None:
        if value is not None and not CPV_PREFIX_RE.match(value):
            raise ValueError("préfixe CPV attendu (1 à 8 chiffres, par exemple `45`)")
        return value

    @field_validator("montant_max")
    @classmethod
    def _range(cls, value: float | None, info: Any) -> float | None:
        low = info.data.get("montant_min")
        if value is not None and low is not None and low > value:
            raise ValueError("inférieur à montant_min")
        return value


class MarchesParams(FiltresMarches):
    """``GET /v1/marches``."""

    fields: list[str] = Field(
        default_factory=list,
        description="Colonnes à renvoyer (JSON), séparées par des virgules, parmi : "
        + ", ".join(MARCHE_FIELDS),
    )
    sort: MarchesSort = Field(default="-date", description="Tri (`-` = décroissant) ; départage par uid")
    limit: int | None = Field(default=None, ge=1, description="Taille de page (défaut 50, maximum 1000)")
    cursor: str | None = Field(
        default=None, max_length=2000, description="Curseur opaque renvoyé dans `next`"
    )
    format: Literal["json", "csv"] = Field(
        default="json",
        description=f"`csv` : tout l'ensemble filtré (vue réutilisateurs, {CSV_MAX_ROWS} lignes au plus)",
    )

    @field_validator("fields", mode="before")
    @classmethod
    def _fields(cls, value: Any) -> list[str]:
        values = _split_list(value)
        unknown = [v[:40] for v in values if v not in MARCHE_FIELDS]
        if unknown:
            raise ValueError(f"colonne(s) inconnue(s) : {', '.join(unknown)}")
        return list(dict.fromkeys(values))


class MarchesStatsParams(FiltresMarches):
    """``GET /v1/marches/stats``."""

    group: MarchesGroup = Field(
        default="cpv",
        description="Regroupement : division CPV (2 chiffres), procédure, mois de notification…",
    )


def _identifiers(value: Any, pattern: re.Pattern[str], what: str) -> list[str]:
    values = list(dict.fromkeys(_split_list(value)))
    for item in values:
        if not pattern.match(item):
            raise ValueError(f"« {item[:20]} » n'est pas un {what}")
    if len(values) > 100:
        raise ValueError("100 identifiants au plus")
    return values


# ---------------------------------------------------------------------------------------- models
class MarchesPage(BaseModel):
    data: list[dict[str, Any]]
    total: int
    next: str | None = None


class MarchesStatRow(BaseModel):
    cle: str
    nombre: int
    montant_total: float | None = None


class MarchesStats(BaseModel):
    group: str
    data: list[MarchesStatRow]
    total: int


# ----------------------------------------------------------------------------------------- routes
def route_specs(route_spec: Any, path_param: Any) -> tuple[Any, ...]:
    """The marchés routes as :class:`regate.api.routes.RouteSpec` (classes passed in: no import cycle)."""
    return (
        route_spec(
            "/v1/marches",
            "marches",
            "Recherche de marchés publics",
            "Contrats publiés (marchés et concessions, DECP 2024) : valeurs initiales et après la dernière "
            "modification, titulaires. Pagination par curseur ; `format=csv` renvoie tout l'ensemble filtré.",
            MarchesParams,
            MarchesPage,
            content_types=("application/json", "text/csv"),
            statuses=(200, 304, 400, 404, 413, 422),
            tags=("marchés publics",),
        ),
        route_spec(
            "/v1/marches/stats",
            "marches_stats",
            "Statistiques des marchés publics",
            "Nombre de contrats et montant initial total par division CPV, procédure, mois, nature, année "
            "ou acheteur.",
            MarchesStatsParams,
            MarchesStats,
            tags=("marchés publics",),
        ),
        route_spec(
            "/v1/marches/{siret}/{annee}.json",
            "marches_decp",
            "Fichier DECP publié",
            "Le fichier DECP 2.0.x d'un acheteur (SIRET) et d'une année de notification, octet pour "
            "octet tel que publié sur data.gouv.fr ; `all` à la place du SIRET donne le fichier national "
            "de l'année. Au-delà de 5 Mo, redirection 302 vers une URL présignée de courte durée (mêmes "
            "octets).",
            NoParams,
            None,
            statuses=(200, 302, 304, 400, 404, 422),
            path_params=(
                path_param("siret", "SIRET de l'acheteur (14 chiffres), ou `all`", r"^(\d{14}|all)$"),
                path_param("annee", "Année (4 chiffres)", r"^\d{4}$"),
            ),
            tags=("marchés publics",),
        ),
    )


# ------------------------------------------------------------------------------------------ query
@dataclass(frozen=True)
class Filtres:
    acheteurs: tuple[str, ...] = ()
    titulaires: tuple[str, ...] = ()
    annee: int | None = None
    nature: str | None = None
    procedure: str | None = None
    cpv: str | None = None
    montant_min: float | None = None
    montant_max: float | None = None
    tokens: tuple[str, ...] = ()

    @classmethod
    def from_params(cls, p: FiltresMarches) -> Filtres:
        return cls(
            tuple(sorted(p.acheteur)),
            tuple(sorted(p.titulaire)),
            p.annee,
            p.nature,
            p.procedure,
            p.cpv,
            p.montant_min,
            p.montant_max,
            tuple(search_tokens(p.q)) if p.q else (),
        )

    def fingerprint(self) -> str:
        raw = json.dumps(
            [self.acheteurs, self.titulaires, self.annee, self.nature, self.procedure, self.cpv,
             self.montant_min, self.montant_max, self.tokens],
            ensure_ascii=False,
        )  # fmt: skip
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    def where(self, titulaires_files: list[str]) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if self.acheteurs:
            marks = ", ".join("?" for _ in self.acheteurs)
            clauses.append(f"(acheteur_siret IN ({marks}) OR acheteur_siren IN ({marks}))")
            args.extend([*self.acheteurs, *self.acheteurs])
        if self.titulaires:
            if not titulaires_files:
                clauses.append("FALSE")
            else:
                marks = ", ".join("?" for _ in self.titulaires)
                clauses.append(
                    f"{TIE} IN (SELECT kind || ':' || uid FROM read_parquet(?, hive_partitioning=false) "
                    f"WHERE identifiant IN ({marks}))"
                )
                args.extend([titulaires_files, *self.titulaires])
        for column, value in (("annee", self.annee), ("nature", self.nature), ("procedure", self.procedure)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if self.cpv:
            clauses.append("starts_with(code_cpv, ?)")
            args.append(self.cpv)
        if self.montant_min is not None:
            clauses.append(f"{_AMOUNT} >= ?")
            args.append(self.montant_min)
        if self.montant_max is not None:
            clauses.append(f"{_AMOUNT} <= ?")
            args.append(self.montant_max)
        for token in self.tokens:
            clauses.append("contains(strip_accents(lower(objet)), ?)")
            args.append(token)
        return (" AND ".join(clauses) or "TRUE"), args


class Cursor(ApiCursor):
    """The API's one keyset cursor (:class:`regate.api.query.Cursor`) on the marchés' sorts and tie."""

    sorts = SORTS
    tie_sql = TIE


class MarchesQuery:
    """Listing of the yearly tables, local copies (through the API's Parquet cache), DuckDB."""

    def __init__(self, services: ApiServices, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.services = services
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._listing: tuple[float, tuple[Partition, ...]] | None = None
        self.list_calls = 0

    def _list(self, refresh: bool) -> tuple[Partition, ...]:
        """One LIST of ``public/marches/`` (a few keys per year), cached like the actes listing."""
        ttl = self.services.query.dataset.list_ttl_seconds
        with self._lock:
            now = self._monotonic()
            if refresh or self._listing is None or now - self._listing[0] >= ttl:
                found = []
                for item in self.services.curated.list_objects(layout.PUBLIC_MARCHES_PREFIX):
                    parsed = layout.parse_marches_table_key(item["Key"])
                    if parsed is not None:
                        etag = item["ETag"].strip('"')
                        size = int(item.get("Size", 0))
                        found.append(Partition(parsed[0], parsed[1], item["Key"], etag, size))
                self._listing = (now, tuple(found))
                self.list_calls += 1
            return self._listing[1]

    def partitions(self, annee: int | None, refresh: bool = False) -> dict[str, list[Partition]]:
        found: dict[str, list[Partition]] = {name: [] for name in layout.MARCHES_TABLES}
        for p in self._list(refresh):
            if annee is None or p.annee == annee:
                found[p.siren].append(p)  # ``siren`` holds the table name here
        return found

    def version(self, filtres: Filtres) -> str:
        parts = self.partitions(filtres.annee)
        return data_version([*parts["contrats"], *parts["titulaires"]], "marches")

    def _run(self, filtres: Filtres, build: Any) -> tuple[Any, str]:
        """``build(cursor, contrats_files, titulaires_files, version)``; retried once if a file changed."""
        for attempt in (0, 1):
            parts = self.partitions(filtres.annee, refresh=attempt == 1)
            version = data_version([*parts["contrats"], *parts["titulaires"]], "marches")
            try:
                dataset = self.services.query.dataset
                contrats = dataset.local_files(parts["contrats"])
                titulaires = dataset.local_files(parts["titulaires"])
            except PartitionChanged:
                if attempt == 1:
                    raise
                continue
            if not contrats:
                return build(None, [], [], version), version
            cur = self.services.query._cursor()
            try:
                return build(cur, contrats, titulaires, version), version
            finally:
                cur.close()
        raise AssertionError("unreachable")

    def page(
        self, filtres: Filtres, sort: str, limit: int | None, cursor: Cursor | None, fields: list[str]
    ) -> tuple[list[dict[str, Any]], int, str | None, str]:
        """One keyset page (``limit=None``: every row, for CSV) → rows, total, next cursor, version."""
        expr, _kind = SORTS[sort.lstrip("-")]
        direction = "DESC" if sort.startswith("-") else "ASC"

        def build(cur: Any, contrats: list[str], titulaires: list[str], _v: str) -> Any:
            if cur is None:
                return [], 0
            where, args = filtres.where(titulaires)
            source = "read_parquet(?, hive_partitioning=false)"
            total = cur.execute(f"SELECT count(*) FROM {source} WHERE {where}", [contrats, *args]).fetchone()[
                0
            ]
            keyset, keyset_args = cursor.keyset() if cursor is not None else ("", [])
            tail = " LIMIT ?" if limit is not None else ""
            result = cur.execute(
                f"SELECT *, {expr} AS _sort, {TIE} AS _tie FROM {source} WHERE {where}{keyset} "
                f"ORDER BY _sort {direction}, _tie {direction}{tail}",
                [contrats, *args, *keyset_args, *([limit + 1] if limit is not None else [])],
            )
            names = [d[0] for d in result.description]
            rows = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
            if titulaires and rows and (not fields or "titulaires" in fields):
                holders = _holders(cur, titulaires, [r["_tie"] for r in rows[: limit or len(rows)]])
                for row in rows:
                    row["titulaires"] = holders.get(row["_tie"], [])
            return rows, int(total)

        (rows, total), version = self._run(filtres, build)
        next_cursor = None
        if limit is not None and len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            next_cursor = Cursor.after(sort, last, "_sort", "_tie", filtres)
        return rows, total, next_cursor, version

    def stats(self, filtres: Filtres, group: str) -> tuple[list[dict[str, Any]], str]:
        key = GROUPS[group]

        def build(cur: Any, contrats: list[str], titulaires: list[str], _v: str) -> Any:
            if cur is None:
                return []
            where, args = filtres.where(titulaires)
            result = cur.execute(
                f"SELECT {key} AS cle, count(*) AS nombre, sum({_AMOUNT}) AS montant_total "
                f"FROM read_parquet(?, hive_partitioning=false) WHERE {where} GROUP BY 1 ORDER BY 1",
                [contrats, *args],
            )
            return [
                {"cle": str(c), "nombre": int(n), "montant_total": float(m) if m is not None else None}
                for c, n, m in result.fetchall()
            ]

        return self._run(filtres, build)


def _holders(cur: Any, files: list[str], ties: list[str]) -> dict[str, list[dict[str, str]]]:
    result = cur.execute(
        "SELECT kind || ':' || uid AS t, "
        "list({'type_identifiant': type_identifiant, 'identifiant': identifiant} ORDER BY rang) "
        "FROM read_parquet(?, hive_partitioning=false) "
        "WHERE kind || ':' || uid IN (SELECT unnest(?)) GROUP BY 1",
        [files, ties],
    )
    return {t: list(items) for t, items in result.fetchall()}


def public_row(row: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields or MARCHE_FIELDS:
        value = row.get(name)
        if isinstance(value, date):
            value = value.isoformat()
        elif name == "titulaires" and value is None:
            value = []
        out[name] = value
    return out


def csv_body(rows: list[dict[str, Any]]) -> bytes:
    """The reusers' CSV of :mod:`.table` (same columns and dialect as the lake's CSV view)."""
    return table.dicts_to_csv(rows, table.ContratRow)


# --------------------------------------------------------------------------------------- handlers
def register(
    app: RequestScopedResolver,
    services: ApiServices,
    mreports: dict[str, Callable[[Any, date], Any]] | None = None,
) -> None:
    """Add the marchés handlers to the resolver built by :func:`regate.api.app.create_app`, and the mReport
    report ``marches`` to ``mreports`` (served by ``/v1/mreport/{report}``)."""
    from urllib.parse import urlencode

    from regate.api import app as core
    from regate.api.routes import ROUTES_BY_ID

    s = services
    query = MarchesQuery(services)

    def mreport_marches(params: Any, today: date) -> Any:
        """``/v1/mreport/marches``: without ``dataid`` one row per buyer (SIREN), else its report."""
        from regate.api.collectivites import describe
        from regate.api.reports import mreport_csv, mreport_version
        from regate.flux.marches import report

        filtres = Filtres(acheteurs=(params.dataid,) if params.dataid else ())
        early = core.not_modified_or(app, s, mreport_version(query.version(filtres), today))
        if early is not None:
            return early
        if params.dataid is None:
            buyers, version = query.stats(filtres, "acheteur")
            sirens = sorted({str(b["cle"])[:9] for b in buyers})
            rows = report.entities((siren, describe(s.directory, siren, None)["nom"]) for siren in sirens)
        else:
            months, version = query.stats(filtres, "mois")
            if not months:
                rows = []
            else:
                latest, _, _, _ = query.page(filtres, "-date", report.LATEST, None, [])
                files: list[tuple[str, int]] = []
                for year in query.stats(filtres, "annee")[0]:
                    by_buyer = Filtres(acheteurs=filtres.acheteurs, annee=int(year["cle"]))
                    files += [(str(b["cle"]), int(year["cle"])) for b in query.stats(by_buyer, "acheteur")[0]]
                rows = report.rows(
                    params.dataid,
                    describe(s.directory, params.dataid, None)["nom"],
                    months=months,
                    procedures=query.stats(filtres, "procedure")[0],
                    cpv=query.stats(filtres, "cpv")[0],
                    latest=latest,
                    files=files,
                    base_url=s.base_url,
                    today=today,
                )
        version = mreport_version(version, today)
        if params.format == "csv":
            return core.respond(app, s, version, mreport_csv(rows).decode(), "text/csv; charset=utf-8")
        return core.respond(app, s, version, {"data": rows})

    if mreports is not None:
        mreports["marches"] = mreport_marches

    @app.get_and_head(ROUTES_BY_ID["marches"].resolver_path)
    def marches() -> Any:
        params: MarchesParams = core._params(app, MarchesParams)
        filtres = Filtres.from_params(params)
        limit = params.limit if params.limit is not None else s.settings.api_default_limit
        if limit > s.settings.api_max_limit:
            raise invalid_value("limit", f"valeur trop grande (maximum {s.settings.api_max_limit})")
        cursor = Cursor.decode(params.cursor, params.sort, filtres) if params.cursor else None
        early = core.not_modified_or(app, s, query.version(filtres))
        if early is not None:
            return early
        if params.format == "csv":
            if params.cursor or params.fields or params.limit:
                raise ApiError(
                    400, "`format=csv` renvoie tout l'ensemble filtré : sans `cursor`, `fields` ni `limit`."
                )
            csv_fields = list(table.ContratRow.model_fields)  # no titulaires lookup for the CSV
            rows, total, _, version = query.page(filtres, params.sort, CSV_MAX_ROWS, None, csv_fields)
            if total > CSV_MAX_ROWS:
                raise ApiError(413, f"{total} contrats : au-delà de {CSV_MAX_ROWS}, restreignez les filtres.")
            body = csv_body(rows)
            if len(body) > s.settings.api_inline_export_max_bytes:
                raise ApiError(
                    413,
                    f"Export CSV de {len(body)} octets, au-delà de "
                    f"{s.settings.api_inline_export_max_bytes} : "
                    "restreignez les filtres (acheteur, année…) ou prenez les fichiers DECP par année.",
                )
            disposition = {"Content-Disposition": 'attachment; filename="marches.csv"'}
            return core.respond(app, s, version, body.decode("utf-8"), "text/csv; charset=utf-8", disposition)
        rows, total, next_cursor, version = query.page(filtres, params.sort, limit, cursor, params.fields)
        next_url = None
        if next_cursor:
            raw = {k: v for k, v in core._raw_params(app).items() if k != "cursor"}
            raw["cursor"] = [next_cursor]
            next_url = f"{s.base_url}/v1/marches?{urlencode(raw, doseq=True)}"
        page = MarchesPage(data=[public_row(r, params.fields) for r in rows], total=total, next=next_url)
        return core.respond(app, s, version, page.model_dump(mode="json"))

    @app.get_and_head(ROUTES_BY_ID["marches_stats"].resolver_path)
    def marches_stats() -> Any:
        params: MarchesStatsParams = core._params(app, MarchesStatsParams)
        filtres = Filtres.from_params(params)
        early = core.not_modified_or(app, s, query.version(filtres))
        if early is not None:
            return early
        rows, version = query.stats(filtres, params.group)
        body = MarchesStats(group=params.group, data=rows, total=sum(r["nombre"] for r in rows))
        return core.respond(app, s, version, body.model_dump(mode="json"))

    @app.get_and_head(ROUTES_BY_ID["marches_decp"].resolver_path)
    def marches_decp(siret: str, annee: str) -> Any:
        core._params(app, NoParams)
        national = siret == layout.NATIONAL
        if not national and not SIRET_RE.match(siret):
            raise invalid_value("siret", "SIRET attendu (14 chiffres) ou « all » pour le fichier national")
        if not YEAR_RE.match(annee):
            raise invalid_value("annee", "année sur 4 chiffres attendue")
        key = layout.decp_national_key(int(annee)) if national else layout.decp_key(siret, int(annee))
        who = "national" if national else f"pour l'acheteur {siret}"
        missing = not_found(f"Aucun fichier DECP {who} publié pour {annee}.")
        head = s.curated.head(key)
        if head is None:
            raise missing
        if int(head.get("ContentLength", 0)) > s.settings.api_inline_export_max_bytes:
            # beyond what a Lambda answer may carry: the same bytes through a short-lived presigned URL
            return _redirect(app, s, key, str(head.get("ETag", "")), f"decp-{siret}-{annee}.json")
        found = s.curated.get_with_etag(key)
        if found is None:
            raise missing
        body, etag = found
        return core.respond(
            app,
            s,
            etag,
            body.decode("utf-8"),
            "application/json; charset=utf-8",
            {"Content-Disposition": f'inline; filename="decp-{siret}-{annee}.json"'},
        )


def _redirect(app: Any, services: ApiServices, key: str, etag: str, name: str) -> Any:
    from aws_lambda_powertools.event_handler import Response

    from regate.api import app as core

    early = core.not_modified_or(app, services, etag)
    if early is not None:
        return early
    url = services.curated.client.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": services.curated.bucket,
            "Key": key,
            "ResponseContentType": "application/json; charset=utf-8",
            "ResponseContentDisposition": f'inline; filename="{name}"',
        },
        ExpiresIn=services.settings.api_presign_seconds,
    )
    headers = {**core._base_headers(services), "ETag": core._etag(etag, app), "Location": url}
    return Response(302, headers=headers, body="")
