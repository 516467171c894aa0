"""The one settings object of Rég@te.

Every value comes from a ``REGATE_*`` environment variable (or a ``.env`` file); every limit is a
named setting. In Lambda, secrets are not put in environment variables: ``*_SECRET_ARN`` /
``*_PARAMETER`` point to Secrets Manager / SSM and :func:`resolve_secrets` fills them in at cold start.
"""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_PASTELL_FLUX: tuple[str, ...] = (
    "actes-generique",
    "actes-automatique",
    "ls-actes",
    "deliberations-studio",
    "actes-reglementaires-studio",
    "arretes-individuels-studio",
    "contrats-studio",
    "documents-budgetaires-studio",
    "autres-studio",
    "autres-studio-sans-tdt",
)

#: States whose entries are listed with their own watermark (pastell-api.md §17): cancellation, re-stamp,
#: re-opening and edits after the acknowledgement.
DEFAULT_PASTELL_TRANSITIONS: tuple[str, ...] = ("annuler-tdt", "tamponner-tdt", "reouverture", "modification")

#: Flux that never go to the préfecture: harvested at ``termine`` instead of ``acquiter-tdt``.
DEFAULT_FLUX_SANS_TDT: tuple[str, ...] = ("autres-studio-sans-tdt",)


class Settings(BaseSettings):
    """Configuration read from ``REGATE_*`` variables (see README, "Configuration")."""

    model_config = SettingsConfigDict(
        env_prefix="REGATE_", env_file=".env", extra="ignore", populate_by_name=True
    )

    # --- storage -------------------------------------------------------------------------
    s3_endpoint_url: str = Field(
        default="", description="Empty = AWS; else any S3-compatible endpoint (moto, OVHcloud, Scaleway…)"
    )
    s3_region: str = Field(default="eu-west-3", description="Region of the buckets")
    raw_bucket: str = Field(default="regate-raw", description="Versioned bucket: everything as received")
    curated_bucket: str = Field(
        default="regate-curated", description="Versioned bucket: SCDL, Parquet, state"
    )
    s3_max_attempts: int = Field(
        default=5, ge=1, le=20, description="Attempts per S3 call (botocore standard retry mode)"
    )

    # --- Pastell ---------------------------------------------------------------------------
    pastell_url: str = Field(default="", description="Pastell root URL; the client adds /api/v2/")
    pastell_user: str = ""
    pastell_password: SecretStr = SecretStr("")
    pastell_token: SecretStr = Field(default=SecretStr(""), description="Bearer token (Pastell ≥ 4.0)")
    pastell_flux: Annotated[tuple[str, ...], NoDecode] = DEFAULT_PASTELL_FLUX
    pastell_flux_sans_tdt: Annotated[tuple[str, ...], NoDecode] = DEFAULT_FLUX_SANS_TDT
    pastell_secret_arn: str = Field(default="", description="Secrets Manager ARN holding Pastell credentials")
    pastell_page_size: int = Field(default=100, ge=1, le=10000)
    pastell_overlap_seconds: int = Field(default=86400, ge=0, description="Watermark overlap")
    pastell_concurrency: int = Field(default=8, ge=1, le=64, description="Parallel document downloads")
    pastell_listing_concurrency: int = Field(
        default=8,
        ge=1,
        le=64,
        description="(entity, flux) pairs listed at once (and entities reconciled at once); each pair's "
        "pages and states stay sequential, its watermark moves only if all its documents succeeded",
    )
    pastell_default_since: str = Field(default="2020-01-01 00:00:00", description="First-run lower bound")
    pastell_transitions: Annotated[tuple[str, ...], NoDecode] = Field(
        default=DEFAULT_PASTELL_TRANSITIONS,
        description="States listed with their own watermark (etatTransit) to see cancellations and "
        "corrections of acts acknowledged long ago; only documents already captured are re-read",
    )
    pastell_reconcile_interval_hours: float = Field(
        default=24.0,
        ge=0,
        description="Full id listing per (entity, flux) at most this often, to detect documents deleted "
        "in Pastell (and acknowledged ones never captured); 0 = every run",
    )
    pastell_max_pages: int = Field(default=10000, ge=1, description="Page limit of one listing")
    pastell_max_file_bytes: int = Field(
        default=160 * 1024 * 1024, ge=1024, description="Largest file accepted (Pastell caps at 150 MB)"
    )
    pastell_file_deadline_seconds: float = Field(
        default=900.0, gt=0, description="Wall-clock limit of one file download"
    )
    pastell_run_deadline_seconds: float = Field(
        default=14400.0,
        ge=0,
        description="Wall-clock limit of a capture run from the CLI (0 = none); in Lambda the remaining "
        "time minus REGATE_PASTELL_RUN_MARGIN_SECONDS (whichever is sooner)",
    )
    pastell_run_margin_seconds: float = Field(
        default=60.0, ge=0, description="Lambda: time kept to save the report before the timeout"
    )
    # Depot ZIPs (push, ged-megalis-opendata): limits against zip bombs and hostile archives.
    pastell_depot_max_zip_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)
    pastell_depot_max_uncompressed_bytes: int = Field(default=160 * 1024 * 1024, ge=1024)
    pastell_depot_max_entries: int = Field(default=1000, ge=2)
    pastell_depot_max_ratio: int = Field(default=200, ge=1, description="Largest compression ratio > 1 MB")
    pastell_depot_max_metadata_bytes: int = Field(default=1024 * 1024, ge=1024)
    pastell_depot_max_json_depth: int = Field(default=20, ge=2, description="Nesting limit of metadata.json")

    # --- HTTP retry policy (shared by every outside client) -------------------------------------
    http_timeout_seconds: float = Field(default=30.0, gt=0)
    http_max_attempts: int = Field(default=5, ge=1, le=20)
    http_backoff_base_seconds: float = Field(default=0.5, ge=0)
    http_backoff_max_seconds: float = Field(default=60.0, ge=0)
    http_max_retry_after_seconds: float = Field(
        default=300.0,
        ge=0,
        description="Longest Retry-After honoured; Pastell harvests fail the (entity, flux) pair for the "
        "run beyond it (or beyond the run's remaining time) instead of sleeping",
    )
    http_deadline_seconds: float = Field(
        default=120.0, gt=0, description="Wall-clock limit of one API call (connection, headers, body)"
    )
    http_max_json_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024, description="Largest JSON answer read (streamed, then refused)"
    )

    # --- normalisation / publication decision -------------------------------------------------
    public_base_url: str = Field(
        default="http://127.0.0.1:8000", description="Root of the public URLs (DELIB_URL, API links)"
    )
    recherche_entreprises_url: str = Field(
        default="https://recherche-entreprises.api.gouv.fr", description="SIRET resolution fallback"
    )
    recherche_entreprises_enabled: bool = True
    recherche_entreprises_timeout_seconds: float = Field(default=3.0, gt=0)
    operator_file_max_versions: int = Field(
        default=50,
        ge=1,
        description="Older S3 versions examined to find the last good config/*.csv (or flux definition)",
    )
    normalize_min_year: int = Field(
        default=1900, ge=1, le=9999, description="Acts dated before this year are quarantined"
    )
    normalize_max_year: int = Field(
        default=2100, ge=1, le=9999, description="Acts dated after this year are quarantined"
    )

    # --- SCDL validator (read from the environment by regate.scdl.validator itself: start-up speed) -----
    validator_engine: Literal["auto", "python", "native"] = Field(
        default="auto",
        description="Data rows checked by pyarrow (native: certifies clean rows, else the Python path), "
        "by Python only, or native on files of validator_native_min_bytes and more (auto); same reports",
    )
    validator_native_min_bytes: int = Field(
        default=4_000_000,
        ge=0,
        description="auto engine: smallest file checked natively (pyarrow import ~0.2 s)",
    )

    # --- data.gouv.fr / udata -------------------------------------------------------------
    datagouv_url: str = Field(default="https://demo.data.gouv.fr", description="Root of the udata portal")
    datagouv_api_key: SecretStr = SecretStr("")
    datagouv_secret_arn: str = ""
    datagouv_org: str = Field(default="", description="Organisation id or slug of the OPSN")
    opsn_siret: str = Field(
        default="", description="SIRET of the OPSN (producer in the SCDL catalogue in opsn mode)"
    )
    publication_mode: Literal["opsn", "collectivite"] = "opsn"
    resource_kind: Literal["hosted", "remote"] = "hosted"
    datagouv_chunk_size_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    datagouv_chunk_threshold_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)

    # --- API ---------------------------------------------------------------------------
    api_default_limit: int = Field(default=50, ge=1)
    api_max_limit: int = Field(default=1000, ge=1)
    api_cache_dir: str = Field(default="/tmp/regate-cache", description="Partition cache (by S3 version)")
    api_cache_max_age_seconds: int = Field(default=300, ge=0, description="Cache-Control max-age")
    api_presign_seconds: int = Field(default=300, ge=1, le=3600)
    api_list_ttl_seconds: float = Field(
        default=5.0, ge=0, description="How long a LIST of the public dataset is reused (data version, ETags)"
    )
    api_memory_threshold_partitions: int = Field(
        default=64, ge=1, description="Above this many partitions a query uses the in-memory national table"
    )
    api_download_workers: int = Field(default=16, ge=1, le=64, description="Parallel partition downloads")
    lake_row_group_rows: int = Field(
        default=2048,
        ge=256,
        le=1_048_576,
        description="Rows per row group of the compacted read datasets (public/lake/): small enough that a "
        "query on one collectivité reads one or two row groups (min/max statistics on siren)",
    )
    lake_debounce_seconds: float = Field(
        default=0.0,
        ge=0,
        description="Read step (national SCDL files + public/lake/): 0 = right after each batch of events; "
        "> 0 = once per burst, when no new change came for this long (scheduled step, see README)",
    )
    lake_max_delay_seconds: float = Field(
        default=300.0,
        ge=0,
        description="Read step: run even if changes keep coming once the oldest waited this long",
    )
    lake_workers: int = Field(default=8, ge=1, le=64, description="Parallel partition reads of the read step")
    api_inline_export_max_bytes: int = Field(
        default=5_000_000,
        ge=0,
        description="Largest export answered inline (Lambda caps responses at 6 MB); larger ones are "
        "written once under public/exports/ and answered 302 to a presigned URL",
    )
    api_map_offset_meters: float = Field(
        default=150.0,
        ge=0,
        le=5000,
        description="GeoJSON map: collectivités sharing a point (a commune and its EPCI in one town hall) "
        "are drawn this far apart so each has its own marker; 0 keeps them stacked",
    )

    # --- marchés publics: profils d'acheteur (Atexo SDM) and DECP normalisation -------------------------
    atexo_url: str = Field(
        default="",
        description="Root of the Atexo « salle des marchés » (the client adds /api.php/…, /app.php/…)",
    )
    atexo_login: str = ""
    atexo_password: SecretStr = SecretStr("")
    atexo_secret_arn: str = Field(
        default="", description="Secrets Manager ARN holding the SDM login/password"
    )
    atexo_plateforme: str = Field(
        default="atexo", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="Platform slug in raw keys"
    )
    atexo_sirens: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="SIRENs of the buyers whose contracts are captured from the platform"
    )
    atexo_max_response_bytes: int = Field(
        default=100 * 1024 * 1024, ge=1024, description="Largest export answer read (a month of one buyer)"
    )
    atexo_token_ttl_seconds: int = Field(
        default=1800, ge=0, description="Token reuse before a new one is asked (a 401 always renews it)"
    )
    marches_overlap_days: int = Field(
        default=62,
        ge=0,
        description="Capture re-reads this many days of notifications before the mark "
        "(DECP are due within 2 months of notification, so late entries are caught)",
    )
    marches_default_since: date = Field(
        default=date(2024, 1, 1), description="First-run lower bound of notification dates (DECP 2024 format)"
    )
    marches_max_document_bytes: int = Field(
        default=200 * 1024 * 1024, ge=1024, description="Largest DECP document the normaliser reads"
    )
    marches_max_records_per_document: int = Field(
        default=500_000, ge=1, description="Most records read from one DECP document"
    )

    # --- regate serve (the API on a local port) ---------------------------------------------
    serve_workers: int = Field(
        default=32, ge=1, le=512, description="Requests resolved in parallel (one resolver per worker)"
    )
    serve_max_connections: int = Field(
        default=256, ge=1, le=10000, description="Open client connections; beyond, an immediate 503"
    )
    serve_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Socket read/write timeout, and longest wait for a free worker"
    )
    serve_keepalive_seconds: float = Field(
        default=5.0, gt=0, description="How long a kept-alive connection may stay idle between requests"
    )
    serve_max_body_bytes: int = Field(
        default=64 * 1024, ge=0, description="Largest request body accepted (the API is read-only)"
    )

    # --- back-office (write API /admin/v1, regate.admin) ---------------------------------------
    admin_oidc_issuer: str = Field(
        default="",
        description="OIDC issuer of the operators' IdP (Keycloak: https://<idp>/realms/<realm>): "
        "the JWT authorizer and `regate serve` accept tokens of this issuer only",
    )
    admin_oidc_audience: str = Field(
        default="regate-admin-api", description="Required `aud` of access tokens (Keycloak audience mapper)"
    )
    admin_oidc_client_id: str = Field(default="regate-admin", description="Public client of the admin page")
    admin_oidc_scope: str = Field(
        default="openid profile regate-admin", description="Scopes the admin page asks for"
    )
    admin_required_scope: str = Field(
        default="regate-admin",
        description="Scope every access token must carry (tells access tokens from ID tokens); empty = none",
    )
    admin_claim_siren: str = Field(default="siren", description="Claim listing the user's SIREN(s)")
    admin_claim_usertype: str = Field(default="usertype", description="Claim whose value ADMIN = OPSN admin")
    admin_claim_roles: str = Field(
        default="role_opendata", description="Claim whose value rh = actes individuels"
    )
    admin_jwt_leeway_seconds: int = Field(default=30, ge=0, le=300, description="Clock skew tolerated")
    admin_max_token_bytes: int = Field(default=8192, ge=512, description="Longer bearer tokens are refused")
    admin_jwks_refresh_seconds: float = Field(
        default=300.0,
        ge=0,
        description="`regate serve`: JWKS kept this long; an unknown kid refetches at most "
        "this often (key rotation)",
    )
    admin_presign_seconds: int = Field(
        default=300, ge=30, le=3600, description="Validity of document preview URLs (attachment)"
    )
    admin_batch_max_items: int = Field(default=200, ge=1, le=1000, description="Acts in one bulk decision")
    admin_page_default_limit: int = Field(default=100, ge=1, description="Acts per page of the queue")
    admin_page_max_limit: int = Field(default=500, ge=1)
    admin_queue_max_partitions: int = Field(
        default=200, ge=1, description="Collectivité-years one queue request may read (else: filter by siren)"
    )
    admin_max_body_bytes: int = Field(default=256 * 1024, ge=1024, description="Largest request body")
    admin_motif_max_length: int = Field(default=500, ge=10)
    admin_objet_max_length: int = Field(default=2000, ge=10, description="Longest corrected objet")
    admin_audit_bucket: str = Field(
        default="", description="Bucket of the audit log (Object Lock); empty = the curated bucket"
    )
    admin_audit_retention_days: int = Field(
        default=0,
        ge=0,
        description="> 0: every audit entry is written under Object Lock (COMPLIANCE) for this many days "
        "(the audit bucket must have Object Lock enabled)",
    )
    admin_audit_days_max: int = Field(
        default=92, ge=1, description="Widest date range of one journal request"
    )
    admin_allowed_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="Origins allowed by CORS (empty: the page is served by the API itself)"
    )

    # --- full-text search: extraction (per document) and index --------------------------------------
    search_extract_max_bytes: int = Field(
        default=160 * 1024 * 1024, ge=1024, description="Largest PDF whose text is extracted"
    )
    search_extract_max_pages: int = Field(default=2000, ge=1, description="Pages read from one PDF")
    search_extract_max_ocr_pages: int = Field(
        default=60, ge=0, description="Scanned pages OCRed per document; beyond, the text is marked partial"
    )
    search_extract_document_seconds: float = Field(
        default=120.0, gt=0, description="Time budget of one document (then cut off, marked partial)"
    )
    search_extract_page_seconds: float = Field(
        default=15.0, gt=0, description="Time budget of one OCR page (then that page is marked partial)"
    )
    search_extract_ocr_dpi: int = Field(default=300, ge=72, le=600, description="Render resolution for OCR")
    search_extract_max_render_pixels: int = Field(
        default=12_000_000, ge=100_000, description="Pixel cap of a page render (A4 at 300 dpi = 8.7 M)"
    )
    search_extract_max_memory_mb: int = Field(
        default=1536, ge=256, description="Address-space limit of the extraction worker process"
    )
    search_extract_min_text_chars: int = Field(
        default=16, ge=0, description="Below this many characters, a page holding an image is OCRed"
    )
    search_extract_max_text_chars: int = Field(
        default=2_000_000, ge=1000, description="Characters kept per document (beyond: partial)"
    )
    search_tessdata_dir: str = Field(
        default="", description="Folder holding fra.traineddata; empty = the copy shipped with regate"
    )
    search_ocr_queue_url: str = Field(
        default="",
        description="SQS queue of the OCR function: the normaliser sends it each text stored "
        "ocr_indisponible (empty: no OCR requests, e.g. where the normaliser has OCR itself)",
    )
    normalize_queue_url: str = Field(
        default="", description="SQS queue of the normaliser (the OCR function asks it to redo an act)"
    )
    search_index_enabled: bool = Field(
        default=True, description="The normaliser extracts public documents' text and updates the index"
    )
    search_shards: int = Field(
        default=16, ge=1, le=1024, description="Index shards (by SIREN hash), fixed when the index is created"
    )
    search_cache_dir: str = Field(default="/tmp/regate-search", description="Local copy of the index shards")
    search_manifest_ttl_seconds: float = Field(
        default=5.0, ge=0, description="How long a shard manifest is trusted before it is read again"
    )
    search_writer_heap_mb: int = Field(default=64, ge=16, le=2048, description="tantivy writer memory")
    search_max_query_chars: int = Field(default=500, ge=10, le=10000, description="Longest query string")
    search_max_query_terms: int = Field(default=24, ge=1, le=256, description="Most words in a query")
    search_min_prefix_chars: int = Field(default=3, ge=1, description="Shortest prefix before a '*'")
    search_max_prefix_terms: int = Field(
        default=64, ge=1, le=4096, description="Most index terms one prefix expands to (most frequent)"
    )
    search_max_offset: int = Field(default=1000, ge=0, description="Deepest result reachable by paging")
    search_snippet_chars: int = Field(default=220, ge=40, le=2000, description="Length of one snippet")
    search_retired_grace_seconds: float = Field(
        default=3600.0, ge=0, description="Index files no longer referenced are deleted after this delay"
    )

    @field_validator(
        "pastell_flux",
        "pastell_flux_sans_tdt",
        "pastell_transitions",
        "atexo_sirens",
        "admin_allowed_origins",
        mode="before",
    )
    @classmethod
    def _comma_list(cls, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return tuple(value)

    @field_validator("pastell_url", "datagouv_url", "public_base_url", "atexo_url", "admin_oidc_issuer")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings for the current process (cached: handlers read them once per cold start)."""
    return resolve_secrets(Settings())


def resolve_secrets(settings: Settings, secrets_client: Any | None = None) -> Settings:
    """Fill credentials from Secrets Manager when an ARN is configured (Lambda).

    The secret is a JSON object; recognised keys: ``user``, ``password``, ``token`` (Pastell) and
    ``api_key`` (data.gouv.fr), ``login``/``password`` (Atexo SDM). Values never reach logs (``SecretStr``).
    """
    updates: dict[str, Any] = {}
    if (
        settings.pastell_secret_arn or settings.datagouv_secret_arn or settings.atexo_secret_arn
    ) and secrets_client is None:
        import boto3

        secrets_client = boto3.client("secretsmanager", region_name=settings.s3_region)
    if settings.pastell_secret_arn:
        payload = _read_secret(secrets_client, settings.pastell_secret_arn)
        if payload.get("user"):
            updates["pastell_user"] = str(payload["user"])
        if payload.get("password"):
            updates["pastell_password"] = SecretStr(str(payload["password"]))
        if payload.get("token"):
            updates["pastell_token"] = SecretStr(str(payload["token"]))
    if settings.datagouv_secret_arn:
        payload = _read_secret(secrets_client, settings.datagouv_secret_arn)
        if payload.get("api_key"):
            updates["datagouv_api_key"] = SecretStr(str(payload["api_key"]))
    if settings.atexo_secret_arn:
        payload = _read_secret(secrets_client, settings.atexo_secret_arn)
        if payload.get("login"):
            updates["atexo_login"] = str(payload["login"])
        if payload.get("password"):
            updates["atexo_password"] = SecretStr(str(payload["password"]))
    return settings.model_copy(update=updates) if updates else settings


def _read_secret(client: Any, arn: str) -> dict[str, Any]:
    raw = client.get_secret_value(SecretId=arn)["SecretString"]
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"Secret {arn} is not a JSON object") from exc
    if not isinstance(value, dict):
        raise ValueError(f"Secret {arn} is not a JSON object")
    return value
