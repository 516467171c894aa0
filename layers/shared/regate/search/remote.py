"""The index on S3: shards of immutable tantivy segment files plus one manifest per shard.

Layout (``regate.storage.layout``, curated bucket)::

    search/index/v{schema}/shards/{shard}/manifest.json     tantivy meta + file list (If-Match writes)
    search/index/v{schema}/shards/{shard}/files/{name}      segment files, never rewritten

* :class:`IndexUpdater` (the normaliser's side) applies add / replace / delete of single acts to the
  shards they live in: it syncs the shard into its working folder (only missing files are downloaded),
  commits the batch as a new small segment (tantivy's merge policy merges small segments now and then),
  uploads the new files, and writes the manifest with ``If-Match``: a concurrent writer of the same shard
  makes it redo the batch on the fresh state (deletes and re-adds by ``acte_id`` are idempotent). Files
  no longer referenced are listed as retired and deleted after ``REGATE_SEARCH_RETIRED_GRACE_SECONDS``,
  so a reader still downloading the previous version finds them.
* :class:`IndexReader` (the API's side) keeps each shard it needs in its ephemeral storage, downloads a
  shard's new files once per manifest version, and checks the manifest at most every
  ``REGATE_SEARCH_MANIFEST_TTL_SECONDS``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from regate.search.index import (
    ENGINE,
    SCHEMA_VERSION,
    IndexEntry,
    ShardWriter,
    build_schema,
    open_index,
    referenced_files,
    reset_dir,
    shard_names,
    shard_of,
)
from regate.settings import Settings
from regate.storage import layout
from regate.storage.store import ObjectStore, PreconditionFailed, dumps_canonical

MANIFEST_FORMAT = 1


class ActeRetire(BaseModel):
    """An act to remove from the index (withdrawn, withheld after a correction, deleted)."""

    model_config = ConfigDict(frozen=True)

    siren: str = Field(pattern=r"^\d{9}$")
    acte_id: str = Field(min_length=1, max_length=128)


@dataclass
class UpdateReport:
    shards: dict[str, int] = field(default_factory=dict)  # shard → generation written
    added: int = 0
    deleted: int = 0
    retries: int = 0
    files_uploaded: int = 0
    bytes_uploaded: int = 0
    files_deleted: int = 0


class IndexStore:
    """The S3 side of the index: manifests and segment files of one schema version."""

    def __init__(self, store: ObjectStore, shards: int, version: int = SCHEMA_VERSION) -> None:
        self.store = store
        self.shards = shards
        self.version = version

    def manifest(self, shard: str) -> tuple[dict[str, Any], str] | None:
        found = self.store.get_with_etag(layout.search_shard_manifest_key(self.version, shard))
        if found is None:
            return None
        manifest = json.loads(found[0])
        if manifest.get("format") != MANIFEST_FORMAT or manifest.get("schema") != self.version:
            raise ValueError(f"manifeste de l'index {shard} d'un autre format : {manifest.get('format')}")
        if manifest.get("shards") != self.shards:
            raise ValueError(
                f"l'index compte {manifest.get('shards')} partitions, REGATE_SEARCH_SHARDS={self.shards} : "
                "reconstruire l'index pour en changer"
            )
        return manifest, found[1]

    def manifest_etag(self, shard: str) -> str | None:
        head = self.store.head(layout.search_shard_manifest_key(self.version, shard))
        return head["ETag"] if head else None

    def write_manifest(self, shard: str, manifest: dict[str, Any], if_match: str | None) -> None:
        key = layout.search_shard_manifest_key(self.version, shard)
        self.store.put_conditional(key, dumps_canonical(manifest), if_match)

    def upload(self, shard: str, path: Path) -> int:
        body = path.read_bytes()
        self.store.put_if_changed(layout.search_shard_file_key(self.version, shard, path.name), body)
        return len(body)

    def download(self, shard: str, name: str, target: Path, expected_sha256: str) -> None:
        """Download one immutable file (to a temporary name, checked, then renamed)."""
        temporary = target.with_name(f".{target.name}.part")
        with temporary.open("wb") as handle:
            self.store.download_to(layout.search_shard_file_key(self.version, shard, name), handle)
        if _sha256_file(temporary) != expected_sha256:
            temporary.unlink(missing_ok=True)
            raise ValueError(f"fichier d'index {shard}/{name} altéré (sha256)")
        os.replace(temporary, target)

    def delete_file(self, shard: str, name: str) -> bool:
        return self.store.delete(layout.search_shard_file_key(self.version, shard, name))


def sync_shard(
    index_store: IndexStore, shard: str, manifest: dict[str, Any], folder: Path, prune: bool
) -> int:
    """Make ``folder`` hold exactly the manifest's version; returns the bytes downloaded."""
    folder.mkdir(parents=True, exist_ok=True)
    downloaded = 0
    wanted = manifest["files"]
    for name, info in wanted.items():
        target = folder / name
        if target.exists() and target.stat().st_size == info["size"]:
            continue
        index_store.download(shard, name, target, info["sha256"])
        downloaded += info["size"]
    if prune:
        for path in folder.iterdir():
            if path.is_file() and path.name not in wanted and path.name != "meta.json":
                path.unlink()
    temporary = folder / ".meta.json.part"
    temporary.write_text(json.dumps(manifest["meta"]), encoding="utf-8")
    os.replace(temporary, folder / "meta.json")
    return downloaded


