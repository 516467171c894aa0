"""S3 layout of Rég@te — a public contract (operators script against these keys).

Raw bucket (``REGATE_RAW_BUCKET``), everything as received::

    pastell/{id_e}/{id_d}/detail.json                       capture envelope + document as received
    pastell/{id_e}/{id_d}/files/{field}/{num}/{file name}   file bytes as received
    inbox/{name}.zip                                        depot ZIPs pushed by Pastell (SFTP → S3)
    inbox-rejected/{name}.zip, {name}.reason.json           ZIPs that could not be ingested, never lost
    pastell-flux/{flux}.json                                flux definition as received (GET /flux/{flux})
    _state/watermarks/{id_e}/{flux}.json                    capture high-water mark per (entity, flux), and
                                                            ``transitions``: the marks of the later states
                                                            listed on their own (annuler-tdt, modification…)
    _state/reconcile/{id_e}.json                            last full id listing of the entity (deletions)
    _state/acts/{siren}/{act key}.json                      act identity → the raw document holding it
                                                            (push and pull of one act are one document)
    _state/runs/capture/latest.json                         last pull capture run report
    _state/runs/ingest/latest.json                          last push ingest run report

Curated bucket (``REGATE_CURATED_BUCKET``), a pure function of raw + settings::

    config/collectivites.csv                                operator per-collectivité values
    config/overrides.csv                                    operator publication overrides per act
    records/{siren}/{annee}/{id_e}.{id_d}.json             one normalised record per act
    records/_by_document/{id_e}/{id_d}.json                 where the act's record currently lives
    scdl/deliberations/{siren}/{annee}.csv                  SCDL file per collectivité and year
    scdl/deliberations/all/{annee}.csv                      national yearly SCDL file
    actes/siren={siren}/annee={annee}/data.parquet          every act (internal, operators)
    public/actes/siren={siren}/annee={annee}/data.parquet   public acts only (the API reads this)
    public/documents/{document_id}/{file name}              published documents (non-enumerable ids)
    public/exports/{sha256}.{csv|parquet}                   large API exports, content-addressed:
                                                            sha256 of (data version, filters, sort,
                                                            format); expire after 2 days (lifecycle)
    quarantine/{id_e}/{id_d}.json                           rejected act + machine-readable reason
    catalog/catalog.jsonld, catalog/catalog.csv             DCAT-AP and SCDL catalogue
    _state/partitions/{siren|all}/{annee}.json              partition manifests (If-Match concurrency)
    _state/dirty/{siren|all}/{annee}                        partitions awaiting (re)publication
    _state/publish/state.json                               what was published where (ids, checksums)
    _state/runs/{stage}/latest.json                         last run report per stage
    _cache/siret/{siren}.json                               SIRET resolution cache
    _text/{sha256}.json                                     text extracted from a published document,
                                                            once per content (see "full-text search")
    search/index/v{n}/shards/{shard}/manifest.json          full-text index shard: tantivy meta + files
                                                            (If-Match concurrency)
    search/index/v{n}/shards/{shard}/files/{file name}      immutable tantivy segment files
"""

from __future__ import annotations

import re
from urllib.parse import quote

# ----------------------------------------------------------------------------- raw bucket
PASTELL_PREFIX = "pastell/"
INBOX_PREFIX = "inbox/"
INBOX_REJECTED_PREFIX = "inbox-rejected/"
STATE_PREFIX = "_state/"

_SAFE_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def safe_segment(value: str, what: str = "identifier") -> str:
    """Reject ids that could escape their prefix (``..``, ``/``) — they come from outside.

    A full match: ``re.match`` with ``$`` would accept a trailing newline (``"12\n"``).
    """
    if not isinstance(value, str) or not _SAFE_SEGMENT.fullmatch(value) or value in {".", ".."}:
        raise ValueError(f"Unsafe {what} for an S3 key: {value!r}")
    return value


def document_prefix(id_e: str, id_d: str) -> str:
    return f"{PASTELL_PREFIX}{safe_segment(id_e, 'id_e')}/{safe_segment(id_d, 'id_d')}/"


def document_detail_key(id_e: str, id_d: str) -> str:
    return document_prefix(id_e, id_d) + "detail.json"


def document_file_key(id_e: str, id_d: str, field: str, num: int, file_name: str) -> str:
    field = safe_segment(field, "field")
    return document_prefix(id_e, id_d) + f"files/{field}/{int(num)}/{file_name_segment(file_name)}"


