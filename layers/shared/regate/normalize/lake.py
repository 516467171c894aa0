"""Compacted public read datasets (``public/lake/``) and the read step that maintains them.

The per-(SIREN, year) partitions stay the source of truth (the SCDL outputs and publication need them); the
lake is derived from them for readers that ask national questions (the API, Athena):

* ``public/lake/actes/annee={annee}/data.parquet`` — exactly the rows of that year's public partitions
  (``public/actes/siren=*/annee={annee}/``), public columns only, sorted by ``siren``, ``delib_date``,
  ``acte_id``, row groups of ``REGATE_LAKE_ROW_GROUP_ROWS`` rows (min/max statistics on ``siren`` and
  ``delib_date`` let a reader skip the row groups of other collectivités). Its Parquet metadata records the
  ETag of every partition it holds, so a rebuild reuses the rows of unchanged collectivités and reads only
  the partitions that changed (one GET each), plus the previous compacted file (one GET).
* ``public/lake/comptes/annee={annee}/data.parquet`` — counts of those rows per collectivité × month ×
  matière × nature × ``documents_publics``, with the same column names as the acts (``delib_date`` is the
  latest date of the group, ``coll_nom`` / ``coll_siret`` its latest values), plus ``nombre``: the API's
  stats, mReport and map summaries are the same SQL with ``count(*)`` read as ``sum(nombre)``.
* ``public/lake/comptes_nationaux/annee={annee}/data.parquet`` — the same counts summed over the
  collectivités (month × matière × nature × ``documents_publics``): national stats read a few thousand rows
  instead of one per collectivité and month (at 35 000 collectivités the counts are almost as long as the
  acts).
* ``public/lake/manifest.json`` — the years and the ETags of their two files: the API's whole listing.

No lost update: each year is rebuilt under the optimistic loop of :mod:`regate.normalize.partitions`
(``_state/lake/{annee}.json`` holds the partition ETags the year was built from, written ``If-Match``), and
the manifest under its own (``_state/lake/manifest.json``). Whoever commits last listed the partitions after
every partition writer's commit, so its files hold them all.

Privacy: only ``public/actes/`` is read (withheld acts never reach it), the rows are projected on
``PUBLIC_ACTES_SCHEMA`` and rows whose decision is not public are dropped again (defence in depth).

The read step (national SCDL files + lake) runs after a batch of events, or — ``REGATE_LAKE_DEBOUNCE_SECONDS``
> 0 — once per burst: the event path only drops a marker ``_state/lake-pending/{annee}/{token}`` (one PUT
per year touched) and a scheduled invocation runs the years whose newest marker is older than the debounce
(or whose oldest waited ``REGATE_LAKE_MAX_DELAY_SECONDS``), then deletes exactly the markers it listed.
Acts that left the public dataset do not wait: the normaliser runs the step at once (privacy first).
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from regate.normalize.decision import PUBLIC_DECISIONS
from regate.normalize.partitions import serialised
from regate.storage import layout
from regate.storage.store import ObjectStore, dumps_canonical, sha256_hex

PARQUET = "application/vnd.apache.parquet"
SOURCES_METADATA = b"regate.sources"
#: group keys of the counts dataset (same names as the acts' columns)
COUNT_KEYS = ("siren", "annee", "mois", "delib_matiere_code", "nature", "documents_publics")
SORT_KEYS = (("siren", "ascending"), ("delib_date", "ascending"), ("acte_id", "ascending"))

#: S3 user metadata on the compacted files of a year: sha256 of the partition ETags they hold (a HEAD
#: tells whether a year is up to date without reading it)
SOURCES_META = "regate-sources-sha256"
Listing = dict[int, dict[str, tuple[str, str]]]  # annee → siren → (key, ETag) of the public partitions


@dataclass(frozen=True)
class LakeOptions:
    row_group_rows: int = 2048
    workers: int = 8
    debounce_seconds: float = 0.0
    max_delay_seconds: float = 300.0
    max_attempts: int = 500

    @classmethod
    def from_settings(cls, settings: Any) -> LakeOptions:
        return cls(
            row_group_rows=getattr(settings, "lake_row_group_rows", 2048),
            workers=getattr(settings, "lake_workers", 8),
            debounce_seconds=getattr(settings, "lake_debounce_seconds", 0.0),
            max_delay_seconds=getattr(settings, "lake_max_delay_seconds", 300.0),
        )


@dataclass
class LakeResult:
    years: list[int] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    partitions_read: int = 0
    partitions_reused: int = 0
    rows: dict[int, int] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- listing
def list_public_partitions(store: ObjectStore) -> Listing:
    """Every public partition (one paginated LIST of ``public/actes/``), by year then SIREN."""
    found: Listing = {}
    for item in store.list_objects(layout.PUBLIC_ACTES_PARQUET_PREFIX):
        key = item["Key"]
        parsed = layout.parse_partition_key(key)
        if parsed is None:
            continue
        try:
            if key != layout.actes_parquet_key(parsed[0], parsed[1], public=True):
                continue
        except ValueError:
            continue
        found.setdefault(parsed[1], {})[parsed[0]] = (key, item["ETag"])
    return found


def lake_years(store: ObjectStore) -> set[int]:
    """Years that have a compacted file (so a year whose partitions all went away loses its files)."""
    return {
        parsed[1] for key in store.list_keys(layout.LAKE_PREFIX) if (parsed := layout.parse_lake_key(key))
    }


# ------------------------------------------------------------------------------------------- building
def _schema() -> Any:
    from regate.storage.datasets import PUBLIC_ACTES_SCHEMA

    return PUBLIC_ACTES_SCHEMA


def _parquet(table: Any, row_group_rows: int) -> bytes:
    """Fixed writer options (same rows ⇒ same bytes ⇒ ``put_if_changed`` writes nothing)."""
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(
        table,
        sink,
        compression="zstd",
        compression_level=3,
        use_dictionary=True,
        write_statistics=True,
        row_group_size=row_group_rows,
        version="2.6",
        data_page_version="1.0",
        store_schema=True,
    )
    return sink.getvalue()


def public_rows(table: Any) -> Any:
    """The public columns, typed as ``PUBLIC_ACTES_SCHEMA``, public decisions only."""
    import pyarrow as pa
    import pyarrow.compute as pc

    schema = _schema()
    table = table.select(schema.names).cast(schema)
    keep = pc.is_in(table["decision"], value_set=pa.array(sorted(PUBLIC_DECISIONS)))
    return table.filter(keep)


def compact(tables: list[Any]) -> Any:
    """One year's acts: concatenated, sorted by SIREN, date, acte_id, metadata-free."""
    import pyarrow as pa

    schema = _schema()
    table = pa.concat_tables([public_rows(t) for t in tables]) if tables else schema.empty_table()
    return table.sort_by(list(SORT_KEYS)).replace_schema_metadata(None)


