"""DuckDB queries over the locally cached public partitions.

Every user value is a bound parameter (``?``); the only text put into SQL comes from fixed tables in this
module (column names, sort directions). One DuckDB connection per warm container; each query uses its
own cursor so ``regate serve`` threads do not share state. ``duckdb`` is imported on first use to keep
the Lambda cold start small.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, ClassVar, Self

from regate.api.dataset import Partition, PartitionChanged, PublicDataset, data_version
from regate.api.errors import invalid_value
from regate.api.lake import Lake, counts_answer, skip_absent_optional_imports
from regate.api.params import DELIBERATION_FIELDS

#: SCDL délibérations 2.1.5 columns, in order, with the Parquet column each comes from.
SCDL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("COLL_NOM", "coll_nom"),
    ("COLL_SIRET", "coll_siret"),
    ("DELIB_ID", "delib_id"),
    ("DELIB_DATE", "delib_date"),
    ("DELIB_MATIERE_CODE", "delib_matiere_code"),
    ("DELIB_MATIERE_NOM", "delib_matiere_nom"),
    ("DELIB_OBJET", "delib_objet"),
    ("BUDGET_ANNEE", "budget_annee"),
    ("BUDGET_NOM", "budget_nom"),
    ("PREF_ID", "pref_id"),
    ("PREF_DATE", "pref_date"),
    ("VOTE_EFFECTIF", "vote_effectif"),
    ("VOTE_REEL", "vote_reel"),
    ("VOTE_POUR", "vote_pour"),
    ("VOTE_CONTRE", "vote_contre"),
    ("VOTE_ABSTENTION", "vote_abstention"),
    ("DELIB_URL", "delib_url"),
)

#: Sort keys → (column, DuckDB type used to re-bind the cursor value).
SORT_COLUMNS: dict[str, tuple[str, str]] = {
    "delib_date": ("delib_date", "DATE"),
    "siren": ("siren", "VARCHAR"),
    "delib_id": ("delib_id", "VARCHAR"),
    "acte_id": ("acte_id", "VARCHAR"),
}

STATS_GROUPS: dict[str, tuple[str, str]] = {
    "matiere": ("coalesce(delib_matiere_code, '')", "min(delib_matiere_nom)"),
    "annee": ("CAST(annee AS VARCHAR)", "NULL"),
    "mois": ("strftime(delib_date, '%Y-%m')", "NULL"),
    "nature": ("CAST(nature AS VARCHAR)", "min(nature_libelle)"),
    "collectivite": ("siren", "arg_max(coll_nom, delib_date)"),
}

# Words too common in French objets to narrow a search; ignored unless the query has nothing else.
_STOPWORDS = frozenset(
    [
        "a",
        "au",
        "aux",
        "d",
        "de",
        "des",
        "du",
        "en",
        "et",
        "l",
        "la",
        "le",
        "les",
        "par",
        "pour",
        "sur",
        "un",
        "une",
    ]
)
_TOKEN = re.compile(r"\w+", re.UNICODE)


def fold(text: str) -> str:
    """Case and accent folding, the Python twin of DuckDB ``strip_accents(lower(x))``."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def search_tokens(q: str) -> list[str]:
    """Tokens of a full-text query (folded); AND-matched against the folded objet."""
    tokens = [t for t in _TOKEN.findall(fold(q)) if t]
    meaningful = [t for t in tokens if t not in _STOPWORDS]
    return list(dict.fromkeys(meaningful or tokens))[:20]