def file_name_segment(file_name: str) -> str:
    """Keep the original name (UTF-8 is fine in S3 keys) but never a path separator."""
    name = file_name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or name in {".", ".."}:
        raise ValueError(f"Unsafe file name: {file_name!r}")
    return name


def parse_document_key(key: str) -> tuple[str, str] | None:
    """``pastell/{id_e}/{id_d}/…`` → ``(id_e, id_d)``; ``None`` for other keys."""
    if not key.startswith(PASTELL_PREFIX):
        return None
    parts = key[len(PASTELL_PREFIX) :].split("/")
    if len(parts) < 3 or not parts[0] or not parts[1]:
        return None
    return parts[0], parts[1]


FLUX_DEFINITION_PREFIX = "pastell-flux/"


def flux_definition_key(flux: str) -> str:
    return f"{FLUX_DEFINITION_PREFIX}{safe_segment(flux, 'flux')}.json"


def watermark_key(id_e: str, flux: str) -> str:
    return f"{STATE_PREFIX}watermarks/{safe_segment(id_e, 'id_e')}/{safe_segment(flux, 'flux')}.json"


def reconcile_state_key(id_e: str) -> str:
    """When the entity's documents were last compared with a full Pastell listing (deletions)."""
    return f"{STATE_PREFIX}reconcile/{safe_segment(id_e, 'id_e')}.json"


def act_index_key(siren: str, act_key: str) -> str:
    """``act_key`` identifies an act independently of its Pastell id_d (e.g. numéro + date, hashed)."""
    return f"{STATE_PREFIX}acts/{safe_segment(siren, 'siren')}/{safe_segment(act_key, 'act key')}.json"


def inbox_rejected_key(inbox_key: str) -> str:
    name = inbox_key[len(INBOX_PREFIX) :] if inbox_key.startswith(INBOX_PREFIX) else inbox_key
    return INBOX_REJECTED_PREFIX + name


def inbox_rejection_reason_key(inbox_key: str) -> str:
    """``inbox-rejected/{name}.reason.json`` beside the rejected ``inbox-rejected/{name}.zip``."""
    return inbox_rejected_key(inbox_key).removesuffix(".zip") + ".reason.json"


def run_report_key(stage: str) -> str:
    """Last run report of a stage. Every report is JSON with at least ``stage``, ``started_at`` and
    ``finished_at`` (UTC ISO 8601, ``Z``); capture's lives in the raw bucket, the others in curated."""
    return f"{STATE_PREFIX}runs/{safe_segment(stage, 'stage')}/latest.json"


# ------------------------------------------------------------------------- curated bucket
CONFIG_COLLECTIVITES_KEY = "config/collectivites.csv"
CONFIG_OVERRIDES_KEY = "config/overrides.csv"
RECORDS_PREFIX = "records/"
SCDL_DELIBERATIONS_PREFIX = "scdl/deliberations/"
ACTES_PARQUET_PREFIX = "actes/"
PUBLIC_ACTES_PARQUET_PREFIX = "public/actes/"
PUBLIC_DOCUMENTS_PREFIX = "public/documents/"
PUBLIC_EXPORTS_PREFIX = "public/exports/"
EXPORT_FORMATS = ("csv", "parquet")
QUARANTINE_PREFIX = "quarantine/"
CATALOG_JSONLD_KEY = "catalog/catalog.jsonld"
CATALOG_CSV_KEY = "catalog/catalog.csv"
DIRTY_PREFIX = f"{STATE_PREFIX}dirty/"
PUBLISH_STATE_KEY = f"{STATE_PREFIX}publish/state.json"
SIRET_CACHE_PREFIX = "_cache/siret/"
NATIONAL = "all"


def record_key(siren: str, annee: int, id_e: str, id_d: str) -> str:
    return f"{record_partition_prefix(siren, annee)}{safe_segment(id_e)}.{safe_segment(id_d)}.json"


def record_partition_prefix(siren: str, annee: int) -> str:
    return f"{RECORDS_PREFIX}{safe_segment(siren, 'siren')}/{int(annee)}/"


def record_pointer_key(id_e: str, id_d: str) -> str:
    return f"{RECORDS_PREFIX}_by_document/{safe_segment(id_e)}/{safe_segment(id_d)}.json"


def scdl_deliberations_key(siren: str, annee: int) -> str:
    return f"{SCDL_DELIBERATIONS_PREFIX}{safe_segment(siren, 'siren')}/{int(annee)}.csv"


def scdl_deliberations_national_key(annee: int) -> str:
    return f"{SCDL_DELIBERATIONS_PREFIX}{NATIONAL}/{int(annee)}.csv"


