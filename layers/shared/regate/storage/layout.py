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
    public/lake/actes/annee={annee}/data.parquet            compacted read dataset: the public acts of the
                                                            nation for one year (exactly the rows of the
                                                            public partitions), sorted by SIREN, date,
                                                            acte_id; small row groups (pushdown)
    public/lake/comptes/annee={annee}/data.parquet          counts of those acts per collectivité × month ×
                                                            matière × nature × documents_publics
    public/lake/comptes_nationaux/annee={annee}/data.parquet
                                                            the same counts for the nation (no SIREN): stats
    public/lake/manifest.json                               the years of the compacted datasets and their
                                                            ETags (the API's listing, one GET)
    public/documents/{document_id}/{file name}              published documents (non-enumerable ids)
    public/exports/{sha256}.{csv|parquet}                   large fixed API exports (all, one year, one
                                                            SIREN, one SIREN-year), content-addressed:
                                                            sha256 of (data version, filters, sort,
                                                            format); expire after 2 days (lifecycle)
    quarantine/{id_e}/{id_d}.json                           rejected act + machine-readable reason
    catalog/catalog.jsonld, catalog/catalog.csv             DCAT-AP and SCDL catalogue
    _state/partitions/{siren|all}/{annee}.json              partition manifests (If-Match concurrency)
    _state/dirty/{siren|all}/{annee}                        partitions awaiting (re)publication
    _state/lake/{annee}.json                                compacted year manifest (If-Match concurrency)
    _state/lake/manifest.json                               state of public/lake/manifest.json (If-Match)
    _state/lake-pending/{annee}/{token}                     years awaiting the debounced read step
                                                            (national SCDL file + compacted datasets)
    _state/awaiting-flux/{flux}/{id_e}/{id_d}.json          acts withheld for lack of a flux definition
                                                            (decided again when the definition arrives)
    _state/publish/state.json                               what was published where (ids, checksums)
    _state/publish/budgets.json                             the same for the budget files (flux/budgets)
    _state/runs/{stage}/latest.json                         last run report per stage
    _cache/siret/{siren}.json                               SIRET resolution cache

Marchés publics (DECP) — raw bucket, profils d'acheteur (see the section at the end of this module)::

    acheteurs/{plateforme}/{siren}/{annee}/{mm}.json        the platform's answer for the buyer's contracts
                                                            notified in that month, as received (versioned)
    acheteurs-rejected/{plateforme}/{siren}/{annee}/{mm}.json  why the last answer for that window was refused
                                                            (HTML, malformed, too large…); the good one stays
    _state/acheteurs/{plateforme}/{siren}.json              capture high-water mark (notification date)
    _state/runs/capture-marches/latest.json                 last capture run report

Marchés publics — curated bucket::

    decp/{siret}/{annee}.json                               DECP 2.0.x per buyer SIRET and notification year
    decp/all/{annee}.json                                   national DECP file per year
    quarantine/decp/{plateforme}/{siren}/{annee}/{mm}.json  validation report of one raw answer (quarantined
                                                            records with reasons, warnings, repairs)
    _state/publish/marches.json                             what was published on data.gouv.fr (ids, sha1)
    _state/runs/publish-marches/latest.json                 last DECP publication run report
    public/marches/{contrats|titulaires}/annee={annee}/data.parquet
                                                            flat tables of the published contracts (the API
                                                            reads these)

Back-office (curated bucket; see the "back-office" section at the end of this module)::

    config/decisions/{siren}/{id_e}/{id_d}.json             operator decision / objet correction of one act
    config/decisions/{siren}/{id_e}/{id_d}/annexes/{rang}.json   operator decision on one annex
    config/collectivites/{siren}.json                       per-collectivité switches set in the back-office
    audit/admin/{yyyy}/{mm}/{dd}/{HHMMSSffffff}Z-{siren}-{uuid}.json
                                                            append-only audit log (REGATE_ADMIN_AUDIT_BUCKET,
                                                            default the curated bucket), create-only writes
    _text/{sha256}.json                                     text extracted from a published document,
                                                            once per content (see "full-text search")
    search/index/v{n}/shards/{shard}/manifest.json          full-text index shard: tantivy meta + files
                                                            (If-Match concurrency)
    search/index/v{n}/shards/{shard}/files/{file name}      immutable tantivy segment files
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
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


# ----------------------------------------------------------------- compacted read datasets (the "lake")
LAKE_PREFIX = "public/lake/"
LAKE_DATASETS = ("actes", "comptes", "comptes_nationaux")
LAKE_MANIFEST_KEY = f"{LAKE_PREFIX}manifest.json"
LAKE_STATE_PREFIX = f"{STATE_PREFIX}lake/"
LAKE_MANIFEST_STATE_KEY = f"{LAKE_STATE_PREFIX}manifest.json"
LAKE_PENDING_PREFIX = f"{STATE_PREFIX}lake-pending/"
_LAKE_KEY = re.compile(r"public/lake/(actes|comptes|comptes_nationaux)/annee=([0-9]{4})/data\.parquet")
_PENDING_KEY = re.compile(r"_state/lake-pending/([0-9]{4})/([0-9a-f]{32})")


def _year(annee: int) -> int:
    annee = int(annee)
    if not 1000 <= annee <= 9999:
        raise ValueError(f"Bad year {annee}")
    return annee


def lake_key(dataset: str, annee: int) -> str:
    """``public/lake/{actes|comptes|comptes_nationaux}/annee={annee}/data.parquet``: one file per year."""
    if dataset not in LAKE_DATASETS:
        raise ValueError(f"Unknown compacted dataset: {dataset!r}")
    return f"{LAKE_PREFIX}{dataset}/annee={_year(annee):04d}/data.parquet"


def parse_lake_key(key: str) -> tuple[str, int] | None:
    """``public/lake/{dataset}/annee={annee}/data.parquet`` → ``(dataset, annee)``."""
    match = _LAKE_KEY.fullmatch(key or "")
    return (match.group(1), int(match.group(2))) if match else None


def lake_state_key(annee: int) -> str:
    """Manifest of one compacted year (the public partitions' ETags it was built from)."""
    return f"{LAKE_STATE_PREFIX}{_year(annee):04d}.json"


def lake_pending_key(annee: int, token: str) -> str:
    """One marker per write (never overwritten): the read step deletes exactly the markers it saw."""
    if not re.fullmatch(r"[0-9a-f]{32}", token or ""):
        raise ValueError(f"Pending token must be 32 hex digits: {token!r}")
    return f"{LAKE_PENDING_PREFIX}{_year(annee):04d}/{token}"


def parse_lake_pending_key(key: str) -> tuple[int, str] | None:
    """``_state/lake-pending/{annee}/{token}`` → ``(annee, token)``."""
    match = _PENDING_KEY.fullmatch(key or "")
    return (int(match.group(1)), match.group(2)) if match else None


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


AWAITING_FLUX_PREFIX = f"{STATE_PREFIX}awaiting-flux/"


def awaiting_flux_prefix(flux: str) -> str:
    return f"{AWAITING_FLUX_PREFIX}{safe_segment(flux, 'flux')}/"


def awaiting_flux_key(flux: str, id_e: str, id_d: str) -> str:
    """Marker of an act decided ``table_absente``: the flux definition's arrival re-decides it."""
    return f"{awaiting_flux_prefix(flux)}{safe_segment(id_e, 'id_e')}/{safe_segment(id_d, 'id_d')}.json"


def parse_awaiting_flux_key(key: str) -> tuple[str, str, str] | None:
    """``_state/awaiting-flux/{flux}/{id_e}/{id_d}.json`` → ``(flux, id_e, id_d)``."""
    if not key.startswith(AWAITING_FLUX_PREFIX) or not key.endswith(".json"):
        return None
    parts = key[len(AWAITING_FLUX_PREFIX) : -len(".json")].split("/")
    if len(parts) != 3:
        return None
    try:
        return safe_segment(parts[0], "flux"), safe_segment(parts[1], "id_e"), safe_segment(parts[2], "id_d")
    except ValueError:
        return None


def parse_flux_definition_key(key: str) -> str | None:
    """``pastell-flux/{flux}.json`` → ``flux``; ``None`` for any other key."""
    if not key.startswith(FLUX_DEFINITION_PREFIX) or not key.endswith(".json"):
        return None
    flux = key[len(FLUX_DEFINITION_PREFIX) : -len(".json")]
    try:
        return safe_segment(flux, "flux")
    except ValueError:
        return None


def siret_cache_key(siren: str) -> str:
    return f"{SIRET_CACHE_PREFIX}{safe_segment(siren, 'siren')}.json"


# ============================================================================================================
# Marchés publics (DECP) — profils d'acheteur in raw, DECP files in curated. Builders and parsers together.
# ``{siren}`` in raw keys is what the platform was asked for (the Atexo SDM filters by SIREN); records carry
# the buyer's SIRET, which is what curated files are keyed by.
# ============================================================================================================
PROFILS_PREFIX = "acheteurs/"
PROFILS_REJECTED_PREFIX = "acheteurs-rejected/"
PROFILS_STATE_PREFIX = f"{STATE_PREFIX}acheteurs/"
DECP_PREFIX = "decp/"
DECP_QUARANTINE_PREFIX = f"{QUARANTINE_PREFIX}decp/"
MARCHES_CAPTURE_STAGE = "capture-marches"

_SIREN_RE = re.compile(r"[0-9]{9}")
_SIRET_RE = re.compile(r"[0-9]{14}")
_EXPORT_KEY_RE = re.compile(
    r"^(?P<prefix>acheteurs|acheteurs-rejected|quarantine/decp)/(?P<plateforme>[A-Za-z0-9][A-Za-z0-9._-]{0,127})/"
    r"(?P<siren>[0-9]{9})/(?P<annee>[0-9]{4})/(?P<mois>0[1-9]|1[0-2])\.json$"
)


def _siren_segment(siren: str) -> str:
    if not isinstance(siren, str) or not _SIREN_RE.fullmatch(siren):
        raise ValueError(f"SIREN must be 9 digits for an S3 key: {siren!r}")
    return siren


def _window(annee: int, mois: int) -> str:
    annee, mois = int(annee), int(mois)
    if not 1000 <= annee <= 9999 or not 1 <= mois <= 12:
        raise ValueError(f"Bad window {annee}-{mois}")
    return f"{annee:04d}/{mois:02d}"


def profil_export_prefix(plateforme: str, siren: str | None = None) -> str:
    base = f"{PROFILS_PREFIX}{safe_segment(plateforme, 'plateforme')}/"
    return base if siren is None else f"{base}{_siren_segment(siren)}/"


def profil_export_key(plateforme: str, siren: str, annee: int, mois: int) -> str:
    """Raw answer of a profil d'acheteur for one buyer (SIREN) and one month of notification dates."""
    return f"{profil_export_prefix(plateforme, siren)}{_window(annee, mois)}.json"


def profil_rejected_key(plateforme: str, siren: str, annee: int, mois: int) -> str:
    plateforme = safe_segment(plateforme, "plateforme")
    return f"{PROFILS_REJECTED_PREFIX}{plateforme}/{_siren_segment(siren)}/{_window(annee, mois)}.json"


def profil_watermark_key(plateforme: str, siren: str) -> str:
    return f"{PROFILS_STATE_PREFIX}{safe_segment(plateforme, 'plateforme')}/{_siren_segment(siren)}.json"


def decp_quarantine_key(plateforme: str, siren: str, annee: int, mois: int) -> str:
    """Validation report of the raw answer ``profil_export_key(plateforme, siren, annee, mois)``."""
    plateforme = safe_segment(plateforme, "plateforme")
    return f"{DECP_QUARANTINE_PREFIX}{plateforme}/{_siren_segment(siren)}/{_window(annee, mois)}.json"


def parse_profil_key(key: str) -> tuple[str, str, int, int] | None:
    """``acheteurs/{plateforme}/{siren}/{annee}/{mm}.json`` (or its rejected / quarantine twin) →
    ``(plateforme, siren, annee, mois)``; ``None`` for any other key."""
    match = _EXPORT_KEY_RE.match(key or "")
    if not match:
        return None
    return match["plateforme"], match["siren"], int(match["annee"]), int(match["mois"])


def decp_key(siret: str, annee: int) -> str:
    """Curated DECP file of one buyer (SIRET) and one notification year — ends in ``.json``, as the
    national consolidation requires of the resources it harvests."""
    if not isinstance(siret, str) or not _SIRET_RE.fullmatch(siret):
        raise ValueError(f"SIRET must be 14 digits for an S3 key: {siret!r}")
    return f"{DECP_PREFIX}{siret}/{int(annee):04d}.json"


def decp_national_key(annee: int) -> str:
    return f"{DECP_PREFIX}{NATIONAL}/{int(annee):04d}.json"


MARCHES_PUBLISH_STATE_KEY = f"{STATE_PREFIX}publish/marches.json"
MARCHES_PUBLISH_STAGE = "publish-marches"
MARCHES_TABLES = ("contrats", "titulaires")
PUBLIC_MARCHES_PREFIX = "public/marches/"


def marches_table_key(table: str, annee: int) -> str:
    """Flat Parquet table (``contrats`` or ``titulaires``) of the contracts published for one year."""
    if table not in MARCHES_TABLES:
        raise ValueError(f"Unknown marchés table: {table!r}")
    return f"{PUBLIC_MARCHES_PREFIX}{table}/annee={int(annee):04d}/data.parquet"


def parse_marches_table_key(key: str) -> tuple[str, int] | None:
    """``public/marches/{table}/annee={annee}/data.parquet`` → ``(table, annee)``."""
    match = re.fullmatch(r"public/marches/(contrats|titulaires)/annee=([0-9]{4})/data\.parquet", key or "")
    return (match.group(1), int(match.group(2))) if match else None


def parse_decp_key(key: str) -> tuple[str, int] | None:
    """``decp/{siret|all}/{annee}.json`` → ``(siret or "all", annee)``."""
    match = re.fullmatch(r"decp/([0-9]{14}|all)/([0-9]{4})\.json", key or "")
    return (match.group(1), int(match.group(2))) if match else None


# --------------------------------------------------------------------------------- back-office
# Written by the write API (regate.admin) with conditional writes (If-Match / If-None-Match), one object per
# act, per annex and per collectivité, under curated ``config/`` so that the S3 event on ``config/`` makes
# the chain re-normalise what they concern. The audit log is outside ``config/`` (it changes no decision).
ADMIN_DECISIONS_PREFIX = "config/decisions/"
ADMIN_COLLECTIVITES_PREFIX = "config/collectivites/"
ADMIN_AUDIT_PREFIX = "audit/admin/"
_ANNEX_RANG = re.compile(r"\d{1,4}")
_AUDIT_NAME = re.compile(r"(\d{12})Z-(\d{9})-([0-9a-f]{32})\.json")


def admin_decisions_prefix(siren: str) -> str:
    """Every back-office decision object of one collectivité (acts and annexes)."""
    return f"{ADMIN_DECISIONS_PREFIX}{_siren_segment(siren)}/"


def admin_acte_decision_key(siren: str, id_e: str, id_d: str) -> str:
    return f"{admin_decisions_prefix(siren)}{safe_segment(id_e, 'id_e')}/{safe_segment(id_d, 'id_d')}.json"


def admin_annexes_prefix(siren: str, id_e: str, id_d: str) -> str:
    act = f"{safe_segment(id_e, 'id_e')}/{safe_segment(id_d, 'id_d')}"
    return f"{admin_decisions_prefix(siren)}{act}/annexes/"


def admin_annexe_decision_key(siren: str, id_e: str, id_d: str, rang: int) -> str:
    """``rang`` is the annex's ``num`` in its Pastell field (the stamped copy keeps the number)."""
    if isinstance(rang, bool) or not isinstance(rang, int) or not 0 <= rang <= 9999:
        raise ValueError(f"Unsafe annex rank: {rang!r}")
    return f"{admin_annexes_prefix(siren, id_e, id_d)}{rang}.json"


def admin_collectivite_key(siren: str) -> str:
    return f"{ADMIN_COLLECTIVITES_PREFIX}{_siren_segment(siren)}.json"


def parse_admin_config_key(key: str) -> tuple[str, str, str | None, str | None, int | None] | None:
    """A back-office object key → ``(kind, siren, id_e, id_d, rang)``; ``None`` for any other key.

    ``kind`` is ``acte``, ``annexe`` or ``collectivite`` (then ``id_e``, ``id_d`` and ``rang`` are None).
    Other ``config/`` keys (``config/overrides.csv``, ``config/collectivites.csv``) give ``None``.
    """
    try:
        if key.startswith(ADMIN_COLLECTIVITES_PREFIX) and key.endswith(".json"):
            siren = key[len(ADMIN_COLLECTIVITES_PREFIX) : -len(".json")]
            return ("collectivite", _siren_segment(siren), None, None, None)
        if not key.startswith(ADMIN_DECISIONS_PREFIX) or not key.endswith(".json"):
            return None
        parts = key[len(ADMIN_DECISIONS_PREFIX) : -len(".json")].split("/")
        if len(parts) == 3:
            siren, id_e, id_d = parts
            siren = _siren_segment(siren)
            return ("acte", siren, safe_segment(id_e, "id_e"), safe_segment(id_d, "id_d"), None)
        if len(parts) == 5 and parts[3] == "annexes" and _ANNEX_RANG.fullmatch(parts[4]):
            siren, id_e, id_d = parts[:3]
            return (
                "annexe",
                _siren_segment(siren),
                safe_segment(id_e, "id_e"),
                safe_segment(id_d, "id_d"),
                int(parts[4]),
            )
    except ValueError:
        return None
    return None


def admin_audit_month_prefix(day: date) -> str:
    return f"{ADMIN_AUDIT_PREFIX}{day.year:04d}/{day.month:02d}/"


def admin_audit_day_prefix(day: date) -> str:
    return f"{admin_audit_month_prefix(day)}{day.day:02d}/"


def admin_audit_key(at: datetime, siren: str, entry_id: str) -> str:
    """Time-ordered, unique, never reused: listing a day gives its entries in order; the SIREN in the name
    lets a reader skip other collectivités' entries without reading them."""
    if at.tzinfo is None or at.utcoffset() != timedelta(0):
        raise ValueError("audit timestamps are UTC")
    if not re.fullmatch(r"[0-9a-f]{32}", entry_id or ""):
        raise ValueError(f"Audit entry id must be 32 hex digits: {entry_id!r}")
    stamp = at.strftime("%H%M%S%f")
    return f"{admin_audit_day_prefix(at.date())}{stamp}Z-{_siren_segment(siren)}-{entry_id}.json"


def parse_admin_audit_key(key: str) -> tuple[datetime, str, str] | None:
    """``audit/admin/…/{HHMMSSffffff}Z-{siren}-{uuid}.json`` → ``(UTC time, siren, entry id)``."""
    if not key.startswith(ADMIN_AUDIT_PREFIX):
        return None
    parts = key[len(ADMIN_AUDIT_PREFIX) :].split("/")
    if len(parts) != 4:
        return None
    match = _AUDIT_NAME.fullmatch(parts[3])
    if match is None:
        return None
    try:
        at = datetime.strptime(f"{parts[0]}{parts[1]}{parts[2]}{match.group(1)}", "%Y%m%d%H%M%S%f")
    except ValueError:
        return None
    return at.replace(tzinfo=UTC), match.group(2), match.group(3)


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


# ------------------------------------------------------------------------- budgets (flux/budgets/chain.py)
#: one entry per captured TOTEM budget act: its metadata, decision and converted lines (internal)
BUDGET_DOCUMENTS_PREFIX = "budgets/_documents/"
SCDL_BUDGETS_PREFIX = "scdl/budgets/"
BUDGETS_PARQUET_PREFIX = "budgets/lignes/"
PUBLIC_BUDGETS_PARQUET_PREFIX = "public/budgets/lignes/"
BUDGET_PARTITION_STATE_PREFIX = f"{STATE_PREFIX}partitions-budgets/"


def budget_document_prefix(siren: str, exercice: int) -> str:
    return f"{BUDGET_DOCUMENTS_PREFIX}{safe_segment(siren, 'siren')}/{int(exercice)}/"


def budget_document_key(siren: str, exercice: int, id_e: str, id_d: str) -> str:
    return f"{budget_document_prefix(siren, exercice)}{safe_segment(id_e)}.{safe_segment(id_d)}.json"


def parse_budget_document_key(key: str) -> tuple[str, int, str, str] | None:
    """``budgets/_documents/{siren}/{exercice}/{id_e}.{id_d}.json`` → ``(siren, exercice, id_e, id_d)``."""
    match = re.fullmatch(
        re.escape(BUDGET_DOCUMENTS_PREFIX) + r"([0-9A-Za-z]+)/(\d{4})/([^/.]+)\.([^/]+)\.json", key
    )
    return (match.group(1), int(match.group(2)), match.group(3), match.group(4)) if match else None


def scdl_budgets_key(siren: str, annee: int) -> str:
    return f"{SCDL_BUDGETS_PREFIX}{safe_segment(siren, 'siren')}/{int(annee)}.csv"


def scdl_budgets_national_key(annee: int) -> str:
    return f"{SCDL_BUDGETS_PREFIX}{NATIONAL}/{int(annee)}.csv"


def parse_scdl_budgets_key(key: str) -> tuple[str, int] | None:
    """``scdl/budgets/{siren}/{annee}.csv`` → ``(siren, annee)`` (``all``: the national file)."""
    match = re.fullmatch(re.escape(SCDL_BUDGETS_PREFIX) + r"([0-9A-Za-z]+)/(\d{4})\.csv", key)
    return (match.group(1), int(match.group(2))) if match else None


#: every public budget line of an exercice in one file, one row group per SIREN (sorted): what the API reads
#: for requests without ``siren`` (one file instead of one per collectivité)
PUBLIC_BUDGETS_NATIONAL_PREFIX = "public/budgets/national/"


def budgets_national_parquet_key(annee: int) -> str:
    return f"{PUBLIC_BUDGETS_NATIONAL_PREFIX}annee={int(annee)}/data.parquet"


def parse_budgets_national_parquet_key(key: str) -> int | None:
    match = re.fullmatch(
        re.escape(PUBLIC_BUDGETS_NATIONAL_PREFIX) + r"annee=(\d{4})/data\.parquet", key or ""
    )
    return int(match.group(1)) if match else None


def budgets_parquet_key(siren: str, annee: int, public: bool = False) -> str:
    prefix = PUBLIC_BUDGETS_PARQUET_PREFIX if public else BUDGETS_PARQUET_PREFIX
    return f"{prefix}siren={safe_segment(siren, 'siren')}/annee={int(annee)}/data.parquet"


#: what the budgets publisher published where (same shape as ``PUBLISH_STATE_KEY``), and its run report stage
BUDGETS_PUBLISH_STATE_KEY = f"{STATE_PREFIX}publish/budgets.json"
BUDGETS_PUBLISH_STAGE = "publish-budgets"


def budget_partition_manifest_key(siren: str, annee: int) -> str:
    """Manifest of a budget partition (``siren`` = ``all`` for the national file)."""
    return f"{BUDGET_PARTITION_STATE_PREFIX}{safe_segment(siren, 'siren')}/{int(annee)}.json"