@dataclass(frozen=True)
class Filtres:
    """Filters resolved from request parameters; ``natures`` empty = every public nature."""

    sirens: tuple[str, ...] = ()
    annee: int | None = None
    date_min: date | None = None
    date_max: date | None = None
    matiere: str | None = None
    tokens: tuple[str, ...] = ()
    publie: bool | None = None
    natures: tuple[int, ...] = ()

    @classmethod
    def from_params(cls, params: Any, natures: tuple[int, ...] = ()) -> Filtres:
        return cls(
            sirens=tuple(sorted(params.siren)),
            annee=params.annee,
            date_min=params.date_min,
            date_max=params.date_max,
            matiere=params.matiere,
            tokens=tuple(search_tokens(params.q)) if params.q else (),
            publie=params.publie,
            natures=natures,
        )

    def canonical(self) -> str:
        """The filters as one canonical string (sorted sirens, folded search tokens): equal filters,
        however the query string spelled them, give equal strings."""
        return json.dumps(
            [
                self.sirens,
                self.annee,
                str(self.date_min),
                str(self.date_max),
                self.matiere,
                self.tokens,
                self.publie,
                self.natures,
            ],
            ensure_ascii=False,
        )

    def fingerprint(self) -> str:
        """Hash binding a cursor to the filters it was issued for."""
        return hashlib.sha256(self.canonical().encode()).hexdigest()[:16]

    def export_digest(self, version: str, sort: str, fmt: str) -> str:
        """sha256 naming a stored export: same data version, filters, sort and format = same bytes.

        The sort is part of it because it changes the row order, hence the bytes."""
        payload = json.dumps([version, self.canonical(), sort, fmt], ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()

    def partitions(self, dataset_partitions: list[Partition]) -> list[Partition]:
        """Partition pruning on siren and year (from ``annee`` or the date bounds)."""
        low = self.date_min.year if self.date_min else None
        high = self.date_max.year if self.date_max else None
        selected = []
        for p in dataset_partitions:
            if self.sirens and p.siren not in self.sirens:
                continue
            if self.annee is not None and p.annee != self.annee:
                continue
            if (low is not None and p.annee < low) or (high is not None and p.annee > high):
                continue
            selected.append(p)
        return selected

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if self.natures:
            clauses.append(f"nature IN ({', '.join('?' for _ in self.natures)})")
            args.extend(self.natures)
        if self.sirens:
            clauses.append(f"siren IN ({', '.join('?' for _ in self.sirens)})")
            args.extend(self.sirens)
        if self.annee is not None:
            clauses.append("annee = ?")
            args.append(self.annee)
        if self.date_min is not None:
            clauses.append("delib_date >= ?")
            args.append(self.date_min)
        if self.date_max is not None:
            clauses.append("delib_date <= ?")
            args.append(self.date_max)
        if self.matiere:
            clauses.append("(delib_matiere_code = ? OR starts_with(delib_matiere_code, ?))")
            args.extend([self.matiere, self.matiere + "."])
        for token in self.tokens:
            clauses.append("contains(__OBJET__, ?)")  # the source says how the folded objet is read
            args.append(token)
        if self.publie is not None:
            clauses.append("documents_publics = ?")
            args.append(self.publie)
        return (" AND ".join(clauses) or "TRUE"), args


@dataclass(frozen=True)
class Cursor:
    """Keyset position: the last row's sort value and tie-breaker, bound to one sort and one filter set.

    The one cursor of the API: each list parameterises it by its sort table (:attr:`sorts`: sort key →
    (SQL expression, DuckDB type used to re-bind the value)) and its tie column (:attr:`tie_sql`, unique
    per row); ``/v1/deliberations`` uses this class, the marchés and the budgets subclass it with theirs.
    """

    sort: str
    value: Any
    tie: str
    fingerprint: str

    sorts: ClassVar[dict[str, tuple[str, str]]] = SORT_COLUMNS
    tie_sql: ClassVar[str] = "acte_id"

    @property
    def acte_id(self) -> str:
        """The tie of a délibérations cursor (its tie column is ``acte_id``)."""
        return self.tie

    def encode(self) -> str:
        value = self.value.isoformat() if isinstance(self.value, date) else self.value
        raw = json.dumps(
            {"s": self.sort, "v": value, "t": self.tie, "f": self.fingerprint}, ensure_ascii=False
        )
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, sort: str, filtres: Any) -> Self:
        """``filtres``: anything with ``fingerprint()`` (the filters the cursor must have been issued for)."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            payload = json.loads(raw)
            tie = payload["t"] if "t" in payload else payload["i"]  # "i": cursors issued before the merge
            cursor = cls(str(payload["s"]), payload["v"], str(tie), str(payload["f"]))
            kind = cls.sorts[cursor.sort.lstrip("-")][1]
            value = cursor.value
            if kind == "DATE":
                cursor = cls(cursor.sort, date.fromisoformat(str(value)), cursor.tie, cursor.fingerprint)
            elif kind in {"DOUBLE", "DECIMAL(18,2)"}:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError("type")
            elif kind in {"INTEGER", "BIGINT"}:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError("type")
            elif not isinstance(value, str):
                raise ValueError("type")
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError, json.JSONDecodeError):
            raise invalid_value("cursor", "curseur illisible ; reprenez depuis la première page") from None
        if cursor.sort != sort or cursor.fingerprint != filtres.fingerprint():
            raise invalid_value("cursor", "ce curseur a été émis pour d'autres filtres ou un autre tri")
        return cursor

    @classmethod
    def order_by(cls, sort: str) -> str:
        """``ORDER BY`` body of a sort: the sort expression, then the tie column, same direction."""
        expr = cls.sorts[sort.lstrip("-")][0]
        direction = "DESC" if sort.startswith("-") else "ASC"
        return f"{expr} {direction}, {cls.tie_sql} {direction}"

    def keyset(self) -> tuple[str, list[Any]]:
        """`` AND (…)`` clause keeping the rows after this position, and its bound parameters."""
        expr, kind = self.sorts[self.sort.lstrip("-")]
        op = "<" if self.sort.startswith("-") else ">"
        clause = (
            f" AND ({expr} {op} CAST(? AS {kind}) OR ({expr} = CAST(? AS {kind}) AND {self.tie_sql} {op} ?))"
        )
        return clause, [self.value, self.value, self.tie]

    @classmethod
    def after(cls, sort: str, row: dict[str, Any], value_key: str, tie_key: str, filtres: Any) -> str:
        """The encoded cursor positioned on ``row`` (the last row of a page)."""
        return cls(sort, row[value_key], row[tie_key], filtres.fingerprint()).encode()


MEMORY_TABLE = "actes_publics"
#: What map popups and report tables show of the latest acts (fewer columns = cheaper window query).
LATEST_FIELDS = (
    "acte_id",
    "siren",
    "annee",
    "delib_date",
    "delib_objet",
    "delib_matiere_code",
    "delib_url",
    "documents_publics",
)
FOLDED_OBJET = "strip_accents(lower(delib_objet))"


@dataclass(frozen=True)
class Source:
    """A FROM clause (and its parameters) holding the rows of a request, plus their data version."""

    sql: str
    params: list[Any]
    version: str
    empty: bool
    objet: str = FOLDED_OBJET  # folded objet: computed per row, or precomputed in the memory table
    counts: bool = False  # rows of the counts dataset (public/lake/comptes/): one row = ``nombre`` acts

    def count(self, condition: str | None = None) -> str:
        """``count(*)`` (optionally ``FILTER (WHERE condition)``), or its sum over the counts dataset."""
        where = f" FILTER (WHERE {condition})" if condition else ""
        return f"CAST(coalesce(sum(nombre){where}, 0) AS BIGINT)" if self.counts else f"count(*){where}"


@dataclass
class Page:
    rows: list[dict[str, Any]]
    total: int
    next_cursor: str | None
    version: str


@dataclass
class QueryResult:
    """Rows plus the data version they were computed from."""

    rows: list[dict[str, Any]]
    version: str
    extra: dict[str, Any] = field(default_factory=dict)


class ActesQuery:
    """The query layer: partition selection, local files, DuckDB."""

    def __init__(self, dataset: PublicDataset, memory_threshold: int = 64, lake: Lake | None = None) -> None:
        self.dataset = dataset
        self.lake = lake  # compacted read datasets (regate.api.lake); the partitions when it has none
        self.recorder: list[tuple[str, list[Any]]] | None = None  # (SQL, parameters) sent, for the bench
        self.memory_threshold = memory_threshold
        self.per_siren_listing_max = 5
        self.memory_loads = 0
        self._conn: Any = None
        self._lock = threading.Lock()
        self._memory_lock = threading.Lock()
        self._memory_files: set[str] = set()
        self._memory_ready = False

    # --------------------------------------------------------------------------- plumbing
    def _cursor(self) -> Any:
        with self._lock:
            if self._conn is None:
                import duckdb

                skip_absent_optional_imports()
                self._conn = duckdb.connect(":memory:")
                # Parquet footers cached across queries (local files are named by ETag: never stale)
                self._conn.execute("SET parquet_metadata_cache = true")
            return self._conn.cursor()

    def _files(self, filtres: Filtres, counts: bool = False, national: bool = False) -> Source:
        """Where a filter's rows are read from, and their data version.

        With a lake (:mod:`regate.api.lake`): its yearly compacted files, or — ``counts`` and a filter the
        counts dataset answers — its counts files (``national``: the counts without siren, when the query
        needs no siren). Otherwise the partitions:

        Few partitions (one collectivité, one year…): ``read_parquet`` on the cached local files. Many
        (national queries): an in-memory table of every public partition, kept in sync incrementally with
        the listing — opening thousands of small Parquet files costs ~1.5 ms each per query, the table
        costs nothing once loaded. Either way the filter's WHERE clause does the selection.
        """
        if self.lake is not None:
            source = self._lake_files(filtres, counts, national)
            if source is not None:
                return source
        for attempt in (0, 1):
            snapshot = self._snapshot(filtres, refresh=attempt == 1)
            partitions = filtres.partitions(list(snapshot.partitions))
            version = data_version(partitions)
            try:
                if len(partitions) > self.memory_threshold:
                    snapshot = self.dataset.snapshot(refresh=attempt == 1) if filtres.sirens else snapshot
                    self._sync_memory(list(snapshot.partitions))
                    return Source(MEMORY_TABLE, [], version, empty=False, objet="objet_plie")
                files = self.dataset.local_files(partitions)
                return Source("read_parquet(?, hive_partitioning=false)", [files], version, empty=not files)
            except PartitionChanged:
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def _lake_files(self, filtres: Filtres, counts: bool, national: bool) -> Source | None:
        assert self.lake is not None
        kinds = ["actes"]
        if counts and counts_answer(filtres):
            kinds.insert(0, "comptes")
        if counts and national and counts_answer(filtres, national=True):
            kinds.insert(0, "comptes_nationaux")
        for attempt in (0, 1):
            try:
                for kind in kinds:
                    found = self.lake.files(filtres, kind, attempt == 1)
                    if found is not None:
                        break
                if found is None:
                    return None
                sql = "read_parquet(?, hive_partitioning=false)"
                by_counts = kind != "actes"
                return Source(sql, [found.files], found.version, empty=not found.files, counts=by_counts)
            except PartitionChanged:
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def _sync_memory(self, partitions: list[Partition]) -> None:
        """Make the in-memory table hold exactly ``partitions`` (load new versions, drop old ones)."""
        with self._memory_lock:
            wanted = dict(zip(self.dataset.local_files(partitions), partitions, strict=True))
            stale = [f for f in self._memory_files if f not in wanted]
            fresh = [f for f in wanted if f not in self._memory_files]
            if not stale and not fresh and self._memory_ready:
                return
            cur = self._cursor()
            try:
                if not self._memory_ready:
                    cur.execute(
                        f"CREATE OR REPLACE TABLE {MEMORY_TABLE} AS SELECT *, {FOLDED_OBJET} AS objet_plie "
                        "FROM read_parquet(?, hive_partitioning=false, filename=true) LIMIT 0",
                        [list(wanted)[:1] or fresh[:1]],
                    )
                    self._memory_ready = True
                cur.execute("BEGIN TRANSACTION")
                if stale:
                    cur.execute(f"DELETE FROM {MEMORY_TABLE} WHERE filename IN (SELECT unnest(?))", [stale])
                if fresh:
                    cur.execute(
                        f"INSERT INTO {MEMORY_TABLE} BY NAME SELECT *, {FOLDED_OBJET} AS objet_plie FROM "
                        "read_parquet(?, hive_partitioning=false, filename=true, union_by_name=true)",
                        [fresh],
                    )
                cur.execute("COMMIT")
            finally:
                cur.close()
            self._memory_files = set(wanted)
            self.memory_loads += len(fresh)

    def _snapshot(self, filtres: Filtres, refresh: bool = False) -> Any:
        """Per-SIREN listings for requests on a few collectivités, the full listing otherwise."""
        if filtres.sirens and len(filtres.sirens) <= self.per_siren_listing_max:
            return self.dataset.snapshot_for(filtres.sirens, refresh=refresh)
        return self.dataset.snapshot(refresh=refresh)

    def version(self, filtres: Filtres) -> str:
        """Data version of a filter without downloading anything (cheap ETag pre-check)."""
        if self.lake is not None and (version := self.lake.version(filtres)) is not None:
            return version
        return data_version(filtres.partitions(list(self._snapshot(filtres).partitions)))

    def _fetch(self, sql: str, args: list[Any], source: Source) -> list[dict[str, Any]]:
        if source.empty:
            return []
        cur = self._cursor()
        try:
            sql = sql.replace("__ACTES__", source.sql).replace("__OBJET__", source.objet)
            if self.recorder is not None:
                self.recorder.append((sql, [*source.params, *args]))
            result = cur.execute(sql, [*source.params, *args])
            names = [d[0] for d in result.description]
            return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
        finally:
            cur.close()

    # ------------------------------------------------------------------------ deliberations
    def page(self, filtres: Filtres, sort: str, limit: int, cursor: Cursor | None, fields: list[str]) -> Page:
        """One keyset page (stable under inserts: the position is a value, not an offset)."""
        files = self._files(filtres)
        version = files.version
        where, args = filtres.where()
        total_rows = self._fetch(f"SELECT count(*) AS n FROM __ACTES__ WHERE {where}", args, files)
        total = int(total_rows[0]["n"]) if total_rows else 0
        column, _kind = SORT_COLUMNS[sort.lstrip("-")]
        keyset, keyset_args = cursor.keyset() if cursor is not None else ("", [])
        wanted = fields or list(DELIBERATION_FIELDS)
        columns = sorted(set(wanted) | {column, "acte_id", "documents_publics", "document_id", "annexes"})
        sql = (
            f"SELECT {', '.join(columns)} FROM __ACTES__ "
            f"WHERE {where}{keyset} ORDER BY {Cursor.order_by(sort)} LIMIT ?"
        )
        rows = self._fetch(sql, [*args, *keyset_args, limit + 1], files)
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            next_cursor = Cursor.after(sort, last, column, "acte_id", filtres)
        return Page([public_row(r, wanted) for r in rows], total, next_cursor, version)

    def rows_by_ids(self, filtres: Filtres, acte_ids: list[str], fields: list[str]) -> Page:
        """The public rows of these acts among ``filtres`` (full-text search hits), keyed by nothing: the
        caller orders them. An id the public dataset does not hold gives no row."""
        files = self._files(filtres)
        where, args = filtres.where()
        wanted = fields or list(DELIBERATION_FIELDS)
        columns = sorted(set(wanted) | {"acte_id", "documents_publics", "document_id", "annexes"})
        sql = f"SELECT {', '.join(columns)} FROM __ACTES__ WHERE {where} AND list_contains(?, acte_id)"
        rows = self._fetch(sql, [*args, list(acte_ids)], files) if acte_ids else []
        return Page(
            [public_row(r, sorted({*wanted, "acte_id"})) for r in rows], len(rows), None, files.version
        )

    def export(self, filtres: Filtres, sort: str, fmt: str) -> tuple[bytes, str]:
        """The whole filtered set as SCDL CSV or Parquet (public columns), plus its data version."""
        self.dataset.cache_dir.mkdir(parents=True, exist_ok=True)
        out = Path(self.dataset.cache_dir) / f".export-{uuid.uuid4().hex}.{fmt}"
        try:
            version = self.export_to(filtres, sort, fmt, out)
            return out.read_bytes(), version
        finally:
            out.unlink(missing_ok=True)

    def export_to(self, filtres: Filtres, sort: str, fmt: str, out: Path) -> str:
        """Write the export to the local file ``out`` (the caller owns it); return its data version.

        On disk, not in memory: the caller looks at the size before deciding to read, store or refuse it."""
        files = self._files(filtres)
        version = files.version
        if fmt == "csv":
            # the project's CSV dialect (regate.scdl.csvfile): CRLF, quotes only when needed, empty = nothing
            select = ", ".join(
                f"{src} AS {name}" if src in _EXPORT_TYPES else f"nullif({src}, '') AS {name}"
                for name, src in SCDL_COLUMNS
            )
            empty_header = (",".join(name for name, _ in SCDL_COLUMNS) + "\r\n").encode()
        else:
            select = ", ".join(c for c in DELIBERATION_FIELDS if c != "annexes") + ", annexes"
            empty_header = b""
        if files.empty and fmt == "csv":
            out.write_bytes(empty_header)
            return version
        where, args = filtres.where()
        if files.empty:
            cur = self._cursor()
            try:
                _empty_parquet(cur, out)
                return version
            finally:
                cur.close()
        options = (
            "FORMAT csv, HEADER true, DELIMITER ',', NEW_LINE '\r\n'"
            if fmt == "csv"
            else "FORMAT parquet, COMPRESSION zstd"
        )
        order = f"ORDER BY {Cursor.order_by(sort)}"
        cur = self._cursor()
        try:
            where = where.replace("__OBJET__", files.objet)
            cur.execute(
                f"COPY (SELECT {select} FROM {files.sql} WHERE {where} {order}) TO '{out}' ({options})",
                [*files.params, *args],
            )
            return version
        finally:
            cur.close()

    # ------------------------------------------------------------------------------ stats
    def stats(self, filtres: Filtres, group: str) -> QueryResult:
        files = self._files(filtres, counts=True, national=group != "collectivite")
        version = files.version
        key_sql, label_sql = STATS_GROUPS[group]
        where, args = filtres.where()
        rows = self._fetch(
            f"SELECT {key_sql} AS cle, {label_sql} AS libelle, {files.count()} AS nombre "
            f"FROM __ACTES__ WHERE {where} GROUP BY 1 ORDER BY 1",
            args,
            files,
        )
        return QueryResult(
            [{"cle": r["cle"], "libelle": r["libelle"], "nombre": int(r["nombre"])} for r in rows], version
        )

    # ------------------------------------------------------------------------ collectivités
    def summary(self, filtres: Filtres) -> QueryResult:
        """Counts per (siren, annee, nature) with the latest name/SIRET/date: feeds collectivités and maps."""
        files = self._files(filtres, counts=True)
        version = files.version
        where, args = filtres.where()
        rows = self._fetch(
            f"SELECT siren, annee, nature, {files.count()} AS nombre, "
            f"{files.count('documents_publics')} AS nombre_documents, max(delib_date) AS derniere, "
            "arg_max(coll_nom, delib_date) AS nom, arg_max(coll_siret, delib_date) AS siret "
            f"FROM __ACTES__ WHERE {where} "
            "GROUP BY ALL ORDER BY siren, annee, nature",
            args,
            files,
        )
        return QueryResult(rows, version)

    def latest(self, filtres: Filtres, per_group: int, by_year: bool = True) -> list[dict[str, Any]]:
        """The ``per_group`` most recent acts per collectivité (and year), newest first in each group.

        Rows come grouped by ``siren`` (then ``annee`` when ``by_year``) and ranked inside each group, so
        the list across years is newest first too (never 2023 before 2024)."""
        files = self._files(filtres)
        where, args = filtres.where()
        partition = "siren, annee" if by_year else "siren"
        columns = ", ".join(LATEST_FIELDS)
        return [
            public_row(r, list(LATEST_FIELDS))
            for r in self._fetch(
                f"SELECT {columns}, row_number() OVER (PARTITION BY {partition} "
                "ORDER BY delib_date DESC, acte_id DESC) AS rang "
                f"FROM __ACTES__ WHERE {where} QUALIFY rang <= ? ORDER BY {partition}, rang",
                [*args, per_group],
                files,
            )
        ]

    def grouped_counts(self, filtres: Filtres, key_sql: str) -> list[dict[str, Any]]:
        """Counts by a fixed expression from :data:`STATS_GROUPS` or this module (never user text)."""
        files = self._files(filtres, counts=True)
        where, args = filtres.where()
        return self._fetch(
            f"SELECT {key_sql} AS cle, {files.count()} AS nombre FROM __ACTES__ WHERE {where} "
            "GROUP BY 1 ORDER BY 1",
            args,
            files,
        )

    # ------------------------------------------------------------------------------ documents
    def document_is_public(self, document_id: str) -> bool:
        """True only when a public row lists this id as its main document or an annex, documents published."""
        files = self._files(Filtres())
        rows = self._fetch(
            "SELECT count(*) AS n FROM __ACTES__ WHERE documents_publics AND "
            "(document_id = ? OR (annexes IS NOT NULL AND json_valid(annexes) AND "
            "list_contains(json_extract_string(annexes, '$[*].document_id'), ?)))",
            [document_id, document_id],
            files,
        )
        return bool(rows and rows[0]["n"])


#: DuckDB types of the exported public columns (an empty export still has the right schema).
_EXPORT_TYPES = {
    "annee": "INTEGER",
    "nature": "TINYINT",
    "delib_date": "DATE",
    "pref_date": "DATE",
    "vote_effectif": "INTEGER",
    "vote_reel": "INTEGER",
    "vote_pour": "INTEGER",
    "vote_contre": "INTEGER",
    "vote_abstention": "INTEGER",
    "documents_publics": "BOOLEAN",
}


def _empty_parquet(cursor: Any, path: Path) -> bytes:
    """A valid Parquet file with the public columns and no row (nothing matched) — no pyarrow needed."""
    columns = [*(c for c in DELIBERATION_FIELDS if c != "annexes"), "annexes"]
    select = ", ".join(f"CAST(NULL AS {_EXPORT_TYPES.get(c, 'VARCHAR')}) AS {c}" for c in columns)
    cursor.execute(f"COPY (SELECT {select} LIMIT 0) TO '{path}' (FORMAT parquet)")
    return path.read_bytes()


def public_row(row: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """JSON view of a row: ISO dates, parsed annexes; documents hidden unless published."""
    published = bool(row.get("documents_publics"))
    out: dict[str, Any] = {}
    for name in fields:
        value = row.get(name)
        if name == "delib_url" and not published:
            value = None
        elif name == "annexes":
            value = _annexes(value) if published else []
        elif isinstance(value, date):
            value = value.isoformat()
        out[name] = value
    return out


def _annexes(raw: Any) -> list[dict[str, Any]]:
    if not raw:
        return []
    try:
        items = json.loads(raw)
    except (TypeError, ValueError):
        return []
    if not isinstance(items, list):
        return []
    return [
        {"document_id": str(i["document_id"]), "nom": str(i.get("nom") or "")}
        for i in items
        if isinstance(i, dict) and i.get("document_id")
    ]
