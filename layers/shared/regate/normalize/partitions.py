"""Per-(siren, year) outputs rebuilt from ALL the partition's records, with no lost update.

Serialisation without a lock service: a partition manifest ``_state/partitions/{siren}/{annee}.json``
(national files: ``_state/partitions/all/{annee}.json``) is written with ``If-Match``. Each worker loops:

1. read the manifest and its ETag;
2. list the partition's records (ETags) and load them;
3. if the records differ from the manifest's, write the new manifest conditionally (``generation`` + 1,
   so no two manifests of a chain have the same bytes — no ABA); on ``PreconditionFailed`` go to 1;
4. write the outputs (``put_if_changed``: identical content → no new S3 version);
5. re-read the manifest: if it is no longer ours, another worker committed meanwhile and our outputs
   may be stale — go to 1.

The last committer lists records after every record writer's commit, so its outputs contain them all.
Manifests are state, not products: an unchanged partition never rewrites its manifest.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from regate.normalize.decision import PUBLIC_DECISIONS
from regate.normalize.parquet import actes_table, parquet_bytes
from regate.normalize.records import ActeRecord
from regate.storage import layout
from regate.storage.store import ObjectStore, PreconditionFailed, dumps_canonical, sha256_hex

PARTITION_STATE_PREFIX = f"{layout.STATE_PREFIX}partitions/"
T = TypeVar("T")


def partition_manifest_key(siren: str, annee: int) -> str:
    """Manifest of a partition (``siren`` = ``all`` for the national yearly file)."""
    return f"{PARTITION_STATE_PREFIX}{layout.safe_segment(siren, 'siren')}/{int(annee)}.json"


class TooMuchContention(RuntimeError):
    """The partition kept changing under us: the message will be retried by the queue."""


def serialised(
    store: ObjectStore,
    manifest_key: str,
    build: Callable[[], tuple[dict[str, Any], Callable[[], T]]],
    max_attempts: int = 500,
) -> tuple[T, int]:
    """Run the optimistic loop of the module docstring; ``build()`` → (state, write_outputs)."""
    for attempt in range(1, max_attempts + 1):
        found = store.get_with_etag(manifest_key)
        current = json.loads(found[0]) if found else None
        etag = found[1] if found else None
        state, write_outputs = build()
        if current is not None and current.get("state") == state:
            body = found[0]  # type: ignore[index]
        else:
            generation = int(current.get("generation", 0)) + 1 if current else 1
            body = dumps_canonical({"generation": generation, "state": state})
            try:
                store.put_conditional(manifest_key, body, if_match=etag)
            except PreconditionFailed:
                continue
        result = write_outputs()
        after = store.get_with_etag(manifest_key)
        if after is not None and after[0] == body:
            return result, attempt
    raise TooMuchContention(manifest_key)


class RecordCache:
    """Parsed records by (key, ETag), for the few partitions a worker is busy with (bounded memory)."""

    def __init__(self, max_partitions: int = 8) -> None:
        self._partitions: OrderedDict[str, dict[str, tuple[str, ActeRecord]]] = OrderedDict()
        self.max_partitions = max_partitions
        self._lock = threading.Lock()  # one normaliser may rebuild several partitions in parallel

    def load(self, store: ObjectStore, prefix: str, key: str, etag: str) -> tuple[str, ActeRecord] | None:
        with self._lock:
            bucket = self._partitions.setdefault(prefix, {})
            self._partitions.move_to_end(prefix)
            while len(self._partitions) > self.max_partitions:
                self._partitions.popitem(last=False)
        cached = bucket.get(key)
        if cached is not None and cached[0] == etag:
            return cached
        found = store.get_with_etag(key)
        if found is None:
            bucket.pop(key, None)
            return None
        entry = (found[1], ActeRecord.model_validate_json(found[0]))
        bucket[key] = entry
        return entry


#: Process-wide memo (threads of one process, warm Lambda containers). Keyed by S3 ETag, which changes with
#: every write of a record, so a hit is always the current bytes; bounded to a few partitions.
SHARED_RECORD_CACHE = RecordCache(max_partitions=8)


@dataclass
class PartitionResult:
    siren: str
    annee: int
    acts: int = 0
    public_acts: int = 0
    scdl_rows: int = 0
    csv_changed: bool = False
    written: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    attempts: int = 1
    duplicates: list[str] = field(default_factory=list)


def unique_acts(records: list[ActeRecord]) -> tuple[list[ActeRecord], list[ActeRecord]]:
    """One act, one row: if an act reached raw under two documents (push and pull not yet merged by capture),
    keep the pulled one (then the smallest ids) — deterministic — and return the others as duplicates."""
    chosen: dict[tuple[str, str], ActeRecord] = {}
    duplicates: list[ActeRecord] = []
    for record in sorted(records, key=lambda r: (r.acte.source != "pull", r.id_e, r.id_d)):
        key = (record.acte.numero, record.acte.date_acte.isoformat())
        if key in chosen:
            duplicates.append(record)
        else:
            chosen[key] = record
    return list(chosen.values()), duplicates


def _put_or_delete(
    store: ObjectStore, key: str, body: bytes | None, content_type: str, result: PartitionResult
) -> bool:
    if body is None:
        if store.delete(key):
            result.deleted.append(key)
            return True
        return False
    if store.put_if_changed(key, body, content_type=content_type).written:
        result.written.append(key)
        return True
    return False


def rebuild_partition(
    store: ObjectStore, siren: str, annee: int, cache: RecordCache | None = None, max_attempts: int = 500
) -> PartitionResult:
    """Rebuild the SCDL CSV and both Parquet files of one partition from all its records."""
    from regate.scdl.deliberations import ScdlDeliberationRow, write_deliberations_csv

    cache = cache or RecordCache()
    prefix = layout.record_partition_prefix(siren, annee)

    def build() -> tuple[dict[str, Any], Callable[[], PartitionResult]]:
        records: list[ActeRecord] = []
        state: dict[str, str] = {}
        for item in store.list_objects(prefix):
            key = item["Key"]
            if not key.endswith(".json") or "/" in key[len(prefix) :]:
                continue
            loaded = cache.load(store, prefix, key, item["ETag"])
            if loaded is None:
                continue
            state[key] = loaded[0]
            records.append(loaded[1])

        def write() -> PartitionResult:
            acts, duplicates = unique_acts(records)
            result = PartitionResult(siren=siren, annee=annee, acts=len(acts))
            result.duplicates = [f"{r.id_e}/{r.id_d}" for r in duplicates]
            public = [r for r in acts if r.decision.decision in PUBLIC_DECISIONS]
            result.public_acts = len(public)
            rows = [ScdlDeliberationRow.model_validate(r.scdl) for r in acts if r.scdl is not None]
            result.scdl_rows = len(rows)
            csv_body = write_deliberations_csv(rows) if rows else None
            csv_key = layout.scdl_deliberations_key(siren, annee)
            result.csv_changed = _put_or_delete(store, csv_key, csv_body, "text/csv; charset=utf-8", result)
            actes_body = parquet_bytes(actes_table(acts, public=False)) if acts else None
            _put_or_delete(
                store,
                layout.actes_parquet_key(siren, annee),
                actes_body,
                "application/vnd.apache.parquet",
                result,
            )
            public_body = parquet_bytes(actes_table(public, public=True)) if public else None
            _put_or_delete(
                store,
                layout.actes_parquet_key(siren, annee, public=True),
                public_body,
                "application/vnd.apache.parquet",
                result,
            )
            if result.csv_changed:
                mark_dirty(store, siren, annee, csv_key, sha256_hex(csv_body) if csv_body else None, result)
            return result

        return {"records": state}, write

    result, attempts = serialised(store, partition_manifest_key(siren, annee), build, max_attempts)
    result.attempts = attempts
    return result


def mark_dirty(
    store: ObjectStore, siren: str, annee: int, csv_key: str, csv_sha256: str | None, result: PartitionResult
) -> None:
    """Small JSON marker: publication only runs for partitions whose SCDL CSV changed (or vanished)."""
    body = dumps_canonical(
        {
            "siren": siren,
            "annee": int(annee),
            "csv_key": csv_key,
            "csv_sha256": csv_sha256,
            "deleted": csv_sha256 is None,
        }
    )
    key = layout.dirty_partition_key(siren, annee)
    if store.put_if_changed(key, body, content_type="application/json").written:
        result.written.append(key)


def list_siren_csvs(store: ObjectStore, annee: int) -> dict[str, tuple[str, str]]:
    """``siren → (key, ETag)`` of the per-collectivité SCDL files of one year."""
    found: dict[str, tuple[str, str]] = {}
    for item in store.list_objects(layout.SCDL_DELIBERATIONS_PREFIX):
        parts = item["Key"][len(layout.SCDL_DELIBERATIONS_PREFIX) :].split("/")
        if len(parts) == 2 and parts[0] != layout.NATIONAL and parts[1] == f"{int(annee)}.csv":
            found[parts[0]] = (item["Key"], item["ETag"])
    return found


def rebuild_national(store: ObjectStore, annee: int, max_attempts: int = 500) -> PartitionResult:
    """``scdl/deliberations/all/{annee}.csv``: header + every collectivité's rows, by SIREN then row order.

    Built from the per-collectivité files (already validated) under the same optimistic loop; its dirty
    marker is ``_state/dirty/all/{annee}`` (``siren`` = ``all``), written whenever the national file changes.
    """
    from regate.scdl.deliberations import SCDL_DELIBERATIONS_COLUMNS

    def build() -> tuple[dict[str, Any], Callable[[], PartitionResult]]:
        sources = list_siren_csvs(store, annee)
        state = {siren: etag for siren, (_key, etag) in sources.items()}

        def write() -> PartitionResult:
            result = PartitionResult(siren=layout.NATIONAL, annee=annee)
            header: bytes | None = None
            bodies: list[bytes] = []
            for siren in sorted(sources):
                found = store.get_with_etag(sources[siren][0])
                if found is None:
                    continue
                head, _, body = found[0].partition(b"\n")
                header = header or head + b"\n"
                bodies.append(body)
                result.scdl_rows += body.count(b"\n") if body else 0
            if header is None:
                body_all = None
            else:
                body_all = header + b"".join(bodies)
                expected = ",".join(SCDL_DELIBERATIONS_COLUMNS).encode()
                if not header.rstrip(b"\r\n") == expected:
                    raise ValueError(f"En-tête SCDL inattendu dans un fichier de {annee}")
            key = layout.scdl_deliberations_national_key(annee)
            result.csv_changed = _put_or_delete(store, key, body_all, "text/csv; charset=utf-8", result)
            if result.csv_changed:
                mark_dirty(
                    store, layout.NATIONAL, annee, key, sha256_hex(body_all) if body_all else None, result
                )
            return result

        return {"sources": state}, write

    result, attempts = serialised(store, partition_manifest_key(layout.NATIONAL, annee), build, max_attempts)
    result.attempts = attempts
    return result