def counts(table: Any) -> Any:
    """Per collectivité × month × matière × nature × documents_publics: ``nombre`` and the group's latest
    date, collectivité name and SIRET (``table`` sorted by date inside each SIREN, as :func:`compact`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    mois = pc.strftime(table["delib_date"].cast(pa.timestamp("s")), format="%Y-%m")
    grouped = (
        table.select(["siren", "annee", "delib_matiere_code", "nature", "documents_publics", "acte_id"])
        .append_column("mois", mois)
        .append_column("delib_date", table["delib_date"])
        .append_column("delib_matiere_nom", table["delib_matiere_nom"])
        .append_column("nature_libelle", table["nature_libelle"])
        .append_column("coll_nom", table["coll_nom"])
        .append_column("coll_siret", table["coll_siret"])
        .group_by(list(COUNT_KEYS), use_threads=False)
        .aggregate(
            [
                ("acte_id", "count"),
                ("delib_date", "max"),
                ("delib_matiere_nom", "min"),
                ("nature_libelle", "min"),
                ("coll_nom", "last"),
                ("coll_siret", "last"),
            ]
        )
    )
    out = pa.table(
        {
            "siren": grouped["siren"],
            "annee": grouped["annee"],
            "mois": grouped["mois"],
            "delib_matiere_code": grouped["delib_matiere_code"],
            "delib_matiere_nom": grouped["delib_matiere_nom_min"],
            "nature": grouped["nature"],
            "nature_libelle": grouped["nature_libelle_min"],
            "documents_publics": grouped["documents_publics"],
            "nombre": grouped["acte_id_count"].cast(pa.int64()),
            "delib_date": grouped["delib_date_max"],
            "coll_nom": grouped["coll_nom_last"],
            "coll_siret": grouped["coll_siret_last"],
        }
    )
    return out.sort_by([(k, "ascending") for k in COUNT_KEYS])


def sources_digest(sources: dict[str, str]) -> str:
    return sha256_hex(json.dumps(dict(sorted(sources.items())), separators=(",", ":")).encode())


def national_counts(table_counts: Any) -> Any:
    """:func:`counts` summed over the collectivités (same column names, no ``siren``, name or SIRET)."""
    import pyarrow as pa

    keys = [k for k in COUNT_KEYS if k != "siren"]
    grouped = table_counts.group_by(keys, use_threads=False).aggregate(
        [("nombre", "sum"), ("delib_date", "max"), ("delib_matiere_nom", "min"), ("nature_libelle", "min")]
    )
    out = pa.table(
        {
            "annee": grouped["annee"],
            "mois": grouped["mois"],
            "delib_matiere_code": grouped["delib_matiere_code"],
            "delib_matiere_nom": grouped["delib_matiere_nom_min"],
            "nature": grouped["nature"],
            "nature_libelle": grouped["nature_libelle_min"],
            "documents_publics": grouped["documents_publics"],
            "nombre": grouped["nombre_sum"].cast(pa.int64()),
            "delib_date": grouped["delib_date_max"],
        }
    )
    return out.sort_by([(k, "ascending") for k in keys])


def _previous(store: ObjectStore, annee: int) -> tuple[Any, dict[str, str]]:
    """The current compacted file of the year and the partition ETags it says it holds."""
    import pyarrow.parquet as pq

    found = store.get_with_etag(layout.lake_key("actes", annee))
    if found is None:
        return None, {}
    parquet = pq.ParquetFile(io.BytesIO(found[0]))
    raw = (parquet.schema_arrow.metadata or {}).get(SOURCES_METADATA)
    try:
        sources = json.loads(raw) if raw else {}
    except ValueError:
        sources = {}
    if not isinstance(sources, dict):
        sources = {}
    return parquet.read(), {str(k): str(v) for k, v in sources.items()}


def rebuild_lake_year(
    store: ObjectStore,
    annee: int,
    listing: Callable[[bool], dict[str, tuple[str, str]]],
    options: LakeOptions,
    result: LakeResult,
) -> None:
    """Rebuild the compacted files of one year (``listing(fresh)`` → that year's public partitions)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    attempts = 0

    def build() -> tuple[dict[str, Any], Callable[[], None]]:
        nonlocal attempts
        attempts += 1
        sources = listing(attempts > 1)
        state = {siren: etag for siren, (_key, etag) in sorted(sources.items())}

        def write() -> None:
            keys = [layout.lake_key(dataset, annee) for dataset in layout.LAKE_DATASETS]
            digest = sources_digest(state)
            heads = [store.head(key) for key in keys]
            if all(h is not None and (h.get("Metadata") or {}).get(SOURCES_META) == digest for h in heads):
                result.partitions_reused += len(state)  # the files already hold exactly these partitions
                return
            if not state and all(h is None for h in heads):
                return
            old, old_sources = _previous(store, annee)
            keep = sorted(s for s, etag in state.items() if old_sources.get(s) == etag)
            tables: list[Any] = []
            held: dict[str, str] = {s: state[s] for s in keep}
            if old is not None and keep:
                tables.append(old.filter(pc.is_in(old["siren"], value_set=pa.array(keep))))
            fresh = [s for s in state if s not in held]

            def read(siren: str) -> tuple[str, Any, str] | None:
                found = store.get_with_etag(sources[siren][0])
                if found is None:
                    return None
                return siren, pq.read_table(io.BytesIO(found[0])), found[1]

            workers = max(1, min(options.workers, len(fresh)))
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for item in pool.map(read, fresh):
                    if item is not None:
                        tables.append(item[1])
                        held[item[0]] = item[2]  # the ETag actually read
            result.partitions_read += len(fresh)
            result.partitions_reused += len(keep)
            table = compact(tables)
            result.rows[annee] = table.num_rows
            if table.num_rows == 0:
                for key in keys:
                    if store.delete(key):
                        result.deleted.append(key)
                return
            meta = {SOURCES_METADATA: json.dumps(dict(sorted(held.items())), separators=(",", ":")).encode()}
            tag = {SOURCES_META: sources_digest(held)}
            by_siren = counts(table)
            outputs = (table, by_siren, national_counts(by_siren))  # acts first: privacy
            for key, output in zip(keys, outputs, strict=True):
                body = _parquet(output.replace_schema_metadata(meta), options.row_group_rows)
                if store.put_if_changed(key, body, content_type=PARQUET, metadata=tag).written:
                    result.written.append(key)

        return {"sources": state}, write

    serialised(store, layout.lake_state_key(annee), build, options.max_attempts)
    result.years.append(annee)


def write_manifest(store: ObjectStore, result: LakeResult, max_attempts: int = 500) -> dict[str, Any]:
    """``public/lake/manifest.json`` from a LIST of ``public/lake/`` (a few keys per year)."""
    written: dict[str, Any] = {}

    def build() -> tuple[dict[str, Any], Callable[[], None]]:
        years: dict[str, dict[str, Any]] = {}
        for item in store.list_objects(layout.LAKE_PREFIX):
            parsed = layout.parse_lake_key(item["Key"])
            if parsed is None:
                continue
            dataset, annee = parsed
            years.setdefault(f"{annee:04d}", {})[dataset] = {
                "key": item["Key"],
                "etag": item["ETag"].strip('"'),
                "size": int(item.get("Size", 0)),
            }
        manifest = {"format": 1, "annees": years}

        def write() -> None:
            written.clear()
            written.update(manifest)
            body = dumps_canonical(manifest)
            if store.put_if_changed(layout.LAKE_MANIFEST_KEY, body, content_type="application/json").written:
                result.written.append(layout.LAKE_MANIFEST_KEY)

        return manifest, write

    serialised(store, layout.LAKE_MANIFEST_STATE_KEY, build, max_attempts)
    return written


def rebuild_lake(
    store: ObjectStore, years: Iterable[int] | None, options: LakeOptions, result: LakeResult | None = None
) -> LakeResult:
    """The compacted files of these years (``None``: every year with partitions or compacted files), then the
    manifest. One LIST of the public partitions for all the years; a retry re-lists."""
    result = result or LakeResult()
    first = list_public_partitions(store)
    wanted = sorted(set(first) | lake_years(store) if years is None else set(years))

    def listing_of(annee: int) -> Callable[[bool], dict[str, tuple[str, str]]]:
        def listing(fresh: bool) -> dict[str, tuple[str, str]]:
            return (list_public_partitions(store) if fresh else first).get(annee, {})

        return listing

    for annee in wanted:
        rebuild_lake_year(store, annee, listing_of(annee), options, result)
    write_manifest(store, result, options.max_attempts)
    return result


# ----------------------------------------------------------------------------------- debounced step
def mark_pending(store: ObjectStore, years: Iterable[int]) -> list[str]:
    """One new marker per year (never overwritten, so none is lost to a concurrent step's delete)."""
    keys = [layout.lake_pending_key(annee, uuid.uuid4().hex) for annee in sorted(set(years))]
    for key in keys:
        store.client.put_object(Bucket=store.bucket, Key=key, Body=b"")
    return keys


def pending_markers(store: ObjectStore) -> dict[int, list[tuple[str, datetime]]]:
    found: dict[int, list[tuple[str, datetime]]] = {}
    for item in store.list_objects(layout.LAKE_PENDING_PREFIX):
        parsed = layout.parse_lake_pending_key(item["Key"])
        if parsed is not None:
            found.setdefault(parsed[0], []).append((item["Key"], item["LastModified"]))
    return found


def due_years(
    markers: dict[int, list[tuple[str, datetime]]], now: datetime, options: LakeOptions, force: bool = False
) -> list[int]:
    """Years whose burst is over (newest marker older than the debounce) or waited too long (oldest)."""
    due = []
    for annee, items in markers.items():
        stamps = [stamp for _key, stamp in items]
        quiet = (now - max(stamps)).total_seconds() >= options.debounce_seconds
        late = (now - min(stamps)).total_seconds() >= options.max_delay_seconds
        if force or quiet or late:
            due.append(annee)
    return sorted(due)


def run_pending_step(
    store: ObjectStore,
    now: datetime,
    options: LakeOptions,
    national: Callable[[int], Any],
    force: bool = False,
) -> LakeResult:
    """The scheduled read step: national SCDL file (``national(annee)``) and lake of each due year, then the
    manifest, then the markers listed at the start are deleted (later ones wait for the next run)."""
    markers = pending_markers(store)
    years = due_years(markers, now, options, force)
    result = LakeResult()
    if not years:
        return result
    for annee in years:
        national(annee)
    rebuild_lake(store, years, options, result)
    for annee in years:
        for key, _stamp in markers[annee]:
            store.client.delete_object(Bucket=store.bucket, Key=key)
    return result
