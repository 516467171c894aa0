"""Read API of the budgets (issue 13, point 6): routes, parameters, DuckDB queries, handlers — in one module.

* ``GET /v1/budgets`` — budget lines from the public Parquet ``public/budgets/lignes/siren=…/annee=…/``
  (filters siren, annee, etape, section, sens, fonction, chapitre, nature, siret; ``fields``, ``sort``, keyset
  ``cursor``; ``format=json|csv|parquet``: CSV = SCDL budget 0.8.3 columns in the published files' dialect);
* ``GET /v1/budgets/{siren}/{annee}.csv`` — the curated SCDL file, byte for byte as published (``all`` =
  the national file of the exercice);
* ``GET /v1/budgets/{siren}/{annee}/synthese`` — per stage: section totals, recettes and dépenses by
  chapter (the nature presentation) and by fonction, the largest dépenses; the amount is the stage's
  (:mod:`.amounts`: BP → MtPrev, DM → MtPropNouv, BS → MtPropNouv + MtRARPrec, CA/CFU → MtReal), read from
  the lines' ``montant`` column, computed once by the converter with that rule;
* ``/v1/mreport/budgets`` — the mReport report (:mod:`.report`, example in ``examples/mreport/budgets``).

Reading: the listing prunes partitions on SIREN and year (per-SIREN LIST when a few SIRENs are asked),
the selected files come through the API's local Parquet cache (by ETag) and DuckDB reads them with
projection and filter pushdown; nothing is kept in memory between requests (no national table).
Every user value reaches SQL as a bound parameter; SQL text only comes from the fixed tables here.
Wiring: :func:`route_specs` is appended to :data:`regate.api.routes.ROUTES`; :func:`register` adds the
handlers and the ``budgets`` report to the resolver.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, field_validator

from regate.api.dataset import Partition, PartitionChanged, data_version
from regate.api.errors import ApiError, invalid_value, not_found
from regate.api.params import ApiParams, NoParams, _split_list
from regate.api.query import Cursor as ApiCursor
from regate.flux.budgets.model import ETAPE_ORDRE, Etape
from regate.storage import layout

if TYPE_CHECKING:
    from regate.api.app import ApiServices
    from regate.api.resolver import RequestScopedResolver

EtapeParam = Literal["BP", "BS", "DM", "CA", "CFU"]  # = Etape (a test holds them together)
SIREN_RE = re.compile(r"^\d{9}$")
SIRET_RE = re.compile(r"^\d{14}$")
YEAR_RE = re.compile(r"^\d{4}$")
CODE_RE = re.compile(r"^[0-9A-Za-z]{1,9}$")
CSV_MAX_ROWS = 200_000
TOP = 10

#: JSON columns, in output order (the public Parquet minus the pipeline's bookkeeping columns)
BUDGET_FIELDS: tuple[str, ...] = (
    "siren", "annee", "siret", "nom", "cod_bud", "etape", "natdec", "nomenclature", "date_decision",
    "section", "codrd", "opbudg", "typopbudg", "contnat", "contnat_label", "nature", "nature_label",
    "fonction", "fonction_label", "operation", "artspe", "mt_real", "mt_budg_prec", "mt_rar_prec",
    "mt_prop_nouv", "mt_prev", "cred_ouv", "mt_rar3112", "montant", "ligne",
)  # fmt: skip
AMOUNT_FIELDS = frozenset(
    {"mt_real", "mt_budg_prec", "mt_rar_prec", "mt_prop_nouv", "mt_prev", "cred_ouv", "mt_rar3112", "montant"}
)
BudgetsSort = Literal["siren", "-siren", "annee", "-annee", "montant", "-montant", "chapitre", "-chapitre"]
#: a unique, stable key per line (the tie of the keyset cursor)
TIE = (
    "(siren || ':' || CAST(annee AS VARCHAR) || ':' || coalesce(document_id, '') || ':' || "
    "lpad(CAST(ligne AS VARCHAR), 9, '0'))"
)
SORTS: dict[str, tuple[str, str]] = {
    "siren": ("siren", "VARCHAR"),
    "annee": ("annee", "INTEGER"),
    "montant": ("CAST(montant AS DOUBLE)", "DOUBLE"),
    "chapitre": ("contnat", "VARCHAR"),
}
SECTIONS = ("fonctionnement", "investissement")
SENS = {"recette": "recette", "recettes": "recette", "dépense": "dépense", "depense": "dépense",
        "dépenses": "dépense", "depenses": "dépense"}  # fmt: skip
SOURCE = "read_parquet(?, hive_partitioning=false)"


class Cursor(ApiCursor):
    """The API's one keyset cursor (:class:`regate.api.query.Cursor`) on the budgets' sorts and tie."""

    sorts = SORTS
    tie_sql = TIE


# ------------------------------------------------------------------------------------ parameters
class FiltresBudgets(ApiParams):
    """Filters of ``/v1/budgets``."""

    siren: list[str] = Field(
        default_factory=list,
        description="SIREN de la collectivité (9 chiffres) ; plusieurs valeurs possibles",
    )
    annee: int | None = Field(default=None, ge=1900, le=2999, description="Exercice budgétaire")
    etape: EtapeParam | None = Field(
        default=None,
        description="Étape : `BP` budget primitif, `BS` budget supplémentaire, `DM` décision modificative, "
        "`CA` compte administratif, `CFU` compte financier unique",
    )
    section: Literal["fonctionnement", "investissement"] | None = Field(default=None, description="Section")
    sens: str | None = Field(default=None, description="`recette` ou `dépense` (`depense` accepté)")
    chapitre: list[str] = Field(
        default_factory=list, description="Chapitre (`BGT_CONTNAT`, par exemple `011`) ; plusieurs possibles"
    )
    nature: str | None = Field(
        default=None, description="Préfixe du compte (`BGT_NATURE`, par exemple `606`)"
    )
    fonction: str | None = Field(
        default=None, description="Préfixe du code fonction (par exemple `8` ou `82`)"
    )
    siret: str | None = Field(default=None, description="SIRET du budget (budget principal ou annexe)")

    @field_validator("siren", mode="before")
    @classmethod
    def _siren(cls, value: Any) -> list[str]:
        values = list(dict.fromkeys(_split_list(value)))
        for item in values:
            if not SIREN_RE.match(item):
                raise ValueError(f"« {item[:20]} » n'est pas un SIREN (9 chiffres)")
        if len(values) > 100:
            raise ValueError("100 SIREN au plus")
        return values

    @field_validator("etape", mode="before")
    @classmethod
    def _etape(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("sens")
    @classmethod
    def _sens(cls, value: str | None) -> str | None:
        if value is None:
            return None
        found = SENS.get(value.strip().lower())
        if found is None:
            raise ValueError("`recette` ou `dépense` attendu")
        return found

    @field_validator("chapitre", mode="before")
    @classmethod
    def _chapitre(cls, value: Any) -> list[str]:
        values = list(dict.fromkeys(_split_list(value)))
        for item in values:
            if not CODE_RE.match(item):
                raise ValueError(f"« {item[:20]} » n'est pas un code de chapitre")
        if len(values) > 50:
            raise ValueError("50 chapitres au plus")
        return values

    @field_validator("nature", "fonction")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        if value is not None and not CODE_RE.match(value):
            raise ValueError("code attendu (1 à 9 caractères alphanumériques)")
        return value

    @field_validator("siret")
    @classmethod
    def _siret(cls, value: str | None) -> str | None:
        if value is not None and not SIRET_RE.match(value):
            raise ValueError("SIRET attendu (14 chiffres)")
        return value


class BudgetsParams(FiltresBudgets):
    """``GET /v1/budgets``."""

    fields: list[str] = Field(
        default_factory=list,
        description="Colonnes à renvoyer (JSON), séparées par des virgules, parmi : "
        + ", ".join(BUDGET_FIELDS),
    )
    sort: BudgetsSort = Field(default="siren", description="Tri (`-` = décroissant) ; départage par ligne")
    limit: int | None = Field(default=None, ge=1, description="Taille de page (défaut 50, maximum 1000)")
    cursor: str | None = Field(
        default=None, max_length=2000, description="Curseur opaque renvoyé dans `next`"
    )
    format: Literal["json", "csv", "parquet"] = Field(
        default="json",
        description="`csv` : tout l'ensemble filtré aux colonnes SCDL Budget 0.8.3 ; `parquet` : toutes les "
        f"colonnes publiques ({CSV_MAX_ROWS} lignes au plus, taille limitée)",
    )

    @field_validator("fields", mode="before")
    @classmethod
    def _fields(cls, value: Any) -> list[str]:
        values = _split_list(value)
        unknown = [v[:40] for v in values if v not in BUDGET_FIELDS]
        if unknown:
            raise ValueError(f"colonne(s) inconnue(s) : {', '.join(unknown)}")
        return list(dict.fromkeys(values))


class SyntheseParams(ApiParams):
    """``GET /v1/budgets/{siren}/{annee}/synthese``."""

    etape: EtapeParam | None = Field(
        default=None, description="Une seule étape (par défaut : chacune de l'exercice)"
    )
    siret: str | None = Field(
        default=None, description="Un seul budget (SIRET du budget principal ou annexe)"
    )

    @field_validator("etape", mode="before")
    @classmethod
    def _etape(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("siret")
    @classmethod
    def _siret(cls, value: str | None) -> str | None:
        if value is not None and not SIRET_RE.match(value):
            raise ValueError("SIRET attendu (14 chiffres)")
        return value


# ---------------------------------------------------------------------------------------- models
class BudgetsPage(BaseModel):
    data: list[dict[str, Any]]
    total: int
    next: str | None = None


class Poste(BaseModel):
    code: str
    libelle: str
    montant: float


class TotalSection(BaseModel):
    section: str
    recettes: float
    depenses: float
    solde: float


class SyntheseEtape(BaseModel):
    etape: str
    natdec: str
    montant: str = Field(description="Colonne(s) du montant retenu pour l'étape")
    documents: int
    sections: list[TotalSection]
    recettes_par_chapitre: list[Poste]
    depenses_par_chapitre: list[Poste]
    recettes_par_fonction: list[Poste]
    depenses_par_fonction: list[Poste]
    top_depenses: list[Poste]


class Synthese(BaseModel):
    siren: str
    annee: int
    budgets: list[dict[str, Any]]
    etapes: list[SyntheseEtape]
    fichier: str


# ----------------------------------------------------------------------------------------- routes
def route_specs(route_spec: Any, path_param: Any) -> tuple[Any, ...]:
    """The budgets routes as :class:`regate.api.routes.RouteSpec` (classes passed in: no import cycle)."""
    siren_or_all = path_param("siren", "SIREN de la collectivité (9 chiffres), ou `all`", r"^(\d{9}|all)$")
    year = path_param("annee", "Exercice (4 chiffres)", r"^\d{4}$")
    return (
        route_spec(
            "/v1/budgets",
            "budgets",
            "Recherche de lignes budgétaires",
            "Lignes des documents budgétaires publiés (budget primitif, supplémentaire, décisions "
            "modificatives, compte administratif, compte financier unique), avec le montant de l'étape "
            "(`montant` : prévu pour un BP, propositions nouvelles pour une DM, réalisé pour un CA/CFU). "
            "Pagination par curseur ; `format=csv` (colonnes SCDL Budget) ou `parquet` : tout l'ensemble "
            "filtré.",
            BudgetsParams,
            BudgetsPage,
            content_types=("application/json", "text/csv", "application/vnd.apache.parquet"),
            statuses=(200, 304, 400, 404, 413, 422),
            tags=("budgets",),
        ),
        route_spec(
            "/v1/budgets/{siren}/{annee}.csv",
            "budgets_scdl",
            "Fichier SCDL budget publié",
            "Le fichier SCDL Budget 0.8.3 d'une collectivité et d'un exercice, octet pour octet tel que "
            "publié sur data.gouv.fr ; `all` à la place du SIREN donne le fichier national de l'exercice.",
            NoParams,
            None,
            content_types=("text/csv",),
            path_params=(siren_or_all, year),
            tags=("budgets",),
        ),
        route_spec(
            "/v1/budgets/{siren}/{annee}/synthese",
            "budgets_synthese",
            "Synthèse d'un budget",
            "Par étape : totaux par section, recettes et dépenses par chapitre et par fonction, principales "
            "dépenses. Montant de l'étape : BP → MtPrev, DM → MtPropNouv, BS → MtPropNouv + MtRARPrec, "
            "CA/CFU → MtReal.",
            SyntheseParams,
            Synthese,
            path_params=(path_param("siren", "SIREN de la collectivité (9 chiffres)", r"^\d{9}$"), year),
            tags=("budgets",),
        ),
    )


# ------------------------------------------------------------------------------------------ query
@dataclass(frozen=True)
class Filtres:
    sirens: tuple[str, ...] = ()
    annee: int | None = None
    etape: str | None = None
    section: str | None = None
    sens: str | None = None
    chapitres: tuple[str, ...] = ()
    nature: str | None = None
    fonction: str | None = None
    siret: str | None = None

    @classmethod
    def from_params(cls, p: FiltresBudgets) -> Filtres:
        return cls(
            tuple(sorted(p.siren)),
            p.annee,
            p.etape,
            p.section,
            p.sens,
            tuple(sorted(p.chapitre)),
            p.nature,
            p.fonction,
            p.siret,
        )

    def fingerprint(self) -> str:
        raw = json.dumps(
            [self.sirens, self.annee, self.etape, self.section, self.sens, self.chapitres, self.nature,
             self.fonction, self.siret],
            ensure_ascii=False,
        )  # fmt: skip
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        # ``sirens`` select partitions (:meth:`BudgetsQuery.partitions`): the collectivité whose act carried
        # the budget, as in the file's path, even when the TOTEM names another SIRET (a warning upstream)
        if self.chapitres:
            clauses.append(f"contnat IN ({', '.join('?' for _ in self.chapitres)})")
            args.extend(self.chapitres)
        for column, value in (
            ("annee", self.annee),
            ("etape", self.etape),
            ("section", self.section),
            ("codrd", self.sens),
            ("siret", self.siret),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if self.nature:
            clauses.append("starts_with(nature, ?)")
            args.append(self.nature)
        if self.fonction:
            clauses.append("starts_with(fonction, ?)")
            args.append(self.fonction)
        return (" AND ".join(clauses) or "TRUE"), args


class BudgetsQuery:
    """Listing of ``public/budgets/lignes/`` (cached like the actes listing), local copies, DuckDB."""

    per_siren_listing_max = 5

    def __init__(self, services: ApiServices, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.services = services
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._listing: tuple[float, tuple[Partition, ...], dict[int, Partition]] | None = None
        self._by_siren: dict[str, tuple[float, tuple[Partition, ...]]] = {}
        self._national_only: tuple[float, dict[int, Partition]] | None = None
        self.list_calls = 0

    def _list(self, prefix: str) -> tuple[Partition, ...]:
        found = []
        for item in self.services.curated.list_objects(prefix):
            parsed = layout.parse_partition_key(item["Key"])
            if parsed is not None and item["Key"].endswith("/data.parquet"):
                etag = item["ETag"].strip('"')
                found.append(Partition(parsed[0], parsed[1], item["Key"], etag, int(item.get("Size", 0))))
        self.list_calls += 1
        return tuple(sorted(found, key=lambda p: (p.siren, p.annee)))

    def _national(self) -> dict[int, Partition]:
        """The national Parquet per exercice (``public/budgets/national/annee=…/``), as listed."""
        found = {}
        for item in self.services.curated.list_objects(layout.PUBLIC_BUDGETS_NATIONAL_PREFIX):
            annee = layout.parse_budgets_national_parquet_key(item["Key"])
            if annee is not None:
                etag = item["ETag"].strip('"')
                found[annee] = Partition(layout.NATIONAL, annee, item["Key"], etag, int(item.get("Size", 0)))
        self.list_calls += 1
        return found

    def _national_listing(self, now: float, ttl: float, refresh: bool) -> dict[int, Partition]:
        """The national files alone (a LIST of a few keys), cached like the other listings (lock held)."""
        if refresh or self._national_only is None or now - self._national_only[0] >= ttl:
            self._national_only = (now, self._national())
        return self._national_only[1]

    def partitions(self, filtres: Filtres, refresh: bool = False, national: bool = True) -> list[Partition]:
        """The partitions a filter can match (pruned on SIREN and year). Without ``siren``, an exercice's
        national Parquet (one file, a row group per SIREN) stands for its per-SIREN files when it exists
        (``national=False``: always the per-SIREN files, e.g. to list the collectivités)."""
        ttl = self.services.query.dataset.list_ttl_seconds
        prefix = layout.PUBLIC_BUDGETS_PARQUET_PREFIX
        with self._lock:
            now = self._monotonic()
            if filtres.sirens and len(filtres.sirens) <= self.per_siren_listing_max:
                listed: list[Partition] = []
                for siren in filtres.sirens:
                    cached = self._by_siren.get(siren)
                    if refresh or cached is None or now - cached[0] >= ttl:
                        cached = (now, self._list(f"{prefix}siren={layout.safe_segment(siren, 'siren')}/"))
                        self._by_siren[siren] = cached
                    listed.extend(cached[1])
            elif (
                national
                and filtres.annee is not None
                and not filtres.sirens
                and (whole := self._national_listing(now, ttl, refresh)).get(filtres.annee)
            ):
                listed = [whole[filtres.annee]]  # one exercice, national file: no listing of every SIREN
            else:
                if refresh or self._listing is None or now - self._listing[0] >= ttl:
                    self._listing = (now, self._list(prefix), self._national())
                listed = list(self._listing[1])
                if national and not filtres.sirens:  # with SIRENs, their own files (pruning)
                    whole = self._listing[2]
                    listed = [p for p in listed if p.annee not in whole] + list(whole.values())
        return [
            p
            for p in listed
            if (not filtres.sirens or p.siren in filtres.sirens)
            and (filtres.annee is None or p.annee == filtres.annee)
        ]

    def version(self, filtres: Filtres, national: bool = True) -> str:
        return data_version(self.partitions(filtres, national=national), "budgets")

    def run(self, filtres: Filtres, build: Callable[[Any, list[str]], Any]) -> tuple[Any, str]:
        """``build(cursor, files)`` (``cursor`` None when no file matches); retried once if a file changed."""
        for attempt in (0, 1):
            parts = self.partitions(filtres, refresh=attempt == 1)
            version = data_version(parts, "budgets")
            try:
                files = self.services.query.dataset.local_files(parts)
            except PartitionChanged:
                if attempt == 1:
                    raise
                continue
            if not files:
                return build(None, []), version
            cur = self.services.query._cursor()
            try:
                return build(cur, files), version
            finally:
                cur.close()
        raise AssertionError("unreachable")

    def page(
        self, filtres: Filtres, sort: str, limit: int | None, cursor: Cursor | None, fields: list[str]
    ) -> tuple[list[dict[str, Any]], int, str | None, str]:
        """One keyset page (``limit=None``: every row) → rows, total, next cursor, version."""
        expr = SORTS[sort.lstrip("-")][0]
        columns = sorted(set(fields or BUDGET_FIELDS) | {"siren", "annee", "document_id", "ligne"})

        def build(cur: Any, files: list[str]) -> Any:
            if cur is None:
                return [], 0
            where, args = filtres.where()
            total = cur.execute(f"SELECT count(*) FROM {SOURCE} WHERE {where}", [files, *args]).fetchone()[0]
            keyset, keyset_args = cursor.keyset() if cursor is not None else ("", [])
            tail = " LIMIT ?" if limit is not None else ""
            result = cur.execute(
                f"SELECT {', '.join(columns)}, {expr} AS _sort, {TIE} AS _tie FROM {SOURCE} "
                f"WHERE {where}{keyset} ORDER BY {Cursor.order_by(sort)}{tail}",
                [files, *args, *keyset_args, *([limit + 1] if limit is not None else [])],
            )
            names = [d[0] for d in result.description]
            return [dict(zip(names, row, strict=True)) for row in result.fetchall()], int(total)

        (rows, total), version = self.run(filtres, build)
        next_cursor = None
        if limit is not None and len(rows) > limit:
            rows = rows[:limit]
            next_cursor = Cursor.after(sort, rows[-1], "_sort", "_tie", filtres)
        return rows, total, next_cursor, version

    def parquet(self, filtres: Filtres, sort: str, out: Path) -> tuple[int, str]:
        """The filtered set (public columns) as a Parquet file written by DuckDB → (rows, version)."""

        def build(cur: Any, files: list[str]) -> Any:
            where, args = filtres.where()
            if cur is None:
                return 0
            total = cur.execute(f"SELECT count(*) FROM {SOURCE} WHERE {where}", [files, *args]).fetchone()[0]
            if total > CSV_MAX_ROWS:
                return int(total)
            cur.execute(
                f"COPY (SELECT {', '.join(BUDGET_FIELDS)} FROM {SOURCE} WHERE {where} "
                f"ORDER BY {Cursor.order_by(sort)}) TO '{out}' (FORMAT parquet, COMPRESSION zstd)",
                [files, *args],
            )
            return int(total)

        return self.run(filtres, build)

    def aggregate(self, filtres: Filtres, key: str, label: str) -> tuple[list[dict[str, Any]], str]:
        """Sums of the stage amount by (etape, codrd, key) — ``key``/``label`` fixed SQL of this module."""

        def build(cur: Any, files: list[str]) -> Any:
            if cur is None:
                return []
            where, args = filtres.where()
            result = cur.execute(
                f"SELECT etape, codrd, {key} AS code, {label} AS libelle, sum(montant) AS montant, "
                f"count(DISTINCT coalesce(document_id, '')) AS documents "
                f"FROM {SOURCE} WHERE {where} GROUP BY ALL ORDER BY 1, 2, 3",
                [files, *args],
            )
            names = [d[0] for d in result.description]
            return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

        return self.run(filtres, build)

    def top(self, filtres: Filtres, n: int) -> tuple[list[dict[str, Any]], str]:
        """The ``n`` largest dépenses (by account) per stage."""

        def build(cur: Any, files: list[str]) -> Any:
            if cur is None:
                return []
            where, args = filtres.where()
            result = cur.execute(
                f"SELECT etape, nature AS code, min(nature_label) AS libelle, sum(montant) AS montant "
                f"FROM {SOURCE} WHERE {where} AND codrd = 'dépense' GROUP BY etape, nature "
                "QUALIFY row_number() OVER (PARTITION BY etape ORDER BY sum(montant) DESC, nature) <= ? "
                "ORDER BY etape, montant DESC, code",
                [files, *args, n],
            )
            names = [d[0] for d in result.description]
            return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

        return self.run(filtres, build)

    def budgets(self, filtres: Filtres) -> list[dict[str, Any]]:
        def build(cur: Any, files: list[str]) -> Any:
            if cur is None:
                return []
            where, args = filtres.where()
            result = cur.execute(
                f"SELECT siret, nom, cod_bud, list(DISTINCT etape ORDER BY etape) AS etapes FROM {SOURCE} "
                f"WHERE {where} GROUP BY ALL ORDER BY siret, cod_bud NULLS FIRST, nom",
                [files, *args],
            )
            return [
                {"siret": s, "nom": n, "cod_bud": c, "etapes": sorted(e, key=lambda x: ETAPE_ORDRE[Etape(x)])}
                for s, n, c, e in result.fetchall()
            ]

        return self.run(filtres, build)[0]


def _json_value(name: str, value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def public_row(row: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    return {name: _json_value(name, row.get(name)) for name in fields or BUDGET_FIELDS}


def csv_body(rows: list[dict[str, Any]]) -> bytes:
    """SCDL budget CSV of the rows with the published files' writer (same cells, same dialect)."""
    import io

    from regate.flux.budgets.scdl import write_budget_rows_to

    buffer = io.BytesIO()
    write_budget_rows_to(buffer, rows)
    return buffer.getvalue()


