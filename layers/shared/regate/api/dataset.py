"""The public Parquet dataset as the API sees it: a listing, a local cache, a data version.

Data version (for ETags): the API LISTs ``public/actes/`` once (cached ``list_ttl_seconds``, 5 s by
default, per warm container) and hashes the ``(key, ETag)`` pairs of the partitions a request reads.
S3 ETags change whenever the bytes change, so a new Parquet file means a new version and stale 304s are
impossible; a request on one collectivité is not invalidated by another's new acts.

Local cache: a partition is downloaded once per content version to
``{api_cache_dir}/{sha256(key)[:24]}.{etag}.parquet`` (downloaded with ``If-Match: etag`` so the file is
exactly the listed version; older versions of the same key are removed). Only the partitions a request
needs are downloaded, e.g. ``?siren=…&annee=…`` reads one file.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from regate.storage import layout
from regate.storage.store import ObjectStore


@dataclass(frozen=True)
class Partition:
    """One ``public/actes/siren=…/annee=…/data.parquet`` object as listed."""

    siren: str
    annee: int
    key: str
    etag: str
    size: int


@dataclass(frozen=True)
class Snapshot:
    """The listing of the public dataset at one moment."""

    partitions: tuple[Partition, ...]

    def select(self, sirens: Iterable[str] = (), annees: Iterable[int] = ()) -> list[Partition]:
        """Partition pruning: only the files a filter can match."""
        wanted_sirens = set(sirens)
        wanted_annees = set(annees)
        return [
            p
            for p in self.partitions
            if (not wanted_sirens or p.siren in wanted_sirens)
            and (not wanted_annees or p.annee in wanted_annees)
        ]

    @property
    def sirens(self) -> list[str]:
        return sorted({p.siren for p in self.partitions})


def data_version(partitions: Iterable[Partition], *extra: str) -> str:
    """Stable hash of what a response was computed from (feeds the ETag)."""
    digest = hashlib.sha256()
    for p in sorted(partitions, key=lambda p: p.key):
        digest.update(f"{p.key}\0{p.etag}\n".encode())
    for item in extra:
        digest.update(f"{item}\n".encode())
    return digest.hexdigest()[:32]


class PartitionChanged(Exception):
    """The object changed between LIST and GET: refresh the listing and retry."""


class PublicDataset:
    """Listing + /tmp cache of the public Parquet partitions; thread-safe (``regate serve`` threads)."""

    def __init__(
        self,
        store: ObjectStore,
        cache_dir: str | Path,
        list_ttl_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
        download_workers: int = 16,
    ) -> None:
        self.store = store
        self.cache_dir = Path(cache_dir)
        self.list_ttl_seconds = list_ttl_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._listed_at = 0.0
        self._by_siren: dict[str, tuple[float, tuple[Partition, ...]]] = {}
        self.list_calls = 0
        self.downloads = 0
        self.download_workers = download_workers

    def snapshot(self, refresh: bool = False) -> Snapshot:
        """The current listing (re-LISTed when older than ``list_ttl_seconds``)."""
        with self._lock:
            now = self._monotonic()
            if refresh or self._snapshot is None or now - self._listed_at >= self.list_ttl_seconds:
                self._snapshot = self._list()
                self._listed_at = now
            return self._snapshot

    def snapshot_for(self, sirens: tuple[str, ...], refresh: bool = False) -> Snapshot:
        """Listing restricted to a few collectivités: one small LIST per SIREN prefix instead of the
        whole dataset (thousands of keys), each cached ``list_ttl_seconds`` like the full listing."""
        partitions: list[Partition] = []
        with self._lock:
            now = self._monotonic()
            for siren in sirens:
                cached = self._by_siren.get(siren)
                if refresh or cached is None or now - cached[0] >= self.list_ttl_seconds:
                    prefix = (
                        layout.PUBLIC_ACTES_PARQUET_PREFIX + f"siren={layout.safe_segment(siren, 'siren')}/"
                    )
                    cached = (now, self._list(prefix).partitions)
                    self._by_siren[siren] = cached
                partitions.extend(cached[1])
        partitions.sort(key=lambda p: (p.siren, p.annee))
        return Snapshot(tuple(partitions))

    def invalidate(self) -> None:
        with self._lock:
            self._snapshot = None
            self._by_siren.clear()

    def _list(self, prefix: str = layout.PUBLIC_ACTES_PARQUET_PREFIX) -> Snapshot:
        self.list_calls += 1
        partitions: list[Partition] = []
        for item in self.store.list_objects(prefix):
            key = item["Key"]
            parsed = layout.parse_partition_key(key)
            if parsed is None or not key.endswith("/data.parquet"):
                continue
            siren, annee = parsed
            partitions.append(Partition(siren, annee, key, item["ETag"].strip('"'), int(item.get("Size", 0))))
        partitions.sort(key=lambda p: (p.siren, p.annee))
        return Snapshot(tuple(partitions))

    def local_files(self, partitions: Iterable[Partition]) -> list[str]:
        """Local paths of these partitions, downloading the missing ones in parallel (a cold national
        request fetches thousands of small objects: latency-bound, not bandwidth-bound)."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        wanted = list(partitions)
        missing = [p for p in wanted if not self._path(p).exists()]
        if len(missing) > 1:
            with ThreadPoolExecutor(max_workers=min(self.download_workers, len(missing))) as pool:
                list(pool.map(self._ensure, missing))
        return [str(self._ensure(p)) for p in wanted]

    def _path(self, partition: Partition) -> Path:
        stem = hashlib.sha256(partition.key.encode()).hexdigest()[:24]
        return self.cache_dir / f"{stem}.{_safe_etag(partition.etag)}.parquet"

    def _ensure(self, partition: Partition) -> Path:
        path = self._path(partition)
        stem = path.name.split(".", 1)[0]
        if path.exists():
            return path
        tmp = self.cache_dir / f".{stem}.{uuid.uuid4().hex}.part"
        try:
            response = self.store.client.get_object(
                Bucket=self.store.bucket, Key=partition.key, IfMatch=f'"{partition.etag}"'
            )
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = exc.response.get("Error", {}).get("Code", "")
            if status in {404, 412} or code in {"PreconditionFailed", "NoSuchKey"}:
                raise PartitionChanged(partition.key) from exc
            raise
        with open(tmp, "wb") as handle:
            body: Any = response["Body"]
            for chunk in iter(lambda: body.read(1 << 20), b""):
                handle.write(chunk)
        os.replace(tmp, path)
        with self._lock:
            self.downloads += 1
        for old in self.cache_dir.glob(f"{stem}.*.parquet"):
            if old != path:
                old.unlink(missing_ok=True)
        return path


def _safe_etag(etag: str) -> str:
    return "".join(c for c in etag if c.isalnum() or c == "-")[:64] or "x"
