"""The API's view of the compacted read datasets (``public/lake/``, built by :mod:`regate.normalize.lake`).

Listing: one GET of ``public/lake/manifest.json`` (years → ETags of their ``actes`` and ``comptes`` files),
reused ``list_ttl_seconds``; when it is older, the request that notices starts a refresh in the background
and answers from the manifest it has (stale-while-revalidate: no request waits for S3 to learn that nothing
changed). ``list_ttl_seconds = 0`` re-reads it on every request (tests). A file that changed since the
manifest was read fails its ``If-Match`` download: the manifest is re-read at once and the request retried
(:class:`~regate.api.dataset.PartitionChanged`), so an answer never mixes versions.

Files are downloaded once per ETag into the API cache (:meth:`PublicDataset.local_files`) and read by DuckDB
with projection and filter pushdown (``read_parquet``: row groups whose ``siren`` / ``delib_date`` statistics
exclude the filter are skipped). No national table is kept in memory.

Data version (ETags): the ETags of both files of every year the filter can touch — a request on one
collectivité changes version when its year's compacted file does (coarser than per-partition versions,
never stale). Without a manifest (the read step never ran) the API reads the partitions as before.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from regate.api.dataset import Partition, PublicDataset, data_version
from regate.storage import layout


@dataclass(frozen=True)
class LakeYear:
    annee: int
    actes: Partition
    comptes: Partition | None
    nationaux: Partition | None = None  # comptes_nationaux: counts without siren


@dataclass(frozen=True)
class LakeFiles:
    """Local files of the years a filter can touch, and the data version they make."""

    files: list[str]
    version: str


#: optional modules DuckDB's Python client tries to import on every ``execute`` (to recognise DataFrames)
DUCKDB_OPTIONAL_MODULES = ("pandas",)


def skip_absent_optional_imports(names: tuple[str, ...] = DUCKDB_OPTIONAL_MODULES) -> list[str]:
    """Make ``import pandas`` fail at once when pandas is not installed (the API package has none).

    DuckDB attempts the import four times per query; a failed import is not remembered, so each attempt
    walks ``sys.path`` again (~0.4 ms each, measured: ~10 ms of a 20 ms request). ``sys.modules[name] =
    None`` is Python's documented way to say "absent": the import raises ``ImportError`` immediately —
    what it raised anyway. Installed modules are left alone."""
    marked = []
    for name in names:
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            sys.modules[name] = None  # type: ignore[assignment]
            marked.append(name)
    return marked


def parse_manifest(body: bytes) -> dict[int, LakeYear] | None:
    """``public/lake/manifest.json`` → years; ``None`` when it is not a manifest we can trust."""
    try:
        data = json.loads(body)
        years: dict[int, LakeYear] = {}
        if not isinstance(data["annees"], dict):
            return None
        for annee_text, entry in data["annees"].items():
            annee = int(annee_text)
            parts: dict[str, Partition] = {}
            for dataset in layout.LAKE_DATASETS:
                item = entry.get(dataset)
                if item is None:
                    continue
                key = str(item["key"])
                if layout.parse_lake_key(key) != (dataset, annee):
                    return None
                parts[dataset] = Partition(layout.NATIONAL, annee, key, str(item["etag"]), int(item["size"]))
            if "actes" in parts:
                years[annee] = LakeYear(
                    annee, parts["actes"], parts.get("comptes"), parts.get("comptes_nationaux")
                )
        return years
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def years_for(filtres: Any, years: list[int]) -> list[int]:
    """Year pruning of a filter (``annee`` or the date bounds) — the year rule of ``Filtres.partitions``."""
    low = filtres.date_min.year if filtres.date_min else None
    high = filtres.date_max.year if filtres.date_max else None
    return [
        y
        for y in sorted(years)
        if (filtres.annee is None or y == filtres.annee)
        and (low is None or y >= low)
        and (high is None or y <= high)
    ]


def counts_answer(filtres: Any, national: bool = False) -> bool:
    """Whether the counts dataset answers this filter exactly: its keys are siren, annee, month, matière,
    nature and documents_publics, so not a full-text search nor day-level date bounds; the national counts
    (no siren) not a filter on collectivités either."""
    exact = not filtres.tokens and filtres.date_min is None and filtres.date_max is None
    return exact and not (national and filtres.sirens)


class Lake:
    """Manifest cache + downloads of the compacted files (thread-safe, ``regate serve`` threads)."""

    def __init__(
        self,
        dataset: PublicDataset,
        list_ttl_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.dataset = dataset
        self.store = dataset.store
        self.list_ttl_seconds = list_ttl_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._years: dict[int, LakeYear] | None = None
        self._read_at: float | None = None
        self._refreshing = False
        self.manifest_reads = 0

    def _read(self) -> dict[int, LakeYear] | None:
        found = self.store.get_with_etag(layout.LAKE_MANIFEST_KEY)
        with self._lock:
            self.manifest_reads += 1
        return parse_manifest(found[0]) if found is not None else None

    def _store(self, years: dict[int, LakeYear] | None, at: float) -> None:
        with self._lock:
            self._years, self._read_at, self._refreshing = years, at, False

    def _background(self) -> None:
        started = self._monotonic()
        try:
            self._store(self._read(), started)
        except Exception:  # the next request retries; the current manifest stays
            with self._lock:
                self._refreshing = False

    def years(self, refresh: bool = False) -> dict[int, LakeYear] | None:
        """The manifest's years (``None``: no lake, read the partitions)."""
        now = self._monotonic()
        with self._lock:
            fresh = self._read_at is not None and now - self._read_at < self.list_ttl_seconds
            if fresh and not refresh:
                return self._years
            stale_ok = self._read_at is not None and not refresh and self.list_ttl_seconds > 0
            if stale_ok:
                if not self._refreshing:
                    self._refreshing = True
                    threading.Thread(target=self._background, daemon=True).start()
                return self._years
        years = self._read()
        self._store(years, now)
        return years

    def files(self, filtres: Any, dataset: str, refresh: bool = False) -> LakeFiles | None:
        """The compacted files of ``dataset`` (``actes``, ``comptes``, ``comptes_nationaux``) a filter reads,
        downloaded; ``None`` without a lake (or without that dataset for one of the years)."""
        manifest = self.years(refresh)
        if manifest is None:
            return None
        selected = [manifest[y] for y in years_for(filtres, list(manifest))]
        field = {"actes": "actes", "comptes": "comptes", "comptes_nationaux": "nationaux"}[dataset]
        wanted = [getattr(y, field) for y in selected]
        if any(p is None for p in wanted):
            return None
        return LakeFiles(self.dataset.local_files([p for p in wanted if p is not None]), _version(selected))

    def version(self, filtres: Any) -> str | None:
        manifest = self.years()
        if manifest is None:
            return None
        return _version([manifest[y] for y in years_for(filtres, list(manifest))])


def _version(years: list[LakeYear]) -> str:
    parts = [p for y in years for p in (y.actes, y.comptes, y.nationaux) if p is not None]
    return data_version(parts, "lake")