def _money(value: Any) -> float:
    return round(float(value or 0), 2)


def synthese(
    siren: str,
    annee: int,
    budgets: list[dict[str, Any]],
    chapitres: list[dict[str, Any]],
    sections: list[dict[str, Any]],
    fonctions: list[dict[str, Any]],
    top: list[dict[str, Any]],
    file_url: str,
) -> Synthese:
    """Pure: the aggregate rows (``BudgetsQuery.aggregate``/``top``) → the synthesis per stage."""
    from regate.flux.budgets.amounts import STAGE_AMOUNT_COLUMNS
    from regate.flux.budgets.model import SCDL_NATDEC

    etapes = sorted({r["etape"] for r in chapitres}, key=lambda e: ETAPE_ORDRE[Etape(e)])
    out = []
    for etape in etapes:

        def postes(rows: list[dict[str, Any]], sens: str, etape: str = etape) -> list[Poste]:
            found = [r for r in rows if r["etape"] == etape and r["codrd"] == sens and r["code"] is not None]
            found.sort(key=lambda r: (-float(r["montant"] or 0), str(r["code"])))
            return [
                Poste(code=str(r["code"]), libelle=str(r["libelle"] or ""), montant=_money(r["montant"]))
                for r in found
            ]

        totals = []
        for section in SECTIONS:
            rows = [r for r in sections if r["etape"] == etape and r["code"] == section]
            recettes = _money(sum(float(r["montant"] or 0) for r in rows if r["codrd"] == "recette"))
            depenses = _money(sum(float(r["montant"] or 0) for r in rows if r["codrd"] == "dépense"))
            totals.append(
                TotalSection(
                    section=section, recettes=recettes, depenses=depenses, solde=_money(recettes - depenses)
                )
            )
        documents = max((int(r["documents"]) for r in sections if r["etape"] == etape), default=0)
        out.append(
            SyntheseEtape(
                etape=etape,
                natdec=SCDL_NATDEC[Etape(etape)],
                montant=" + ".join(STAGE_AMOUNT_COLUMNS[Etape(etape)]),
                documents=documents,
                sections=totals,
                recettes_par_chapitre=postes(chapitres, "recette"),
                depenses_par_chapitre=postes(chapitres, "dépense"),
                recettes_par_fonction=postes(fonctions, "recette"),
                depenses_par_fonction=postes(fonctions, "dépense"),
                top_depenses=[
                    Poste(code=str(r["code"]), libelle=str(r["libelle"] or ""), montant=_money(r["montant"]))
                    for r in top
                    if r["etape"] == etape
                ],
            )
        )
    return Synthese(siren=siren, annee=annee, budgets=budgets, etapes=out, fichier=file_url)