class IndexUpdater:
    """Incremental updates of the S3 index (the normaliser's side)."""

    def __init__(
        self,
        store: ObjectStore,
        work_dir: Path,
        shards: int,
        heap_bytes: int = 64 * 1024 * 1024,
        retired_grace_seconds: float = 3600.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_attempts: int = 8,
    ) -> None:
        self.index_store = IndexStore(store, shards)
        self.work_dir = work_dir
        self.shards = shards
        self.heap_bytes = heap_bytes
        self.grace = retired_grace_seconds
        self.now = now
        self.max_attempts = max_attempts

    @classmethod
    def from_settings(cls, store: ObjectStore, settings: Settings) -> IndexUpdater:
        # one working copy per bucket and process (two deployments or test runs never share one)
        return cls(
            store,
            Path(settings.search_cache_dir) / "work" / store.bucket / str(os.getpid()),
            settings.search_shards,
            settings.search_writer_heap_mb * 1024 * 1024,
            settings.search_retired_grace_seconds,
        )

    def apply(self, upserts: Iterable[IndexEntry] = (), deletes: Iterable[ActeRetire] = ()) -> UpdateReport:
        """Add or replace ``upserts`` and remove ``deletes``, shard by shard; nothing else is rebuilt.

        An act whose SIREN changed must be deleted under its old SIREN and added under the new one.
        """
        report = UpdateReport()
        by_shard: dict[str, tuple[list[IndexEntry], list[str]]] = {}
        for entry in upserts:
            by_shard.setdefault(shard_of(entry.siren, self.shards), ([], []))[0].append(entry)
        for gone in deletes:
            by_shard.setdefault(shard_of(gone.siren, self.shards), ([], []))[1].append(gone.acte_id)
        for shard in sorted(by_shard):
            entries, removed = by_shard[shard]
            self._apply_shard(shard, entries, removed, report)
        return report

    def _apply_shard(
        self, shard: str, entries: list[IndexEntry], removed: list[str], report: UpdateReport
    ) -> None:
        folder = self.work_dir / f"v{SCHEMA_VERSION}" / shard
        with _folder_lock(folder):
            self._apply_shard_locked(shard, folder, entries, removed, report)

    def _apply_shard_locked(
        self, shard: str, folder: Path, entries: list[IndexEntry], removed: list[str], report: UpdateReport
    ) -> None:
        for attempt in range(self.max_attempts):
            current = self.index_store.manifest(shard)
            if current is None:
                reset_dir(folder)
                previous: dict[str, Any] = {}
                etag = None
            else:
                previous, etag = current
                sync_shard(self.index_store, shard, previous, folder, prune=True)
            writer = ShardWriter(folder, self.heap_bytes)
            changed, gone = writer.pending(entries, removed)  # recomputed on each attempt's state
            if not changed and not gone:
                return  # already as asked (a replayed batch, a rebuild): nothing written
            writer.apply(changed, gone)
            manifest, uploaded = self._manifest(shard, folder, previous, writer, report)
            try:
                self.index_store.write_manifest(shard, manifest, etag)
            except PreconditionFailed:
                report.retries += 1
                time.sleep(min(0.05 * 2**attempt, 1.0))
                continue
            report.shards[shard] = manifest["generation"]
            report.added += len(changed)
            report.deleted += len(gone)
            report.files_uploaded += uploaded[0]
            report.bytes_uploaded += uploaded[1]
            report.files_deleted += self._collect(shard, previous, manifest)
            return
        raise RuntimeError(f"index {shard} : {self.max_attempts} écritures concurrentes perdues d'affilée")

    def _manifest(
        self, shard: str, folder: Path, previous: dict[str, Any], writer: ShardWriter, report: UpdateReport
    ) -> tuple[dict[str, Any], tuple[int, int]]:
        known = previous.get("files", {})
        files: dict[str, dict[str, Any]] = {}
        count, size = 0, 0
        for name in referenced_files(folder):
            path = folder / name
            if name in known:
                files[name] = known[name]
                continue
            size += self.index_store.upload(shard, path)
            count += 1
            files[name] = {"size": path.stat().st_size, "sha256": _sha256_file(path)}
        stamp = self.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        retired = dict(previous.get("retired", {}))
        for name in known:
            if name not in files:
                retired.setdefault(name, stamp)
        manifest = {
            "format": MANIFEST_FORMAT,
            "schema": SCHEMA_VERSION,
            "engine": ENGINE,
            "shard": shard,
            "shards": self.shards,
            "generation": int(previous.get("generation", 0)) + 1,
            "built_at": stamp,
            "acts": writer.index.searcher().num_docs,
            "meta": json.loads((folder / "meta.json").read_text(encoding="utf-8")),
            "files": files,
            "retired": retired,
        }
        return manifest, (count, size)

    def _collect(self, shard: str, previous: dict[str, Any], manifest: dict[str, Any]) -> int:
        """Delete retired files older than the grace delay (readers had time to switch)."""
        now = self.now()
        expired = [
            name
            for name, since in manifest["retired"].items()
            if (now - datetime.strptime(since, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)).total_seconds()
            >= self.grace
            and name not in manifest["files"]
        ]
        if not expired:
            return 0
        deleted = sum(1 for name in expired if self.index_store.delete_file(shard, name))
        # forget them in the next manifest write (best effort: a lost race only delays the cleanup)
        current = self.index_store.manifest(shard)
        if current is not None and current[0]["generation"] == manifest["generation"]:
            cleaned = dict(current[0])
            cleaned["retired"] = {k: v for k, v in cleaned["retired"].items() if k not in expired}
            with contextlib.suppress(PreconditionFailed):
                self.index_store.write_manifest(shard, cleaned, current[1])
        return deleted


