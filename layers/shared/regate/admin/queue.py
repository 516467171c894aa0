"""What operators look at: every act of the internal Parquet (``actes/``), its record, preview links.

The internal dataset holds every decision (``a_statuer``, ``retenir``…) and the captured files' raw keys;
it is never public. Partitions are downloaded once per ETag to a local cache (``If-Match``: the file read
is exactly the version listed) and queried with DuckDB. Previews are presigned GETs of the raw files,
valid a few minutes, always as attachments with an allow-listed media type (an HTML "document" never
renders on the storage domain).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from regate.actes.model import ANNEX_FIELDS, MAIN_FIELDS
from regate.storage import layout
from regate.storage.media import presigned_response_params
from regate.storage.store import ObjectStore

QUEUE_COLUMNS = (
    "siren",
    "id_e",
    "id_d",
    "acte_id",
    "annee",
    "nature",
    "nature_libelle",
    "delib_id",
    "delib_date",
    "delib_objet",
    "coll_nom",
    "decision",
    "decision_motif",
    "documents_publics",
    "fichiers",
)


class PartitionMoved(Exception):
    """A partition changed between LIST and GET (the caller re-lists)."""


@dataclass(frozen=True)
class InternalPartition:
    siren: str
    annee: int
    key: str
    etag: str


@dataclass(frozen=True)
class Filtre:
    statut: str | None = "a_statuer"
    annee: int | None = None
    nature: int | None = None
    recherche: str | None = None
    rh: bool = False


class InternalActes:
    """The ``actes/`` partitions, cached locally by ETag; thread-safe (one DuckDB connection per call)."""

    def __init__(self, curated: ObjectStore, cache_dir: str | Path) -> None:
        self.curated = curated
        self.cache_dir = Path(cache_dir) / "admin-actes"
        self._lock = threading.Lock()

    def partitions(self, sirens: tuple[str, ...] | None, annee: int | None = None) -> list[InternalPartition]:
        prefixes = (
            [f"{layout.ACTES_PARQUET_PREFIX}siren={layout.safe_segment(s, 'siren')}/" for s in sirens]
            if sirens is not None
            else [layout.ACTES_PARQUET_PREFIX]
        )
        found: list[InternalPartition] = []
        for prefix in prefixes:
            for item in self.curated.list_objects(prefix):
                key = item["Key"]
                parsed = layout.parse_partition_key(key)
                if parsed is None or not key.endswith("/data.parquet"):
                    continue
                if key != layout.actes_parquet_key(*parsed):
                    continue
                if annee is not None and parsed[1] != annee:
                    continue
                found.append(InternalPartition(parsed[0], parsed[1], key, item["ETag"]))
        return sorted(found, key=lambda p: (p.siren, p.annee))

    def rows(self, partitions: list[InternalPartition], filtre: Filtre) -> list[dict[str, Any]]:
        """Matching acts, newest first. Actes individuels only when ``filtre.rh``."""
        if not partitions:
            return []
        files = [str(self._local(p)) for p in partitions]
        import duckdb

        where = ["TRUE"]
        params: list[Any] = [files]
        if filtre.statut:
            where.append("decision = ?")
            params.append(filtre.statut)
        if not filtre.rh:
            where.append("nature <> 3")
        if filtre.annee is not None:
            where.append("annee = ?")
            params.append(filtre.annee)
        if filtre.nature is not None:
            where.append("nature = ?")
            params.append(filtre.nature)
        if filtre.recherche:
            where.append("(delib_objet ILIKE ? OR delib_id ILIKE ?)")
            like = "%" + filtre.recherche.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            params.extend([like, like])
        sql = (
            f"SELECT {', '.join(QUEUE_COLUMNS)} FROM read_parquet(?, hive_partitioning = false, "
            f"union_by_name = true) WHERE {' AND '.join(where)} "
            "ORDER BY delib_date DESC, siren, delib_id, id_e, id_d"
        )
        with duckdb.connect(":memory:") as conn:
            cursor = conn.execute(sql, params)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def _local(self, partition: InternalPartition) -> Path:
        stem = hashlib.sha256(partition.key.encode()).hexdigest()[:24]
        etag = "".join(c for c in partition.etag if c.isalnum() or c == "-")[:64] or "x"
        path = self.cache_dir / f"{stem}.{etag}.parquet"
        if path.exists():
            return path
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        try:
            response = self.curated.client.get_object(
                Bucket=self.curated.bucket, Key=partition.key, IfMatch=partition.etag
            )
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status in {404, 412}:
                raise PartitionMoved(partition.key) from exc
            raise
        tmp = self.cache_dir / f".{stem}.{uuid.uuid4().hex}.part"
        tmp.write_bytes(response["Body"].read())
        os.replace(tmp, path)
        with self._lock:
            for old in self.cache_dir.glob(f"{stem}.*.parquet"):
                if old != path:
                    old.unlink(missing_ok=True)
        return path


def captured_files(fichiers: Any) -> list[dict[str, Any]]:
    """The ``fichiers`` column (JSON list of field, num, name, sha256, key), tolerant of nothing else."""
    try:
        items = json.loads(fichiers) if isinstance(fichiers, str) else fichiers
    except json.JSONDecodeError:
        return []
    if not isinstance(items, list):
        return []
    return [
        f
        for f in items
        if isinstance(f, dict) and isinstance(f.get("key"), str) and isinstance(f.get("num"), int)
    ]


def main_and_annexes(files: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The same choice as :meth:`regate.actes.model.Acte.main_file` / ``annex_files``: stamped files
    first, the lowest ``num`` as the act; annexes of the first annex field present, by ``num``."""
    main = None
    for name in MAIN_FIELDS:
        found = [f for f in files if f.get("field") == name]
        if found:
            main = min(found, key=lambda f: f["num"])
            break
    annexes: list[dict[str, Any]] = []
    for name in ANNEX_FIELDS:
        found = [f for f in files if f.get("field") == name]
        if found:
            annexes = sorted(found, key=lambda f: f["num"])
            break
    return main, annexes


def preview_url(raw: ObjectStore, key: str, name: str, seconds: int) -> str:
    """Presigned GET of a raw file, as an attachment with an allow-listed type (never rendered inline)."""
    params = {"Bucket": raw.bucket, "Key": key, **presigned_response_params(name)}
    return raw.client.generate_presigned_url("get_object", Params=params, ExpiresIn=seconds)


def preview_expiry(now: datetime, seconds: int) -> datetime:
    return now + timedelta(seconds=seconds)


def read_record(curated: ObjectStore, siren: str, id_e: str, id_d: str) -> Any | None:
    """The act's current record (``records/…``) through its pointer; ``None`` if absent or elsewhere."""
    from pydantic import ValidationError

    from regate.normalize.records import ActeRecord

    pointer = curated.get_with_etag(layout.record_pointer_key(id_e, id_d))
    if pointer is None:
        return None
    try:
        record_key = json.loads(pointer[0]).get("record_key")
    except (json.JSONDecodeError, AttributeError):
        return None
    if not isinstance(record_key, str) or not record_key.startswith(f"{layout.RECORDS_PREFIX}{siren}/"):
        return None
    found = curated.get_with_etag(record_key)
    if found is None:
        return None
    try:
        record = ActeRecord.model_validate_json(found[0])
    except ValidationError:
        return None
    if (record.siren, record.id_e, record.id_d) != (siren, id_e, id_d):
        return None
    return record
