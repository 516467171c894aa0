"""Push capture: ingest Pastell depot ZIPs (``ged-megalis-opendata``, pastell-api.md §19) into the raw layout.

A deployment fed today by Pastell's ``depot-sftp`` connector lands ``<id_d>.zip`` files (``metadata.json`` +
the listed files, at the root) in ``s3://$REGATE_RAW_BUCKET/inbox/``; each is checked, then stored exactly
like a pulled document: ``pastell/{id_e}/{id_d}/files/{field}/{num}/{name}`` and ``detail.json``
(:class:`RawDocument`, ``source="push"``, ``detail = {"info": {...}, "data": <metadata.json>}``,
``metadata`` = metadata.json as received, ``pushes`` = one record per distinct ZIP). Values are kept as
received (``2024-3-5`` stays so; normalisation parses it).

**One act, one document.** A depot ZIP's ``id_d`` is the id of a copy, so acts are identified by
``act_key`` (SIREN + numéro + date, :mod:`regate.capture.acts`), indexed at ``act_index_key``:

* push first: the ZIP becomes a document under its own ``id_d`` and the index points to it;
* push of an act already held by another document (pulled, or pushed under another name): the ZIP is recorded
  in that document's ``pushes`` — its ``detail``, files, ``content_sha256`` and ``captured_at`` are untouched;
* pull after push: the pulled document becomes the live one, inherits the ``pushes`` and the pushed
  ``detail.json`` is deleted (:mod:`regate.capture.pull`), so exactly one live ``detail.json`` remains;
* replay (a ZIP whose sha256 is already recorded): nothing is written at all.

**Rejections.** A ZIP that cannot be ingested is copied to ``inbox-rejected/`` (``inbox_rejected_key``) with
``<name>.reason.json`` beside it (``code`` + French and English messages), then removed from the inbox (the
bucket is versioned: nothing is ever lost). Codes: ``nom_invalide``, ``zip_invalide``,
``zip_trop_volumineux``, ``chemin_interdit``, ``entree_dupliquee``, ``metadata_absent``,
``metadata_json_invalide``, ``metadata_invalide``, ``fichier_manquant``.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO, Any, BinaryIO

from regate.capture.acts import ActIndexEntry, DocumentRef, act_key_for, update_index, with_alias
from regate.capture.documents import (
    content_sha256,
    load_raw_document,
    put_stream_if_changed,
    update_raw_document,
)
from regate.capture.envelope import CapturedFile, CaptureEnvelope, RawDocument
from regate.capture.pull import merge_pushes
from regate.capture.report import ReportItem, RunReport
from regate.clock import Clock, utc_iso
from regate.storage import layout
from regate.storage.layout import (
    INBOX_PREFIX,
    document_file_key,
    inbox_rejected_key,
    safe_segment,
)
from regate.storage.store import ObjectStore, dumps_canonical

DEPOT_FLUX = "ged-megalis-opendata"
METADATA_NAME = "metadata.json"
_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,49}$")
_SIREN = re.compile(r"^\d{9}$")

#: Limits against zip bombs: Pastell caps act + annexes at 150 MB.
MAX_ZIP_BYTES = 200 * 1024 * 1024
MAX_TOTAL_UNCOMPRESSED = 160 * 1024 * 1024
MAX_ENTRIES = 1000
MAX_RATIO = 200
MAX_METADATA_BYTES = 1024 * 1024
_REQUIRED_STRINGS = ("id_e", "siren", "numero_de_lacte", "date_de_lacte")
_OPTIONAL_STRINGS = (
    "objet",
    "acte_nature",
    "classification",
    "date_ar",
    "publication_open_data",
    "entity_name",
)

_MESSAGES: dict[str, tuple[str, str]] = {
    "nom_invalide": ("Nom de fichier invalide (attendu <id_d>.zip, ≤ 50 caractères)", "Invalid name"),
    "zip_invalide": ("Archive ZIP illisible", "Not a readable ZIP archive"),
    "zip_trop_volumineux": ("Archive trop volumineuse (bombe ZIP ?)", "Archive too large (zip bomb?)"),
    "chemin_interdit": ("Chemin interdit dans l'archive", "Forbidden path in the archive"),
    "entree_dupliquee": ("Entrée en double dans l'archive", "Duplicate entry in the archive"),
    "metadata_absent": (
        "metadata.json absent de la racine de l'archive",
        "No metadata.json at the archive root",
    ),
    "metadata_json_invalide": (
        "metadata.json n'est pas un JSON UTF-8 valide",
        "metadata.json is not valid JSON",
    ),
    "metadata_invalide": (
        "metadata.json : champ manquant ou mal typé",
        "metadata.json: missing or mistyped field",
    ),
    "fichier_manquant": ("Fichier listé dans metadata.json absent de l'archive", "Listed file missing"),
}


class DepotRejected(Exception):
    """The ZIP cannot be ingested; ``code`` is machine-readable, ``detail`` says what exactly."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail

    def reason(self, inbox_key: str, rejected_at: str, zip_sha256: str | None) -> dict[str, Any]:
        fr, en = _MESSAGES.get(self.code, (self.code, self.code))
        return {
            "code": self.code,
            "message_fr": f"{fr} — {self.detail}",
            "message_en": f"{en} — {self.detail}",
            "inbox_key": inbox_key,
            "rejected_at": rejected_at,
            "zip_sha256": zip_sha256,
        }


