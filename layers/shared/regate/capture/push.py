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
bucket is versioned: nothing is ever lost). Codes: ``nom_invalide``, ``cle_invalide``, ``zip_invalide``,
``zip_trop_volumineux``, ``zip_chiffre``, ``compression_non_supportee``, ``crc_invalide``, ``zip_corrompu``,
``chemin_interdit``, ``nom_de_fichier_invalide``, ``entree_dupliquee``, ``metadata_absent``,
``metadata_json_invalide``, ``metadata_trop_imbrique``, ``metadata_invalide``, ``identifiant_invalide``,
``fichier_manquant``.

**Nothing half-written.** Every check happens before the first write: the archive's structure, then every
listed entry is decompressed to a temporary file (CRC, sizes and the zip-bomb budget verified). Only then are
files uploaded and ``detail.json`` written last; if storage fails midway, the files this ingest created are
deleted again. An inbox key with ``.``/``..``/empty segments or control characters is refused unread
(``cle_invalide``: only a ``.reason.json`` is written, under a name derived from the key's hash).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from regate.capture.acts import ActIndexEntry, DocumentRef, act_key_for, update_index, with_alias
from regate.capture.documents import (
    content_sha256,
    existing_file_keys,
    load_raw_document,
    put_stream_if_changed,
    update_raw_document,
)
from regate.capture.envelope import CapturedFile, CaptureEnvelope, RawDocument
from regate.capture.pull import merge_pushes
from regate.capture.report import ReportItem, RunReport
from regate.clock import Clock, utc_iso
from regate.settings import Settings
from regate.storage import layout
from regate.storage.layout import (
    INBOX_PREFIX,
    INBOX_REJECTED_PREFIX,
    document_file_key,
    inbox_rejected_key,
    safe_segment,
)
from regate.storage.store import ObjectStore, dumps_canonical

DEPOT_FLUX = "ged-megalis-opendata"
METADATA_NAME = "metadata.json"
_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,49}")
_SIREN = re.compile(r"\d{9}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SUPPORTED_COMPRESSION = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})

#: Limits against zip bombs: Pastell caps act + annexes at 150 MB (defaults of the REGATE_PASTELL_DEPOT_*).
MAX_ZIP_BYTES = 200 * 1024 * 1024
MAX_TOTAL_UNCOMPRESSED = 160 * 1024 * 1024
MAX_ENTRIES = 1000
MAX_RATIO = 200
MAX_METADATA_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 20


@dataclass(frozen=True)
class DepotLimits:
    """Bounds of one depot ZIP (``REGATE_PASTELL_DEPOT_*``)."""

    max_zip_bytes: int = MAX_ZIP_BYTES
    max_uncompressed_bytes: int = MAX_TOTAL_UNCOMPRESSED
    max_entries: int = MAX_ENTRIES
    max_ratio: int = MAX_RATIO
    max_metadata_bytes: int = MAX_METADATA_BYTES
    max_json_depth: int = MAX_JSON_DEPTH

    @classmethod
    def from_settings(cls, settings: Settings) -> DepotLimits:
        return cls(
            max_zip_bytes=settings.pastell_depot_max_zip_bytes,
            max_uncompressed_bytes=settings.pastell_depot_max_uncompressed_bytes,
            max_entries=settings.pastell_depot_max_entries,
            max_ratio=settings.pastell_depot_max_ratio,
            max_metadata_bytes=settings.pastell_depot_max_metadata_bytes,
            max_json_depth=settings.pastell_depot_max_json_depth,
        )


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
    "cle_invalide": (
        "Clé de la boîte de dépôt refusée (segment « . », « .. », vide ou caractère de contrôle)",
        "Inbox key refused ('.', '..', empty segment or control character)",
    ),
    "zip_invalide": ("Archive ZIP illisible", "Not a readable ZIP archive"),
    "zip_trop_volumineux": ("Archive trop volumineuse (bombe ZIP ?)", "Archive too large (zip bomb?)"),
    "zip_chiffre": ("Entrée chiffrée (mot de passe) dans l'archive", "Encrypted entry in the archive"),
    "compression_non_supportee": (
        "Méthode de compression non prise en charge (seules stockée et deflate le sont)",
        "Unsupported compression method (only stored and deflate)",
    ),
    "crc_invalide": ("Somme de contrôle CRC-32 fausse : entrée altérée", "Bad CRC-32: entry altered"),
    "zip_corrompu": ("Données compressées corrompues ou tronquées", "Corrupt or truncated compressed data"),
    "chemin_interdit": ("Chemin interdit dans l'archive", "Forbidden path in the archive"),
    "nom_de_fichier_invalide": (
        "Nom de fichier vide, « . », « .. » ou avec caractère de contrôle",
        "Blank, dot or control-character file name",
    ),
    "metadata_trop_imbrique": (
        "metadata.json trop profondément imbriqué",
        "metadata.json nested too deeply",
    ),
    "identifiant_invalide": (
        "Identifiant avec caractère de contrôle (id_e, siren, numéro, date)",
        "Identifier with a control character (id_e, siren, number, date)",
    ),
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


def open_depot_zip(name: str, fileobj: IO[bytes], size: int, limits: DepotLimits | None = None) -> DepotZip:
    """Validate a depot ZIP (name, structure, sizes, metadata types, listed files); raises DepotRejected.

    Reads only ``metadata.json``; :func:`extract_depot_files` then checks every listed entry's bytes.
    """
    limits = limits or DepotLimits()
    base = PurePosixPath(name).name
    if not base.endswith(".zip") or not _STEM.fullmatch(base[: -len(".zip")]):
        raise DepotRejected("nom_invalide", f"{base!r}")
    stem = base[: -len(".zip")]
    if size > limits.max_zip_bytes:
        raise DepotRejected("zip_trop_volumineux", f"{size} bytes > {limits.max_zip_bytes}")
    try:
        archive = zipfile.ZipFile(fileobj)
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise DepotRejected("zip_invalide", str(exc)) from exc
    if len(infos) > limits.max_entries:
        raise DepotRejected("zip_trop_volumineux", f"{len(infos)} entries")
    names = _check_entries(infos, limits)
    if METADATA_NAME not in names:
        raise DepotRejected("metadata_absent", f"entries: {sorted(names)[:10]}")
    with tempfile.SpooledTemporaryFile(max_size=limits.max_metadata_bytes + 1) as spool:
        _extract_entry(archive, METADATA_NAME, spool, limits.max_metadata_bytes)
        spool.seek(0)
        metadata_bytes = spool.read()
    metadata = _parse_metadata(metadata_bytes, limits.max_json_depth)
    files = _check_metadata(metadata)
    for field, listed in files.items():
        for file_name in listed:
            if file_name not in names:
                raise DepotRejected("fichier_manquant", f"{field}: {file_name!r}")
    return DepotZip(stem, metadata, metadata_bytes, files, archive)


def _check_entries(infos: list[zipfile.ZipInfo], limits: DepotLimits) -> set[str]:
    """The entry names, each a flat, plain, unencrypted, supported file; total and ratio within limits."""
    total = 0
    names: set[str] = set()
    for info in infos:
        entry = info.filename
        if entry.endswith("/") and info.file_size == 0:
            raise DepotRejected("chemin_interdit", f"directory entry {entry!r}: files must be at the root")
        if "/" in entry or "\\" in entry or ":" in entry:
            raise DepotRejected("chemin_interdit", f"{entry!r}")
        _check_file_name(entry)
        if entry.startswith("."):
            raise DepotRejected("chemin_interdit", f"{entry!r}")
        if info.flag_bits & 0x1:
            raise DepotRejected("zip_chiffre", f"{entry!r}")
        if info.compress_type not in _SUPPORTED_COMPRESSION:
            raise DepotRejected("compression_non_supportee", f"{entry!r}: method {info.compress_type}")
        if entry in names:
            raise DepotRejected("entree_dupliquee", f"{entry!r}")
        names.add(entry)
        total += info.file_size
        if info.file_size > 1024 * 1024 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise DepotRejected(
                "zip_trop_volumineux", f"{entry!r} expands {info.file_size}/{info.compress_size}"
            )
    if total > limits.max_uncompressed_bytes:
        raise DepotRejected(
            "zip_trop_volumineux", f"{total} bytes uncompressed > {limits.max_uncompressed_bytes}"
        )
    return names


def _check_file_name(name: str) -> None:
    """Blank, ``.``/``..``, control characters or surrounding spaces: the S3 key would not be this name."""
    if not name.strip() or name.strip() in {".", ".."} or name != name.strip() or _CONTROL.search(name):
        raise DepotRejected("nom_de_fichier_invalide", f"{name!r}")


def json_depth(text: str) -> int:
    """Deepest nesting of ``[``/``{`` outside strings (linear, no recursion: safe on hostile input)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _parse_metadata(raw: bytes, max_depth: int) -> Any:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DepotRejected("metadata_json_invalide", str(exc)) from exc
    depth = json_depth(text)
    if depth > max_depth:
        raise DepotRejected("metadata_trop_imbrique", f"depth {depth} > {max_depth}")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, 5000-digit numbers…
        raise DepotRejected("metadata_json_invalide", str(exc)[:300]) from exc


def _check_metadata(metadata: Any) -> dict[str, list[str]]:
    """The identity fields checked (:func:`_check_identity`), then the listed files per field."""
    _check_identity(metadata)
    return _listed_files(metadata)


def _check_identity(metadata: Any) -> None:
    """A JSON object whose string fields are strings, with a 9-digit ``siren`` and a key-safe ``id_e``."""
    if not isinstance(metadata, dict):
        raise DepotRejected("metadata_invalide", f"expected a JSON object, got {type(metadata).__name__}")
    for key in _REQUIRED_STRINGS:
        value = metadata.get(key)
        if not isinstance(value, str) or not value.strip():
            raise DepotRejected("metadata_invalide", f"{key} must be a non-empty string, got {value!r}")
        if _CONTROL.search(value):
            raise DepotRejected("identifiant_invalide", f"{key}: {value!r}")
    for key in _OPTIONAL_STRINGS:
        if key in metadata and metadata[key] is not None and not isinstance(metadata[key], str):
            raise DepotRejected("metadata_invalide", f"{key} must be a string, got {metadata[key]!r}")
    if not _SIREN.fullmatch(metadata["siren"]):
        raise DepotRejected("metadata_invalide", f"siren must be 9 digits, got {metadata['siren']!r}")
    try:
        safe_segment(metadata["id_e"], "id_e")
    except ValueError as exc:
        raise DepotRejected("metadata_invalide", str(exc)) from exc


def _listed_files(metadata: dict[str, Any]) -> dict[str, list[str]]:
    """``{field: [file names]}`` for every list value; each name flat, key-safe, not metadata.json."""
    files: dict[str, list[str]] = {}
    for key, value in metadata.items():
        if not isinstance(value, list):
            continue
        if not all(isinstance(item, str) for item in value):
            raise DepotRejected("metadata_invalide", f"{key} must be a list of file names, got {value!r}")
        try:
            safe_segment(key, "field")
        except ValueError as exc:
            raise DepotRejected("metadata_invalide", str(exc)) from exc
        for item in value:
            if "/" in item or "\\" in item or item == METADATA_NAME:
                raise DepotRejected("chemin_interdit", f"{key}: {item!r}")
            try:
                _check_file_name(item)
            except DepotRejected as exc:
                raise DepotRejected("nom_de_fichier_invalide", f"{key}: {item!r}") from exc
        files[key] = list(value)
    return files


def _extract_entry(archive: zipfile.ZipFile, name: str, sink: IO[bytes], limit: int) -> tuple[str, int]:
    """Decompress one entry into ``sink`` with a hard cap (declared sizes can lie), CRC checked at its end."""
    digest = hashlib.sha256()
    size = 0
    try:
        with archive.open(name) as handle:
            while chunk := handle.read(1024 * 1024):
                size += len(chunk)
                if size > limit:
                    raise DepotRejected("zip_trop_volumineux", f"{name!r} larger than {limit} bytes")
                digest.update(chunk)
                sink.write(chunk)
    except zipfile.BadZipFile as exc:
        code = "crc_invalide" if "crc" in str(exc).lower() else "zip_corrompu"
        raise DepotRejected(code, f"{name!r}: {exc}") from exc
    except (zlib.error, EOFError, OSError, ValueError) as exc:
        raise DepotRejected("zip_corrompu", f"{name!r}: {type(exc).__name__}: {exc}") from exc
    except RuntimeError as exc:  # "File is encrypted, password required" (flag bits can lie too)
        raise DepotRejected("zip_chiffre", f"{name!r}: {exc}") from exc
    except NotImplementedError as exc:
        raise DepotRejected("compression_non_supportee", f"{name!r}: {exc}") from exc
    return digest.hexdigest(), size


@dataclass
class ExtractedFile:
    """One listed file, decompressed and verified, waiting in a temporary file for its upload."""

    field: str
    num: int
    name: str
    sha256: str
    size: int
    spool: IO[bytes]


def extract_depot_files(depot: DepotZip, limits: DepotLimits | None = None) -> list[ExtractedFile]:
    """Decompress and verify every listed file before anything is written (caller closes the spools)."""
    limits = limits or DepotLimits()
    budget = limits.max_uncompressed_bytes
    done: dict[str, tuple[str, int, IO[bytes]]] = {}
    out: list[ExtractedFile] = []
    try:
        for field, names in depot.files.items():
            for num, name in enumerate(names):
                if name not in done:
                    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
                    done[name] = (*_extract_entry(depot.archive, name, spool, budget), spool)
                    budget -= done[name][1]
                sha, size, spool = done[name]
                out.append(ExtractedFile(field, num, name, sha, size, spool))
    except BaseException:
        for _sha, _size, spool in done.values():
            spool.close()
        raise
    return out


# ----------------------------------------------------------------------------- ingest
@dataclass(frozen=True)
class IngestResult:
    outcome: str  # captured | unchanged | rejected | error (not the ZIP's fault: left in the inbox)
    inbox_key: str
    id_e: str | None = None
    id_d: str | None = None
    reason: str | None = None
    message: str | None = None


def is_safe_inbox_key(key: str) -> bool:
    """``inbox/…`` with no empty, ``.`` or ``..`` segment, no backslash and no control character.

    S3 keys are opaque, but a ``..`` segment means something to every path-normalising tool on the way
    (proxies, SDKs of other clouds, operators' scripts): such a key is refused, never read or copied.
    """
    if not isinstance(key, str) or not key.startswith(INBOX_PREFIX) or "\\" in key or _CONTROL.search(key):
        return False
    segments = key[len(INBOX_PREFIX) :].split("/")
    return all(segment not in {"", ".", ".."} for segment in segments)


def _rejected_keys(inbox_key: str) -> tuple[str, str]:
    """Where a rejected ZIP and its reason go; an unsafe key gets a name derived from its hash."""
    if is_safe_inbox_key(inbox_key):
        return inbox_rejected_key(inbox_key), rejection_reason_key(inbox_key)
    stem = INBOX_REJECTED_PREFIX + "cle-invalide-" + hashlib.sha256(inbox_key.encode()).hexdigest()[:16]
    return stem + ".zip", stem + ".reason.json"


def ingest_inbox_object(
    store: ObjectStore,
    inbox_key: str,
    clock: Clock,
    version_id: str | None = None,
    limits: DepotLimits | None = None,
) -> IngestResult:
    """Ingest ``s3://raw/inbox/…zip`` (an S3 event or ``regate ingest s3://…``); idempotent."""
    if not is_safe_inbox_key(inbox_key):
        return _refuse_key(store, inbox_key, clock)
    head = store.head(inbox_key)
    if head is None:
        # Already moved to inbox-rejected/ by an earlier delivery, or deleted: nothing to do, nothing lost.
        return IngestResult("unchanged", inbox_key, reason="absent_de_inbox")
    with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024) as spool:
        store.download_to(inbox_key, spool, version_id=version_id)
        size = spool.tell()
        spool.seek(0)
        version = version_id or head.get("VersionId")
        return ingest_zip(
            store, inbox_key, spool, size, clock, version_id=version, in_inbox=True, limits=limits
        )


def _refuse_key(store: ObjectStore, inbox_key: str, clock: Clock) -> IngestResult:
    """An unsafe inbox key: only a reason file is written (the object itself is not touched)."""
    rejection = DepotRejected("cle_invalide", repr(inbox_key)[:300])
    reason = rejection.reason(inbox_key[:1000], utc_iso(clock.now()), None)
    _zip_key, reason_key = _rejected_keys(inbox_key)
    previous = store.get_json(reason_key)
    if not (isinstance(previous, dict) and previous.get("inbox_key") == reason["inbox_key"]):
        store.put_if_changed(reason_key, dumps_canonical(reason), content_type="application/json")
    return IngestResult("rejected", inbox_key, reason=rejection.code, message=reason["message_en"])


def ingest_local_file(
    store: ObjectStore, path: str, clock: Clock, limits: DepotLimits | None = None
) -> IngestResult:
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
            code = "nom_invalide" if is_safe_inbox_key(inbox_key) else "cle_invalide"
            return _reject(
                store, inbox_key, handle, clock, DepotRejected(code, repr(name)[:300]), None, False
            )
        put_stream_if_changed(store, inbox_key, handle, digest.hexdigest(), "application/zip")
        head = store.head(inbox_key) or {}
        handle.seek(0)
        return ingest_zip(
            store,
            inbox_key,
            handle,
            size,
            clock,
            version_id=head.get("VersionId"),
            in_inbox=True,
            limits=limits,
        )


def ingest_zip(
    store: ObjectStore,
    inbox_key: str,
    fileobj: IO[bytes],
    size: int,
    clock: Clock,
    version_id: str | None = None,
    in_inbox: bool = True,
    limits: DepotLimits | None = None,
) -> IngestResult:
    """Validate and store one depot ZIP; rejected ZIPs go to ``inbox-rejected/`` with their reason.

    Validation (structure, metadata, every listed entry decompressed and verified) completes before the
    first write; any failure of it is the ZIP's (rejected with a code), never a crash.
    """
    limits = limits or DepotLimits()
    digest = hashlib.sha256()
    while chunk := fileobj.read(1024 * 1024):
        digest.update(chunk)
    zip_sha256 = digest.hexdigest()
    fileobj.seek(0)
    extracted: list[ExtractedFile] = []
    try:
        try:
            depot = open_depot_zip(inbox_key, fileobj, size, limits)
            extracted = extract_depot_files(depot, limits)
        except DepotRejected:
            raise
        except Exception as exc:  # whatever else reading this archive raises is the archive's fault
            raise DepotRejected("zip_invalide", f"{type(exc).__name__}: {exc}"[:300]) from exc
    except DepotRejected as rejection:
        fileobj.seek(0)
        return _reject(store, inbox_key, fileobj, clock, rejection, zip_sha256, in_inbox)
    try:
        return _store_depot(store, inbox_key, version_id, zip_sha256, depot, extracted, clock)
    finally:
        for item in extracted:
            item.spool.close()


def _reject(
    store: ObjectStore,
    inbox_key: str,
    fileobj: IO[bytes],
    clock: Clock,
    rejection: DepotRejected,
    zip_sha256: str | None,
    in_inbox: bool,
) -> IngestResult:
    rejected_key, reason_key = _rejected_keys(inbox_key)
    reason = rejection.reason(inbox_key[:1000], utc_iso(clock.now()), zip_sha256)
    sha = zip_sha256 or hashlib.sha256(fileobj.read()).hexdigest()
    fileobj.seek(0)
    put_stream_if_changed(store, rejected_key, fileobj, sha, "application/zip")
    previous = store.get_json(reason_key)
    if not (
        isinstance(previous, dict)
        and previous.get("zip_sha256") == zip_sha256
        and previous.get("code") == rejection.code
    ):
        store.put_if_changed(reason_key, dumps_canonical(reason), content_type="application/json")
    if in_inbox and is_safe_inbox_key(inbox_key):
        store.delete(inbox_key)  # versioned bucket: the bytes stay recoverable, and are in inbox-rejected/
    return IngestResult("rejected", inbox_key, reason=rejection.code, message=reason["message_en"])


def _store_depot(
    store: ObjectStore,
    inbox_key: str,
    version_id: str | None,
    zip_sha256: str,
    depot: DepotZip,
    extracted: list[ExtractedFile],
    clock: Clock,
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
    created: list[str] = []  # keys this ingest created: deleted again if it cannot finish
    detail = {
        "info": {"id_d": id_d, "type": DEPOT_FLUX, "titre": metadata.get("objet") or ""},
        "data": metadata,
    }
    now = utc_iso(clock.now())
    content_changed = True
    digest = ""

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

    present = existing_file_keys(store, id_e, id_d)
    try:
        for item in extracted:
            key = document_file_key(id_e, id_d, item.field, item.num, item.name)
            item.spool.seek(0)
            absent = key not in present
            if put_stream_if_changed(store, key, item.spool, item.sha256, known_absent=absent) and absent:
                created.append(key)
            files.append(
                CapturedFile(
                    field=item.field,
                    num=item.num,
                    name=item.name,
                    sha256=item.sha256,
                    size=item.size,
                    key=key,
                )
            )
        digest = content_sha256(detail, files, metadata)
        update_raw_document(store, id_e, id_d, build)  # detail.json last: the commit point
    except BaseException:
        for key in created:  # nothing half-written stays behind: the next delivery starts clean
            with contextlib.suppress(Exception):  # best effort; the original error is what matters
                store.delete(key)
        raise
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


def ingest_guarded(target: str, ingest: Callable[[], IngestResult]) -> IngestResult:
    """Run one ingest of a batch; a failure that is not the ZIP's (storage…) is that item's error only.

    The ZIP then stays in the inbox (its event is delivered again); the other ZIPs of the batch go on.
    """
    try:
        return ingest()
    except Exception as exc:
        code = "stockage" if isinstance(exc, (BotoCoreError, ClientError, OSError)) else "erreur_interne"
        return IngestResult("error", target, reason=code, message=f"{type(exc).__name__}: {exc}"[:500])


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
            reason=result.reason if result.outcome in ("rejected", "error") else None,
            message=result.message,
        )
        outcome = {"captured": "captured", "unchanged": "unchanged", "rejected": "errors", "error": "errors"}[
            result.outcome
        ]
        report.add(outcome, item)  # type: ignore[arg-type]
    return report.finish(clock)


__all__ = [
    "DepotLimits",
    "DepotRejected",
    "IngestResult",
    "extract_depot_files",
    "ingest_guarded",
    "ingest_inbox_object",
    "ingest_local_file",
    "ingest_report",
    "ingest_zip",
    "is_safe_inbox_key",
    "open_depot_zip",
    "rejection_reason_key",
]