_FOLDER_LOCKS: dict[Path, threading.Lock] = {}
_FOLDER_LOCKS_GUARD = threading.Lock()


def _folder_lock(folder: Path) -> threading.Lock:
    """One writer at a time per working copy in this process (two normalisers of one bucket in threads)."""
    with _FOLDER_LOCKS_GUARD:
        return _FOLDER_LOCKS.setdefault(folder, threading.Lock())


@dataclass
class _OpenShard:
    etag: str
    index: Any
    checked_at: float
    files: set[str]


class IndexReader:
    """The API's view of the index: shards downloaded once per version into ``cache_dir``.

    Thread-safe; a shard with no manifest yet is simply empty. Implements
    :class:`regate.search.engine.ShardSet`.
    """

    def __init__(
        self,
        store: ObjectStore,
        cache_dir: Path,
        shards: int,
        ttl_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.index_store = IndexStore(store, shards)
        self.cache_dir = cache_dir / "read" / f"v{SCHEMA_VERSION}"
        self.shards = shards
        self.ttl = ttl_seconds
        self.monotonic = monotonic
        self._open: dict[str, _OpenShard] = {}
        self._lock = threading.Lock()
        self._schema = build_schema()
        self.bytes_downloaded = 0
        self._available = False
        self._available_checked = 0.0

    @classmethod
    def from_settings(cls, store: ObjectStore, settings: Settings) -> IndexReader:
        return cls(
            store,
            Path(settings.search_cache_dir) / store.bucket,
            settings.search_shards,
            settings.search_manifest_ttl_seconds,
        )

    @property
    def schema(self) -> Any:
        return self._schema

    def searchers(self, sirens: Sequence[str] | None) -> list[tuple[str, Any]]:
        names = (
            sorted({shard_of(s, self.shards) for s in sirens}) if sirens else list(shard_names(self.shards))
        )
        out = []
        for name in names:
            opened = self._shard(name)
            if opened is not None:
                out.append((name, opened.index.searcher()))
        return out

    def available(self) -> bool:
        """Whether the normaliser has written the index yet (any shard manifest; rechecked every TTL)."""
        with self._lock:
            now = self.monotonic()
            if self._available or (self._available_checked and now - self._available_checked < self.ttl):
                return self._available
            self._available = any(self.index_store.manifest_etag(n) for n in shard_names(self.shards))
            self._available_checked = now
            return self._available

    def version(self, sirens: Sequence[str] | None) -> str:
        """The manifest versions of the shards :meth:`searchers` opened for ``sirens`` (for ETags)."""
        names = (
            sorted({shard_of(s, self.shards) for s in sirens}) if sirens else list(shard_names(self.shards))
        )
        with self._lock:
            return ",".join(f"{n}:{self._open[n].etag}" for n in names if n in self._open)

    def _shard(self, name: str) -> _OpenShard | None:
        with self._lock:
            current = self._open.get(name)
            now = self.monotonic()
            if current is not None and now - current.checked_at < self.ttl:
                return current
            etag = self.index_store.manifest_etag(name)
            if etag is None:
                self._open.pop(name, None)
                return None
            if current is not None and current.etag == etag:
                current.checked_at = now
                return current
            found = self.index_store.manifest(name)
            if found is None:
                return None
            manifest, etag = found
            folder = self.cache_dir / name
            self.bytes_downloaded += sync_shard(self.index_store, name, manifest, folder, prune=False)
            files = set(manifest["files"])
            _prune_reader(folder, files | (current.files if current else set()))
            opened = _OpenShard(etag=etag, index=open_index(folder), checked_at=now, files=files)
            self._open[name] = opened
            return opened


def _prune_reader(folder: Path, keep: set[str]) -> None:
    """Delete files of versions older than the two kept (the new one and the one still open)."""
    for path in folder.iterdir():
        if (
            path.is_file()
            and path.name not in keep
            and path.name != "meta.json"
            and not path.name.startswith(".")
        ):
            path.unlink()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


class LocalShards:
    """Shards in local folders ``root/{shard}`` (tests, benches, ``regate serve`` on a built index)."""

    def __init__(self, root: Path, shards: int) -> None:
        self.root = root
        self.shards = shards
        self._schema = build_schema()
        self._open: dict[str, Any] = {}

    @property
    def schema(self) -> Any:
        return self._schema

    def searchers(self, sirens: Sequence[str] | None) -> list[tuple[str, Any]]:
        names = (
            sorted({shard_of(s, self.shards) for s in sirens}) if sirens else list(shard_names(self.shards))
        )
        out = []
        for name in names:
            index = self._open.get(name)
            if index is None and (self.root / name / "meta.json").exists():
                index = self._open[name] = open_index(self.root / name)
            if index is not None:
                out.append((name, index.searcher()))
        return out
