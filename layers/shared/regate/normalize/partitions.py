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

from pydantic import ValidationError

from regate.normalize.decision import PUBLIC_DECISIONS
from regate.normalize.parquet import actes_table, parquet_bytes
from regate.normalize.quarantine import QuarantineEntry, put_quarantine
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
    quarantined: list[QuarantineEntry] = field(default_factory=list)


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


@dataclass
class PartitionOutputs:
    """Every output of a partition, built in memory (nothing is written until all of them succeeded)."""

    csv: bytes | None
    actes: bytes | None
    public: bytes | None
    acts: int
    public_acts: int
    scdl_rows: int
    duplicates: list[str]


def build_outputs(records: list[ActeRecord]) -> PartitionOutputs:
    """SCDL CSV + internal and public Parquet of these records (raises if any cannot be built)."""
    from regate.scdl.deliberations import ScdlDeliberationRow, write_deliberations_csv

    acts, duplicates = unique_acts(records)
    public = [r for r in acts if r.decision.decision in PUBLIC_DECISIONS]
    rows = [ScdlDeliberationRow.model_validate(r.scdl) for r in acts if r.scdl is not None]
    return PartitionOutputs(
        csv=write_deliberations_csv(rows) if rows else None,
        actes=parquet_bytes(actes_table(acts, public=False)) if acts else None,
        public=parquet_bytes(actes_table(public, public=True)) if public else None,
        acts=len(acts),
        public_acts=len(public),
        scdl_rows=len(rows),
        duplicates=[f"{r.id_e}/{r.id_d}" for r in duplicates],
    )


def _contained_build(
    store: ObjectStore, records: list[ActeRecord], keys: dict[int, str]
) -> tuple[PartitionOutputs, list[tuple[str, QuarantineEntry]]]:
    """Build the outputs; when that fails, find the acts that fail alone, quarantine them, build without.

    A record that fails on its own (a value the writer refuses, a row the SCDL writer rejects) must not
    freeze its collectivité-year: it leaves the partition (record, pointer and public documents deleted,
    quarantine entry written — the raw document stays), the others are served.
    """
    try:
        return build_outputs(records), []
    except Exception as first_error:
        culprits: list[tuple[ActeRecord, str]] = []
        for record in records:
            try:
                build_outputs([record])
            except Exception as exc:  # the act's own problem
                culprits.append((record, f"{type(exc).__name__}: {exc}"[:500]))
        if not culprits:
            raise first_error  # not one act's fault: the queue retries, then the DLQ alarms
    bad = {id(r) for r, _ in culprits}
    entries = [
        (keys[id(r)], quarantine_record(store, r, "partition_invalide", message, keys[id(r)]))
        for r, message in culprits
    ]
    return build_outputs([r for r in records if id(r) not in bad]), entries


def quarantine_record(
    store: ObjectStore, record: ActeRecord, reason: str, message: str, key: str
) -> QuarantineEntry:
    """Take one act out of the curated zone: documents first (privacy), then record and pointer.

    The entry names the raw version the record came from but no ETag, so the next run normalises the act
    again from raw (a record written by an older version is then rebuilt by the current rules).
    """
    from regate.normalize.documents import delete_documents, public_key

    entry = QuarantineEntry(
        id_e=record.id_e,
        id_d=record.id_d,
        reason=reason,
        message=message,
        raw_key=layout.document_detail_key(record.id_e, record.id_d),
        raw_version=record.raw_version,
    )
    put_quarantine(store, entry)
    delete_documents(store, [public_key(d) for d in record.documents])
    store.delete(key)
    store.delete(layout.record_pointer_key(record.id_e, record.id_d))
    return entry


def _quarantine_unreadable(store: ObjectStore, key: str, message: str) -> QuarantineEntry | None:
    """A record file that no longer parses: quarantined under its ids (from the key), then removed."""
    stem = key.rsplit("/", 1)[-1].removesuffix(".json")
    id_e, _, id_d = stem.partition(".")
    try:
        layout.safe_segment(id_e), layout.safe_segment(id_d)
    except ValueError:
        store.delete(key)
        return None
    entry = QuarantineEntry(
        id_e=id_e,
        id_d=id_d,
        reason="record_illisible",
        message=message[:500],
        raw_key=layout.document_detail_key(id_e, id_d),
    )
    put_quarantine(store, entry)
    store.delete(key)
    store.delete(layout.record_pointer_key(id_e, id_d))
    return entry


def rebuild_partition(
    store: ObjectStore, siren: str, annee: int, cache: RecordCache | None = None, max_attempts: int = 500
) -> PartitionResult:
    """Rebuild the SCDL CSV and both Parquet files of one partition from all its records.

    All three outputs are built in memory first and written only when every one succeeded; an act that
    makes the build fail is quarantined and the partition built without it (:func:`_contained_build`).
    """
    cache = cache or RecordCache()
    prefix = layout.record_partition_prefix(siren, annee)
    quarantined: list[QuarantineEntry] = []

    def build() -> tuple[dict[str, Any], Callable[[], PartitionResult]]:
        records: list[ActeRecord] = []
        keys: dict[int, str] = {}
        state: dict[str, str] = {}
        for item in store.list_objects(prefix):
            key = item["Key"]
            if not key.endswith(".json") or "/" in key[len(prefix) :]:
                continue
            try:
                loaded = cache.load(store, prefix, key, item["ETag"])
            except ValidationError as exc:
                entry = _quarantine_unreadable(store, key, f"record illisible : {exc}")
                if entry is not None:
                    quarantined.append(entry)
                continue
            if loaded is None:
                continue
            state[key] = loaded[0]
            records.append(loaded[1])
            keys[id(loaded[1])] = key
        outputs, entries = _contained_build(store, records, keys)
        for key, entry in entries:
            quarantined.append(entry)
            state.pop(key, None)

        def write() -> PartitionResult:
            result = PartitionResult(siren=siren, annee=annee, acts=outputs.acts)
            result.duplicates = list(outputs.duplicates)
            result.public_acts = outputs.public_acts
            result.scdl_rows = outputs.scdl_rows
            csv_key = layout.scdl_deliberations_key(siren, annee)
            # privacy first: the public files (which may lose rows) before the internal one
            result.csv_changed = _put_or_delete(
                store, csv_key, outputs.csv, "text/csv; charset=utf-8", result
            )
            _put_or_delete(
                store,
                layout.actes_parquet_key(siren, annee, public=True),
                outputs.public,
                "application/vnd.apache.parquet",
                result,
            )
            _put_or_delete(
                store,
                layout.actes_parquet_key(siren, annee),
                outputs.actes,
                "application/vnd.apache.parquet",
                result,
            )
            if result.csv_changed:
                sha = sha256_hex(outputs.csv) if outputs.csv else None
                mark_dirty(store, siren, annee, csv_key, sha, result)
            return result

        return {"records": state}, write

    result, attempts = serialised(store, partition_manifest_key(siren, annee), build, max_attempts)
    result.attempts = attempts
    seen: set[tuple[str, str]] = set()
    for entry in quarantined:
        if (entry.id_e, entry.id_d) not in seen:
            seen.add((entry.id_e, entry.id_d))
            result.quarantined.append(entry)
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