def actes_parquet_key(siren: str, annee: int, public: bool = False) -> str:
    prefix = PUBLIC_ACTES_PARQUET_PREFIX if public else ACTES_PARQUET_PREFIX
    return f"{prefix}siren={safe_segment(siren, 'siren')}/annee={int(annee)}/data.parquet"


def parse_partition_key(key: str) -> tuple[str, int] | None:
    """``…/siren=X/annee=Y/…`` → ``(X, Y)``."""
    match = re.search(r"siren=([0-9A-Za-z]+)/annee=(\d{4})/", key)
    return (match.group(1), int(match.group(2))) if match else None


def public_document_key(document_id: str, file_name: str) -> str:
    document_id = safe_segment(document_id, "document id")
    return f"{PUBLIC_DOCUMENTS_PREFIX}{document_id}/{file_name_segment(file_name)}"


def public_export_key(digest: str, fmt: str) -> str:
    """Content-addressed key of a large API export (same request on the same data = same key)."""
    if not re.fullmatch(r"[0-9a-f]{64}", digest or ""):
        raise ValueError(f"Export digest must be a sha256 hex digest: {digest!r}")
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"Unknown export format: {fmt!r}")
    return f"{PUBLIC_EXPORTS_PREFIX}{digest}.{fmt}"


def public_document_url(public_base_url: str, document_id: str) -> str:
    """Stable public URL of a published document (served by the API, ``/v1/documents/{id}``)."""
    return f"{public_base_url.rstrip('/')}/v1/documents/{quote(document_id, safe='')}"


def quarantine_key(id_e: str, id_d: str) -> str:
    return f"{QUARANTINE_PREFIX}{safe_segment(id_e)}/{safe_segment(id_d)}.json"


def dirty_partition_key(siren: str, annee: int) -> str:
    return f"{DIRTY_PREFIX}{safe_segment(siren, 'siren')}/{int(annee)}"


def siret_cache_key(siren: str) -> str:
    return f"{SIRET_CACHE_PREFIX}{safe_segment(siren, 'siren')}.json"


# ------------------------------------------------------------------- full-text search (curated)
# Extracted texts are internal (underscore prefix): they are only ever made from documents the caller
# declared public, but they are not a public dataset. The index holds public acts only; it is read by the
# API from its ephemeral storage, never served as is.
TEXT_PREFIX = "_text/"
SEARCH_INDEX_PREFIX = "search/index/"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SHARD = re.compile(r"\d{2,4}")
_INDEX_FILE = re.compile(r"[0-9a-f]{32}(\.\d+)?\.[a-z]{2,10}")


def text_key(sha256: str) -> str:
    """``_text/{sha256}.json``: the text of one document content (shared by every act holding it)."""
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise ValueError(f"Text key needs a sha256 hex digest: {sha256!r}")
    return f"{TEXT_PREFIX}{sha256}.json"


def parse_text_key(key: str) -> str | None:
    """``_text/{sha256}.json`` → the sha256; ``None`` for other keys."""
    if not key.startswith(TEXT_PREFIX) or not key.endswith(".json"):
        return None
    digest = key[len(TEXT_PREFIX) : -len(".json")]
    return digest if _SHA256.fullmatch(digest) else None


def search_shard_prefix(index_version: int, shard: str) -> str:
    """One shard of the full-text index; ``index_version`` changes only with the index schema."""
    if not isinstance(shard, str) or not _SHARD.fullmatch(shard):
        raise ValueError(f"Unsafe shard name: {shard!r}")
    return f"{SEARCH_INDEX_PREFIX}v{int(index_version)}/shards/{shard}/"


def search_shard_manifest_key(index_version: int, shard: str) -> str:
    return search_shard_prefix(index_version, shard) + "manifest.json"


def search_shard_file_key(index_version: int, shard: str, file_name: str) -> str:
    """A tantivy segment file (``{segment uuid}.{ext}`` or ``{uuid}.{opstamp}.del``), never rewritten."""
    if not isinstance(file_name, str) or not _INDEX_FILE.fullmatch(file_name):
        raise ValueError(f"Not an index segment file name: {file_name!r}")
    return search_shard_prefix(index_version, shard) + f"files/{file_name}"


def parse_search_shard_key(key: str) -> tuple[int, str, str | None] | None:
    """``search/index/v{n}/shards/{shard}/(manifest.json|files/{name})`` → ``(n, shard, name or None)``."""
    match = re.fullmatch(r"search/index/v(\d+)/shards/(\d{2,4})/(manifest\.json|files/([^/]+))", key)
    if not match:
        return None
    return int(match.group(1)), match.group(2), match.group(4)