@dataclass
class DepotZip:
    """A validated depot ZIP: its stem (``id_d``), metadata as received and file entries by field."""

    stem: str
    metadata: dict[str, Any]
    metadata_bytes: bytes
    files: dict[str, list[str]]  # field -> names, in metadata order
    archive: zipfile.ZipFile


def rejection_reason_key(inbox_key: str) -> str:
    """``inbox-rejected/{name}.reason.json`` beside the rejected ``inbox-rejected/{name}.zip``."""
    return layout.inbox_rejection_reason_key(inbox_key)


def open_depot_zip(name: str, fileobj: IO[bytes], size: int) -> DepotZip:
    """Validate a depot ZIP (name, structure, sizes, metadata types, listed files); raises DepotRejected."""
    base = PurePosixPath(name).name
    if not base.endswith(".zip") or not _STEM.match(base[: -len(".zip")]):
        raise DepotRejected("nom_invalide", f"{base!r}")
    stem = base[: -len(".zip")]
    if size > MAX_ZIP_BYTES:
        raise DepotRejected("zip_trop_volumineux", f"{size} bytes > {MAX_ZIP_BYTES}")
    try:
        archive = zipfile.ZipFile(fileobj)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise DepotRejected("zip_invalide", str(exc)) from exc
    if len(infos) > MAX_ENTRIES:
        raise DepotRejected("zip_trop_volumineux", f"{len(infos)} entries")
    total = 0
    names: set[str] = set()
    for info in infos:
        entry = info.filename
        if entry.endswith("/") and info.file_size == 0:
            raise DepotRejected("chemin_interdit", f"directory entry {entry!r}: files must be at the root")
        if "/" in entry or "\\" in entry or entry in {".", ".."} or entry.startswith(".") or ":" in entry:
            raise DepotRejected("chemin_interdit", f"{entry!r}")
        if entry in names:
            raise DepotRejected("entree_dupliquee", f"{entry!r}")
        names.add(entry)
        total += info.file_size
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise DepotRejected(
                "zip_trop_volumineux", f"{entry!r} expands {info.file_size}/{info.compress_size}"
            )
    if total > MAX_TOTAL_UNCOMPRESSED:
        raise DepotRejected("zip_trop_volumineux", f"{total} bytes uncompressed > {MAX_TOTAL_UNCOMPRESSED}")
    if METADATA_NAME not in names:
        raise DepotRejected("metadata_absent", f"entries: {sorted(names)[:10]}")
    metadata_bytes = _read_entry(archive, METADATA_NAME, MAX_METADATA_BYTES)
    try:
        metadata = json.loads(metadata_bytes.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DepotRejected("metadata_json_invalide", str(exc)) from exc
    files = _check_metadata(metadata)
    for field, listed in files.items():
        for file_name in listed:
            if file_name not in names:
                raise DepotRejected("fichier_manquant", f"{field}: {file_name!r}")
    return DepotZip(stem, metadata, metadata_bytes, files, archive)


def _check_metadata(metadata: Any) -> dict[str, list[str]]:
    if not isinstance(metadata, dict):
        raise DepotRejected("metadata_invalide", f"expected a JSON object, got {type(metadata).__name__}")
    for key in _REQUIRED_STRINGS:
        value = metadata.get(key)
        if not isinstance(value, str) or not value.strip():
            raise DepotRejected("metadata_invalide", f"{key} must be a non-empty string, got {value!r}")
    for key in _OPTIONAL_STRINGS:
        if key in metadata and metadata[key] is not None and not isinstance(metadata[key], str):
            raise DepotRejected("metadata_invalide", f"{key} must be a string, got {metadata[key]!r}")
    if not _SIREN.match(metadata["siren"]):
        raise DepotRejected("metadata_invalide", f"siren must be 9 digits, got {metadata['siren']!r}")
    try:
        safe_segment(metadata["id_e"], "id_e")
    except ValueError as exc:
        raise DepotRejected("metadata_invalide", str(exc)) from exc
    files: dict[str, list[str]] = {}
    for key, value in metadata.items():
        if not isinstance(value, list):
            continue
        if not all(isinstance(item, str) and item for item in value):
            raise DepotRejected("metadata_invalide", f"{key} must be a list of file names, got {value!r}")
        try:
            safe_segment(key, "field")
        except ValueError as exc:
            raise DepotRejected("metadata_invalide", str(exc)) from exc
        for item in value:
            if "/" in item or "\\" in item or item in {".", ".."} or item == METADATA_NAME:
                raise DepotRejected("chemin_interdit", f"{key}: {item!r}")
        files[key] = list(value)
    return files


def _read_entry(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """Read an entry with a hard cap (declared sizes can lie)."""
    with archive.open(name) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise DepotRejected("zip_trop_volumineux", f"{name!r} larger than {limit} bytes")
    return data


def _copy_entry(archive: zipfile.ZipFile, name: str, sink: BinaryIO, budget: list[int]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    try:
        with archive.open(name) as handle:
            while chunk := handle.read(1024 * 1024):
                size += len(chunk)
                budget[0] -= len(chunk)
                if budget[0] < 0:
                    raise DepotRejected("zip_trop_volumineux", f"{name!r}: more bytes than declared")
                digest.update(chunk)
                sink.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise DepotRejected("zip_invalide", f"{name!r}: {exc}") from exc
    return digest.hexdigest(), size


# ----------------------------------------------------------------------------- ingest
@dataclass(frozen=True)
class IngestResult:
    outcome: str  # captured | unchanged | rejected
    inbox_key: str
    id_e: str | None = None
    id_d: str | None = None
    reason: str | None = None
    message: str | None = None


def ingest_inbox_object(
    store: ObjectStore, inbox_key: str, clock: Clock, version_id: str | None = None
) -> IngestResult:
    """Ingest ``s3://raw/inbox/…zip`` (an S3 event or ``regate ingest s3://…``); idempotent."""
    head = store.head(inbox_key)
    if head is None:
        # Already moved to inbox-rejected/ by an earlier delivery, or deleted: nothing to do, nothing lost.
        return IngestResult("unchanged", inbox_key, reason="absent_de_inbox")
    with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024) as spool:
        store.download_to(inbox_key, spool, version_id=version_id)
        size = spool.tell()
        spool.seek(0)
        version = version_id or head.get("VersionId")
        return ingest_zip(store, inbox_key, spool, size, clock, version_id=version, in_inbox=True)


def ingest_local_file(store: ObjectStore, path: str, clock: Clock) -> IngestResult:
    """``regate ingest ./x.zip``: kept as received in ``inbox/`` (no new version on replay), then ingested."""
    name = PurePosixPath(path.replace("\\", "/")).name
    inbox_key = INBOX_PREFIX + name
    with open(path, "rb") as handle:
        digest = hashlib.sha256()
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
        size = handle.tell()
        try:
            safe_segment(name, "ZIP name")
        except ValueError:
            handle.seek(0)
            return _reject(
                store, inbox_key, handle, clock, DepotRejected("nom_invalide", repr(name)), None, False
            )
        put_stream_if_changed(store, inbox_key, handle, digest.hexdigest(), "application/zip")
        head = store.head(inbox_key) or {}
        handle.seek(0)
        return ingest_zip(
            store, inbox_key, handle, size, clock, version_id=head.get("VersionId"), in_inbox=True
        )


def ingest_zip(
    store: ObjectStore,
    inbox_key: str,
    fileobj: IO[bytes],
    size: int,
    clock: Clock,
    version_id: str | None = None,
    in_inbox: bool = True,
) -> IngestResult:
    """Validate and store one depot ZIP; rejected ZIPs go to ``inbox-rejected/`` with their reason."""
    digest = hashlib.sha256()
    while chunk := fileobj.read(1024 * 1024):
        digest.update(chunk)
    zip_sha256 = digest.hexdigest()
    fileobj.seek(0)
    try:
        depot = open_depot_zip(inbox_key, fileobj, size)
        return _store_depot(store, inbox_key, version_id, zip_sha256, depot, clock)
    except DepotRejected as rejection:
        fileobj.seek(0)
        return _reject(store, inbox_key, fileobj, clock, rejection, zip_sha256, in_inbox)


def _reject(
    store: ObjectStore,
    inbox_key: str,
    fileobj: IO[bytes],
    clock: Clock,
    rejection: DepotRejected,
    zip_sha256: str | None,
    in_inbox: bool,
) -> IngestResult:
    rejected_key = inbox_rejected_key(inbox_key)
    reason = rejection.reason(inbox_key, utc_iso(clock.now()), zip_sha256)
    sha = zip_sha256 or hashlib.sha256(fileobj.read()).hexdigest()
    fileobj.seek(0)
    put_stream_if_changed(store, rejected_key, fileobj, sha, "application/zip")
    previous = store.get_json(rejection_reason_key(inbox_key))
    if not (
        isinstance(previous, dict)
        and previous.get("zip_sha256") == zip_sha256
        and previous.get("code") == rejection.code
    ):
        store.put_if_changed(
            rejection_reason_key(inbox_key), dumps_canonical(reason), content_type="application/json"
        )
    if in_inbox and inbox_key.startswith(INBOX_PREFIX):
        store.delete(inbox_key)  # versioned bucket: the bytes stay recoverable, and are in inbox-rejected/
    return IngestResult("rejected", inbox_key, reason=rejection.code, message=reason["message_en"])


def _store_depot(
    store: ObjectStore, inbox_key: str, version_id: str | None, zip_sha256: str, depot: DepotZip, clock: Clock
) -> IngestResult:
    metadata = depot.metadata
    id_e, id_d, siren = metadata["id_e"], depot.stem, metadata["siren"]
    origin = f"s3://{store.bucket}/{inbox_key}"
    me = DocumentRef(id_e=id_e, id_d=id_d, source="push")
    act_key = act_key_for(siren, metadata["numero_de_lacte"], metadata["date_de_lacte"])
    record: dict[str, Any] = {
        "origin": origin,
        "version_id": version_id,
        "zip_sha256": zip_sha256,
        "id_e": id_e,
        "id_d": id_d,
        "received_at": utc_iso(clock.now()),
        "metadata_sha256": hashlib.sha256(depot.metadata_bytes).hexdigest(),
    }

    holder: DocumentRef | None = None
    if act_key:

        def change(current: ActIndexEntry | None) -> ActIndexEntry | None:
            if current is None:
                return ActIndexEntry(
                    siren=siren,
                    act_key=act_key,
                    numero_de_lacte=metadata["numero_de_lacte"],
                    date_de_lacte=metadata["date_de_lacte"],
                    live=me,
                )
            return with_alias(current, me)

        entry = update_index(store, siren, act_key, change)
        if entry is not None and entry.live != me:
            holder = entry.live

    if holder is not None:
        outcome = _record_push(store, holder.id_e, holder.id_d, record)
        if outcome is not None:
            reason = "push_enregistre" if outcome == "captured" else None
            return IngestResult(outcome, inbox_key, holder.id_e, holder.id_d, reason=reason)
        # The index names a document not written yet (interrupted capture): keep this one live meanwhile.

    existing = load_raw_document(store, id_e, id_d)
    if existing is not None and any(p.get("zip_sha256") == zip_sha256 for p in existing.pushes):
        return IngestResult("unchanged", inbox_key, id_e, id_d)
    if existing is not None and existing.capture.source == "pull":
        # A ZIP named after a pulled document: the pulled detail stays, the push is recorded.
        outcome = _record_push(store, id_e, id_d, record) or "unchanged"
        reason = "push_enregistre" if outcome == "captured" else None
        return IngestResult(outcome, inbox_key, id_e, id_d, reason=reason)

    files: list[CapturedFile] = []
    budget = [MAX_TOTAL_UNCOMPRESSED]
    for field, names in depot.files.items():
        for num, name in enumerate(names):
            key = document_file_key(id_e, id_d, field, num, name)
            with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
                sha, size = _copy_entry(depot.archive, name, spool, budget)
                put_stream_if_changed(store, key, spool, sha)
            files.append(CapturedFile(field=field, num=num, name=name, sha256=sha, size=size, key=key))
    detail = {
        "info": {"id_d": id_d, "type": DEPOT_FLUX, "titre": metadata.get("objet") or ""},
        "data": metadata,
    }
    digest = content_sha256(detail, files, metadata)
    now = utc_iso(clock.now())
    content_changed = True

    def build(current: RawDocument | None) -> RawDocument:
        nonlocal content_changed
        content_changed = current is None or current.capture.content_sha256 != digest
        keep = current is not None and not content_changed
        return RawDocument(
            capture=CaptureEnvelope(
                source="push",
                captured_at=current.capture.captured_at if keep and current else now,
                origin=current.capture.origin if keep and current else origin,
                flux=DEPOT_FLUX,
                id_e=id_e,
                id_d=id_d,
                siren=siren,
                files=files,
                content_sha256=digest,
                act_key=act_key,
            ),
            detail=detail,
            metadata=metadata,
            pushes=merge_pushes(list(current.pushes) if current else [], [record]),
        )

    update_raw_document(store, id_e, id_d, build)
    return IngestResult("captured" if content_changed else "unchanged", inbox_key, id_e, id_d)


def _record_push(store: ObjectStore, id_e: str, id_d: str, record: dict[str, Any]) -> str | None:
    """Add a ZIP to the ``pushes`` of the document holding the act (conditional write).

    Returns ``"captured"`` (recorded), ``"unchanged"`` (a replay) or None (the document does not exist).
    """
    outcome: str | None = None

    def build(current: RawDocument | None) -> RawDocument | None:
        nonlocal outcome
        if current is None:
            outcome = None
            return None
        if any(p.get("zip_sha256") == record["zip_sha256"] for p in current.pushes):
            outcome = "unchanged"
            return None
        outcome = "captured"
        return current.model_copy(update={"pushes": merge_pushes(current.pushes, [record])})

    update_raw_document(store, id_e, id_d, build)
    return outcome


def ingest_report(results: list[IngestResult], clock: Clock, started_at: str) -> RunReport:
    """An ingest batch report: the pull report shape, saved at ``run_report_key("ingest")``."""
    report = RunReport(stage="ingest", started_at=started_at)  # kept apart from the pull report
    for result in results:
        item = ReportItem(
            id_e=result.id_e or "*",
            id_d=result.id_d,
            flux=DEPOT_FLUX,
            source="push",
            origin=result.inbox_key,
            reason=result.reason if result.outcome == "rejected" else None,
            message=result.message,
        )
        outcome = {"captured": "captured", "unchanged": "unchanged", "rejected": "errors"}[result.outcome]
        report.add(outcome, item)  # type: ignore[arg-type]
    return report.finish(clock)


__all__ = [
    "DepotRejected",
    "IngestResult",
    "ingest_inbox_object",
    "ingest_local_file",
    "ingest_report",
    "ingest_zip",
    "open_depot_zip",
    "rejection_reason_key",
]