# --------------------------------------------------------------------------------------- handlers
def register(
    app: RequestScopedResolver,
    services: ApiServices,
    mreports: dict[str, Callable[[Any, date], Any]] | None = None,
) -> None:
    """Add the budgets handlers to the resolver built by :func:`regate.api.app.create_app`, and the mReport
    report ``budgets`` to ``mreports`` (served by ``/v1/mreport/{report}``)."""
    from urllib.parse import urlencode

    from regate.api import app as core
    from regate.api.routes import ROUTES_BY_ID

    s = services
    query = BudgetsQuery(services)

    def compute_synthese(
        siren: str, annee: int, etape: str | None, siret: str | None
    ) -> tuple[Synthese, str]:
        filtres = Filtres(sirens=(siren,), annee=annee, etape=etape, siret=siret)
        chapitres, version = query.aggregate(filtres, "contnat", "min(contnat_label)")
        sections, _ = query.aggregate(filtres, "section", "section")
        fonctions, _ = query.aggregate(filtres, "fonction", "min(fonction_label)")
        top, _ = query.top(filtres, TOP)
        url = f"{s.base_url}/v1/budgets/{siren}/{annee}.csv"
        body = synthese(siren, annee, query.budgets(filtres), chapitres, sections, fonctions, top, url)
        return body, version

    def mreport_budgets(params: Any, today: date) -> Any:
        """``/v1/mreport/budgets``: without ``dataid`` one row per collectivité, else its latest exercice."""
        from regate.api.collectivites import describe
        from regate.api.reports import mreport_csv, mreport_version
        from regate.flux.budgets import report

        filtres = Filtres(sirens=(params.dataid,) if params.dataid else ())
        early = core.not_modified_or(app, s, mreport_version(query.version(filtres, national=False), today))
        if early is not None:
            return early
        parts = query.partitions(filtres, national=False)  # the collectivités themselves
        version = data_version(parts, "budgets")
        if params.dataid is None:
            sirens = sorted({p.siren for p in parts})
            rows = report.entities((siren, describe(s.directory, siren, None)["nom"]) for siren in sirens)
        elif not parts:
            rows = []
        else:
            years = sorted({p.annee for p in parts})
            body, version = compute_synthese(params.dataid, years[-1], None, None)
            files = [
                (p.annee, f"{s.base_url}/v1/budgets/{p.siren}/{p.annee}.csv")
                for p in parts
                if s.curated.exists(layout.scdl_budgets_key(p.siren, p.annee))
            ]
            rows = report.rows(params.dataid, describe(s.directory, params.dataid, None)["nom"], body, files)
        version = mreport_version(version, today)
        if params.format == "csv":
            return core.respond(app, s, version, mreport_csv(rows).decode(), "text/csv; charset=utf-8")
        return core.respond(app, s, version, {"data": rows})

    if mreports is not None:
        mreports["budgets"] = mreport_budgets

    @app.get_and_head(ROUTES_BY_ID["budgets"].resolver_path)
    def budgets() -> Any:
        params: BudgetsParams = core._params(app, BudgetsParams)
        filtres = Filtres.from_params(params)
        limit = params.limit if params.limit is not None else s.settings.api_default_limit
        if limit > s.settings.api_max_limit:
            raise invalid_value("limit", f"valeur trop grande (maximum {s.settings.api_max_limit})")
        cursor = Cursor.decode(params.cursor, params.sort, filtres) if params.cursor else None
        if params.format != "json" and (params.cursor or params.fields or params.limit):
            raise ApiError(
                400,
                f"`format={params.format}` renvoie tout l'ensemble filtré : "
                "sans `cursor`, `fields` ni `limit`.",
            )
        early = core.not_modified_or(app, s, query.version(filtres))
        if early is not None:
            return early
        max_bytes = s.settings.api_inline_export_max_bytes
        too_big = (
            "restreignez les filtres (siren, annee, etape…) "
            "ou prenez les fichiers SCDL par collectivité et exercice."
        )
        if params.format == "csv":
            rows, total, _, version = query.page(
                filtres, params.sort, CSV_MAX_ROWS, None, list(BUDGET_FIELDS)
            )
            if total > CSV_MAX_ROWS:
                raise ApiError(413, f"{total} lignes : au-delà de {CSV_MAX_ROWS}, {too_big}")
            body = csv_body(rows)
            if len(body) > max_bytes:
                raise ApiError(413, f"Export CSV de {len(body)} octets, au-delà de {max_bytes} : {too_big}")
            disposition = {"Content-Disposition": 'attachment; filename="budgets.csv"'}
            return core.respond(app, s, version, body.decode("utf-8"), "text/csv; charset=utf-8", disposition)
        if params.format == "parquet":
            cache = Path(s.query.dataset.cache_dir)
            cache.mkdir(parents=True, exist_ok=True)
            out = cache / f".budgets-{uuid.uuid4().hex}.parquet"
            try:
                total, version = query.parquet(filtres, params.sort, out)
                if total > CSV_MAX_ROWS:
                    raise ApiError(413, f"{total} lignes : au-delà de {CSV_MAX_ROWS}, {too_big}")
                if not out.exists():
                    raise not_found("Aucune ligne budgétaire publiée pour ces filtres.")
                data = out.read_bytes()
            finally:
                out.unlink(missing_ok=True)
            if len(data) > max_bytes:
                raise ApiError(
                    413, f"Export Parquet de {len(data)} octets, au-delà de {max_bytes} : {too_big}"
                )
            disposition = {"Content-Disposition": 'attachment; filename="budgets.parquet"'}
            return core.respond(app, s, version, data, "application/vnd.apache.parquet", disposition)
        rows, total, next_cursor, version = query.page(filtres, params.sort, limit, cursor, params.fields)
        next_url = None
        if next_cursor:
            raw = {k: v for k, v in core._raw_params(app).items() if k != "cursor"}
            raw["cursor"] = [next_cursor]
            next_url = f"{s.base_url}/v1/budgets?{urlencode(raw, doseq=True)}"
        page = BudgetsPage(data=[public_row(r, params.fields) for r in rows], total=total, next=next_url)
        return core.respond(app, s, version, page.model_dump(mode="json"))

    @app.get_and_head(ROUTES_BY_ID["budgets_scdl"].resolver_path)
    def budgets_scdl(siren: str, annee: str) -> Any:
        core._params(app, NoParams)
        national = siren == layout.NATIONAL
        if not national and not SIREN_RE.match(siren):
            raise invalid_value("siren", "SIREN attendu (9 chiffres) ou « all » pour le fichier national")
        if not YEAR_RE.match(annee):
            raise invalid_value("annee", "exercice sur 4 chiffres attendu")
        key = (
            layout.scdl_budgets_national_key(int(annee))
            if national
            else layout.scdl_budgets_key(siren, int(annee))
        )
        found = s.curated.get_with_etag(key)
        if found is None:
            who = "national" if national else f"pour la collectivité {siren}"
            raise not_found(f"Aucun fichier SCDL budget {who} publié pour l'exercice {annee}.")
        body, etag = found
        return core.respond(
            app,
            s,
            etag,
            body.decode("utf-8"),
            "text/csv; charset=utf-8",
            {"Content-Disposition": f'attachment; filename="budgets-{siren}-{annee}.csv"'},
        )

    @app.get_and_head(ROUTES_BY_ID["budgets_synthese"].resolver_path)
    def budgets_synthese(siren: str, annee: str) -> Any:
        params: SyntheseParams = core._params(app, SyntheseParams)
        if not SIREN_RE.match(siren):
            raise invalid_value("siren", "SIREN attendu (9 chiffres)")
        if not YEAR_RE.match(annee):
            raise invalid_value("annee", "exercice sur 4 chiffres attendu")
        etape = params.etape
        filtres = Filtres(sirens=(siren,), annee=int(annee), etape=etape, siret=params.siret)
        early = core.not_modified_or(app, s, query.version(filtres))
        if early is not None:
            return early
        body, version = compute_synthese(siren, int(annee), etape, params.siret)
        if not body.etapes:
            raise not_found(f"Aucun budget publié pour la collectivité {siren} et l'exercice {annee}.")
        return core.respond(app, s, version, body.model_dump(mode="json"))
