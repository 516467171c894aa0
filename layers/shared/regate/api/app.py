"""The resolver: every route of ``/v1`` on a powertools ``RequestScopedResolver``.

The same resolver runs in Lambda (:mod:`api_handler`) and locally (``regate serve`` through
:mod:`regate_local.serve.server`). Dependencies (stores, query layer, collectivité directory, settings)
come in through :class:`ApiServices`, so tests build the app on moto with a fake directory.

Every response carries an ``ETag`` derived from the data version it was computed from (see
:mod:`regate.api.dataset`) plus the request, ``Cache-Control`` and CORS headers; ``If-None-Match``
answers 304 before any Parquet is read when the listing says nothing changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlencode

from aws_lambda_powertools.event_handler import CORSConfig, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from botocore.exceptions import ClientError

from regate.api import exports, marque_blanche, models, reports, search
from regate.api.collectivites import CollectiviteDirectoryLike, EmptyDirectory, describe, load_directory
from regate.api.dataset import PublicDataset, data_version
from regate.api.errors import ApiError, invalid_value, not_found
from regate.api.lake import Lake
from regate.api.openapi import docs_page, openapi_document
from regate.api.params import ApiParams, parse_params
from regate.api.query import ActesQuery, Cursor, Filtres
from regate.api.resolver import RequestScopedResolver
from regate.api.routes import ROUTES_BY_ID
from regate.clock import PARIS, Clock, SystemClock
from regate.settings import Settings
from regate.storage import layout, media
from regate.storage.store import ObjectStore

logger = logging.getLogger(__name__)

DOCUMENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
SIREN_PATH_RE = re.compile(r"^\d{9}$")
YEAR_PATH_RE = re.compile(r"^\d{4}$")
REPORTS = ("deliberations",)
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag",
    # answers echo parts of the request (error messages): never let a browser sniff them as HTML
    "X-Content-Type-Options": "nosniff",
}
JSON = "application/json"


@dataclass
class ApiServices:
    """Everything the routes need; built once per warm container."""

    settings: Settings
    curated: ObjectStore
    raw: ObjectStore
    query: ActesQuery
    directory: CollectiviteDirectoryLike
    clock: Clock = field(default_factory=SystemClock)  # the mReport monthly chart's current year
    search: Any = None  # regate.search.remote.IndexReader (full-text ``q``, white-label page)

    @property
    def base_url(self) -> str:
        return self.settings.public_base_url


def build_services(
    settings: Settings,
    s3_client: Any | None = None,
    directory: CollectiviteDirectoryLike | None = None,
    list_ttl_seconds: float | None = None,
    memory_threshold: int | None = None,
) -> ApiServices:
    """Wire the API on real (or moto) S3; ``directory=None`` loads :mod:`regate.collectivites`.

    Limits come from the settings (``REGATE_API_*``); the keyword arguments override them in tests."""
    if s3_client is None:
        from regate.storage.store import make_s3_client

        s3_client = make_s3_client(settings)
    curated = ObjectStore(s3_client, settings.curated_bucket)
    raw = ObjectStore(s3_client, settings.raw_bucket)
    dataset = PublicDataset(
        curated,
        settings.api_cache_dir,
        list_ttl_seconds=settings.api_list_ttl_seconds if list_ttl_seconds is None else list_ttl_seconds,
        download_workers=settings.api_download_workers,
    )
    if directory is None:
        directory = load_directory(curated, settings)
    threshold = settings.api_memory_threshold_partitions if memory_threshold is None else memory_threshold
    lake = Lake(dataset, list_ttl_seconds=dataset.list_ttl_seconds)
    query = ActesQuery(dataset, memory_threshold=threshold, lake=lake)
    from regate.search.remote import IndexReader

    services = ApiServices(settings, curated, raw, query, directory or EmptyDirectory())
    services.search = IndexReader.from_settings(curated, settings)
    return services


# ------------------------------------------------------------------------------------ helpers
def _raw_params(app: RequestScopedResolver) -> dict[str, list[str]]:
    event = app.current_event
    raw = event.get("rawQueryString")
    if raw is not None:
        return parse_qs(raw, keep_blank_values=True)
    single = event.query_string_parameters or {}
    return {k: [v] for k, v in single.items()}


def _params(app: RequestScopedResolver, model: type[ApiParams]) -> Any:
    return parse_params(model, _raw_params(app))


def _etag(version: str, app: RequestScopedResolver) -> str:
    event = app.current_event
    seed = f"{version}\n{event.raw_path or event.path}\n{event.get('rawQueryString') or ''}"
    return '"' + hashlib.sha256(seed.encode()).hexdigest()[:32] + '"'


def _matches(app: RequestScopedResolver, etag: str) -> bool:
    header = app.current_event.get_header_value("if-none-match", case_sensitive=False) or ""
    candidates = [c.strip().removeprefix("W/") for c in header.split(",")]
    return "*" in candidates or etag in candidates


def _base_headers(services: ApiServices, cacheable: bool = True) -> dict[str, str]:
    cache = f"public, max-age={services.settings.api_cache_max_age_seconds}" if cacheable else "no-cache"
    return {**CORS_HEADERS, "Cache-Control": cache}


def not_modified_or(app: RequestScopedResolver, services: ApiServices, version: str) -> Response | None:
    """304 when the client already holds this version."""
    etag = _etag(version, app)
    if _matches(app, etag):
        return Response(304, headers={**_base_headers(services), "ETag": etag}, body="")
    return None


def respond(
    app: RequestScopedResolver,
    services: ApiServices,
    version: str,
    body: Any,
    content_type: str = JSON,
    headers: dict[str, str] | None = None,
) -> Response:
    etag = _etag(version, app)
    all_headers = {**_base_headers(services), "ETag": etag, **(headers or {})}
    if _matches(app, etag):
        return Response(304, headers=all_headers, body="")
    if not isinstance(body, str | bytes):
        body = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)
    return Response(200, content_type=content_type, body=body, headers=all_headers)


def export_response(
    app: RequestScopedResolver, services: ApiServices, filtres: Filtres, sort: str, fmt: str, known: str
) -> Response:
    """The filtered set as CSV/Parquet: inline when small, else 302 to a stored fixed export, else 413.

    ``known`` is the data version from the cheap listing: when the fixed export for it is already stored
    nothing is recomputed. Otherwise the export is built into a local file; a stored key then uses the
    version it was really built from, so stored bytes always match their key (see :mod:`.exports`)."""
    limit = services.settings.api_inline_export_max_bytes
    name = exports.file_name(fmt)
    shape = exports.stored_shape(filtres, sort)
    key = layout.public_export_key(filtres.export_digest(known, sort, fmt), fmt) if shape else None
    length = exports.stored_length(services.curated, key) if key else None
    if key and length is not None and exports.payload_size(length, fmt) > limit:
        return _export_redirect(app, services, known, key, name)
    with exports.scratch_file(services.query.dataset.cache_dir, fmt) as path:
        version = services.query.export_to(filtres, sort, fmt, path)
        size = path.stat().st_size
        if exports.payload_size(size, fmt) <= limit:
            disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
            body = path.read_bytes()
            inline: str | bytes = body.decode() if fmt == "csv" else body
            return respond(app, services, version, inline, exports.CONTENT_TYPES[fmt], disposition)
        if key is None:
            logger.info("Export refused (too large, not a fixed export)", extra={"bytes": size})
            raise exports.too_large(size, limit, fmt)
        checked = version == known and length is None
        if version != known:
            key = layout.public_export_key(filtres.export_digest(version, sort, fmt), fmt)
        if exports.store_export(services.curated, key, path, fmt, checked=checked):
            logger.info("Export stored", extra={"key": key, "bytes": size, "shape": shape})
    return _export_redirect(app, services, version, key, name)


def _export_redirect(
    app: RequestScopedResolver, services: ApiServices, version: str, key: str, name: str
) -> Response:
    etag = _etag(version, app)
    headers = {**_base_headers(services), "ETag": etag}
    if _matches(app, etag):
        return Response(304, headers=headers, body="")
    url = exports.presigned_export_url(services.curated, key, name, services.settings.api_presign_seconds)
    return Response(302, headers={**headers, "Location": url}, body="")


def _to_export_route(app: RequestScopedResolver, services: ApiServices, fmt: str) -> Response:
    """``/v1/deliberations?format=csv|parquet`` → 307 to the export route, same filters and sort (the
    export route has its own throttle; ``limit``, ``cursor`` and ``fields`` do not apply to an export)."""
    query = {k: v for k, v in _raw_params(app).items() if k in exports.ExportParams.model_fields}
    target = exports.export_path(fmt) + (f"?{urlencode(query, doseq=True)}" if query else "")
    return Response(307, headers={**_base_headers(services), "Location": target}, body="")


def _search_deliberations(app: RequestScopedResolver, s: ApiServices, params: Any, limit: int) -> Response:
    """``q`` through the full-text index (:mod:`regate.api.search`): ranked rows with ``recherche``."""
    raw = _raw_params(app)
    result = search.run_search(s.search, s.settings, params, raw, limit)
    rows, data_version = search.page_rows(s.query, result, params, s.base_url)
    next_url = None
    if result.next_cursor:
        query = {k: v for k, v in raw.items() if k != "cursor"}
        query["cursor"] = [result.next_cursor]
        next_url = f"{s.base_url}/v1/deliberations?{urlencode(query, doseq=True)}"
    body = models.DeliberationsPage(data=rows, total=result.total, next=next_url)
    version = search.version_of(s.search, list(params.siren) or None, data_version)
    return respond(app, s, version, body.model_dump(mode="json"))


def error_response(services: ApiServices | None, error: ApiError) -> Response:
    body = json.dumps(error.body(), ensure_ascii=False)
    headers = {
        **CORS_HEADERS,
        "Cache-Control": "no-cache",
        "ETag": '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"',
    }
    return Response(error.status, content_type=JSON, body=body, headers=headers)


def _freshness(store: ObjectStore, stage: str) -> tuple[str | None, bool]:
    """``finished_at`` of a stage's last run report; ``ok=False`` when the report is unreadable."""
    try:
        report = store.get_json(layout.run_report_key(stage))
    except (ValueError, UnicodeDecodeError, ClientError):
        # ClientError: the API may read the raw bucket's run reports but not list it, so S3 answers
        # 403 (not 404) while no capture has run yet; health reports "unknown", never a 500.
        return None, False
    if report is None:
        return None, True
    if not isinstance(report, dict) or not isinstance(report.get("finished_at"), str | None):
        return None, False
    return report.get("finished_at"), True


# ------------------------------------------------------------------------------------- the app
def create_app(services: ApiServices) -> RequestScopedResolver:
    """A resolver bound to ``services``; it serves one request at a time (``regate serve`` builds one per
    worker thread, see :mod:`.resolver`). Every GET route also answers HEAD."""
    app = RequestScopedResolver(
        cors=CORSConfig(
            allow_origin="*", expose_headers=["ETag"], allow_headers=["If-None-Match"], max_age=600
        )
    )
    s = services
    #: mReport reports of the other flux (name → handler(params, today)), filled when they register
    mreports: dict[str, Callable[[Any, date], Response]] = {}

    @app.exception_handler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return error_response(s, error)

    @app.not_found
    def _not_found(_: NotFoundError) -> Response:
        return error_response(s, not_found("Ressource introuvable. La liste des routes est sur /v1/docs."))

    @app.exception_handler(Exception)
    def _crash(error: Exception) -> Response:
        logger.exception("Erreur interne")
        return error_response(s, ApiError(500, "Erreur interne du service ; réessayez plus tard."))

    @app.get_and_head(ROUTES_BY_ID["health"].resolver_path)
    def health() -> Response:
        _params(app, ROUTES_BY_ID["health"].params)
        snapshot = s.query.dataset.snapshot()
        capture, capture_ok = _freshness(s.raw, "capture")
        publish, publish_ok = _freshness(s.curated, "publish")
        version = data_version(snapshot.partitions, str(capture), str(publish))
        body = models.Freshness(
            status="ok" if capture_ok and publish_ok else "degrade",
            derniere_capture=capture,
            derniere_publication=publish,
            partitions=len(snapshot.partitions),
            version=version,
        )
        return respond(app, s, version, body.model_dump(mode="json"))

    @app.get_and_head(ROUTES_BY_ID["openapi"].resolver_path)
    def openapi() -> Response:
        _params(app, ROUTES_BY_ID["openapi"].params)
        document = openapi_document(s.base_url)
        return respond(app, s, _static_version(document), document)

    @app.get_and_head(ROUTES_BY_ID["docs"].resolver_path)
    def docs() -> Response:
        _params(app, ROUTES_BY_ID["docs"].params)
        document = openapi_document(s.base_url)
        return respond(app, s, _static_version(document), docs_page(document), "text/html; charset=utf-8")

    @app.get_and_head(ROUTES_BY_ID["deliberations"].resolver_path)
    def deliberations() -> Response:
        params = _params(app, ROUTES_BY_ID["deliberations"].params)
        filtres = Filtres.from_params(params, natures=(1,))
        limit = params.limit if params.limit is not None else s.settings.api_default_limit
        if limit > s.settings.api_max_limit:
            raise invalid_value("limit", f"valeur trop grande (maximum {s.settings.api_max_limit})")
        if params.format not in exports.FORMATS:
            if "in" in _raw_params(app) and not params.q:
                raise invalid_value("in", "seulement avec `q`")
            if params.q and search.search_available(s.search):
                return _search_deliberations(app, s, params, limit)
        cursor = Cursor.decode(params.cursor, params.sort, filtres) if params.cursor else None
        if params.format in exports.FORMATS:
            return _to_export_route(app, s, params.format)
        known = s.query.version(filtres)
        early = not_modified_or(app, s, known)
        if early is not None:
            return early
        page = s.query.page(filtres, params.sort, limit, cursor, params.fields)
        for row in page.rows:
            if "annexes" in row:
                for annexe in row["annexes"]:
                    annexe["url"] = layout.public_document_url(s.base_url, annexe["document_id"])
        next_url = None
        if page.next_cursor:
            query = {k: v for k, v in _raw_params(app).items() if k != "cursor"}
            query["cursor"] = [page.next_cursor]
            next_url = f"{s.base_url}/v1/deliberations?{urlencode(query, doseq=True)}"
        body = models.DeliberationsPage(data=page.rows, total=page.total, next=next_url)
        return respond(app, s, page.version, body.model_dump(mode="json"))

    @app.get_and_head(ROUTES_BY_ID["marque_blanche"].resolver_path)
    def marque_blanche_page() -> Response:
        today = s.clock.now().astimezone(PARIS).date()
        status, body, headers, version = marque_blanche.page_response(
            s.search,
            s.settings,
            _raw_params(app),
            today,
            lambda siren: describe(s.directory, siren, None)["nom"],
        )
        if status != 200:
            all_headers = {**_base_headers(s, cacheable=False), **headers}
            return Response(status, content_type="text/html; charset=utf-8", body=body, headers=all_headers)
        return respond(app, s, version, body, "text/html; charset=utf-8", headers)

    @app.get_and_head(ROUTES_BY_ID["deliberations_scdl"].resolver_path)
    def deliberations_scdl(siren: str, annee: str) -> Response:
        _params(app, ROUTES_BY_ID["deliberations_scdl"].params)
        national = siren == layout.NATIONAL
        if not national and not SIREN_PATH_RE.match(siren):
            raise invalid_value("siren", "SIREN attendu (9 chiffres) ou « all » pour le fichier national")
        if not YEAR_PATH_RE.match(annee):
            raise invalid_value("annee", "année sur 4 chiffres attendue")
        key = (
            layout.scdl_deliberations_national_key(int(annee))
            if national
            else layout.scdl_deliberations_key(siren, int(annee))
        )
        found = s.curated.get_with_etag(key)
        if found is None:
            who = "national" if national else f"pour la collectivité {siren}"
            raise not_found(f"Aucun fichier SCDL {who} publié en {annee}.")
        body, etag = found
        return respond(
            app,
            s,
            etag,
            body.decode("utf-8"),
            "text/csv; charset=utf-8",
            {"Content-Disposition": f'attachment; filename="{siren}-{annee}.csv"'},
        )

    @app.get_and_head(ROUTES_BY_ID["collectivites"].resolver_path)
    def collectivites() -> Response:
        params = _params(app, ROUTES_BY_ID["collectivites"].params)
        filtres = Filtres(sirens=tuple(sorted(params.siren)))
        early = not_modified_or(app, s, s.query.version(filtres))
        if early is not None:
            return early
        summary = s.query.summary(filtres)
        data = reports.collectivites(summary.rows, s.directory, s.base_url, dep=params.dep)
        body = models.Collectivites(data=data, total=len(data))
        return respond(app, s, summary.version, body.model_dump(mode="json"))

    @app.get_and_head(ROUTES_BY_ID["collectivites_geojson"].resolver_path)
    def collectivites_geojson() -> Response:
        params = _params(app, ROUTES_BY_ID["collectivites_geojson"].params)
        filtres = Filtres(sirens=tuple(sorted(params.siren)), annee=params.annee)
        early = not_modified_or(app, s, s.query.version(filtres))
        if early is not None:
            return early
        summary = s.query.summary(filtres)
        latest = s.query.latest(Filtres(sirens=filtres.sirens, annee=params.annee, natures=(1,)), 5)
        for row in latest:
            if not row.get("delib_url"):
                row["delib_url"] = None
        body = reports.feature_collection(
            summary.rows,
            latest,
            s.directory,
            s.base_url,
            dep=params.dep,
            offset_m=s.settings.api_map_offset_meters,
        )
        return respond(app, s, summary.version, body, "application/geo+json")

    @app.get_and_head(ROUTES_BY_ID["stats"].resolver_path)
    def stats() -> Response:
        params = _params(app, ROUTES_BY_ID["stats"].params)
        if params.nature is not None:
            natures: tuple[int, ...] = (params.nature,)
        else:
            natures = () if params.group == "nature" else (1,)
        filtres = Filtres.from_params(params, natures=natures)
        early = not_modified_or(app, s, s.query.version(filtres))
        if early is not None:
            return early
        result = s.query.stats(filtres, params.group)
        body = models.Stats(group=params.group, data=result.rows, total=sum(r["nombre"] for r in result.rows))
        return respond(app, s, result.version, body.model_dump(mode="json"))

    @app.get_and_head(ROUTES_BY_ID["mreport"].resolver_path)
    def mreport(report: str) -> Response:
        params = _params(app, ROUTES_BY_ID["mreport"].params)
        today = s.clock.now().astimezone(PARIS).date()
        if report in mreports:
            return mreports[report](params, today)
        if report not in REPORTS:
            known = ", ".join((*REPORTS, *mreports))
            raise not_found(f"Rapport mReport inconnu : {report[:40]}. Rapports disponibles : {known}.")
        filtres = Filtres(sirens=(params.dataid,) if params.dataid else ())
        early = not_modified_or(app, s, reports.mreport_version(s.query.version(filtres), today))
        if early is not None:
            return early
        summary = s.query.summary(filtres)
        version = reports.mreport_version(summary.version, today)
        if params.dataid is None:
            names: dict[str, str] = {}
            for row in sorted(summary.rows, key=lambda r: r["derniere"]):
                names[row["siren"]] = row["nom"]
            rows = reports.mreport_entities(
                (siren, describe(s.directory, siren, nom)["nom"]) for siren, nom in sorted(names.items())
            )
        elif not summary.rows:
            rows = []
        else:
            siren = params.dataid
            delib = Filtres(sirens=(siren,), natures=(1,))
            latest_row = max(summary.rows, key=lambda r: r["derniere"])
            info = describe(s.directory, siren, latest_row["nom"])
            rows = reports.mreport_deliberations(
                siren,
                info["nom"],
                summary.rows,
                s.query.grouped_counts(delib, "strftime(delib_date, '%Y-%m')"),
                s.query.grouped_counts(delib, "coalesce(split_part(delib_matiere_code, '.', 1), '')"),
                s.query.latest(delib, 10, by_year=False),
                info["point"],
                s.base_url,
                today=today,
            )
        if params.format == "csv":
            return respond(app, s, version, reports.mreport_csv(rows).decode(), "text/csv; charset=utf-8")
        return respond(app, s, version, {"data": rows})

    @app.get_and_head(ROUTES_BY_ID["document"].resolver_path)
    def document(id: str) -> Response:
        _params(app, ROUTES_BY_ID["document"].params)
        missing = not_found("Document introuvable ou non publié.")
        if not DOCUMENT_ID_RE.match(id):
            raise missing
        if not s.query.document_is_public(id):
            raise missing
        prefix = layout.public_document_key(id, "x")[:-1]
        keys = sorted(s.curated.list_keys(prefix))
        if not keys:
            raise missing
        # S3 answers the presigned GET with an allow-listed type, as an attachment (never rendered inline)
        overrides = media.presigned_response_params(keys[0].rsplit("/", 1)[-1])
        url = s.curated.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": s.curated.bucket, "Key": keys[0], **overrides},
            ExpiresIn=s.settings.api_presign_seconds,
        )
        headers = {
            **CORS_HEADERS,
            "Location": url,
            "Cache-Control": "private, no-store",
            "ETag": '"' + hashlib.sha256(keys[0].encode()).hexdigest()[:32] + '"',
        }
        return Response(302, headers=headers, body="")

    def catalog(suffix: str) -> Response:
        _params(app, ROUTES_BY_ID[f"catalog_{suffix}"].params)
        key, content_type = reports.catalog_keys()[suffix]
        found = s.curated.get_with_etag(key)
        if found is None:
            raise not_found("Le catalogue n'a pas encore été publié (aucune publication effectuée).")
        body, etag = found
        return respond(app, s, etag, body.decode("utf-8"), content_type)

    app.get_and_head(ROUTES_BY_ID["catalog_jsonld"].resolver_path)(lambda: catalog("jsonld"))
    app.get_and_head(ROUTES_BY_ID["catalog_csv"].resolver_path)(lambda: catalog("csv"))

    def export(fmt: str) -> Response:
        params = _params(app, ROUTES_BY_ID[f"export_{fmt}"].params)
        filtres = Filtres.from_params(params, natures=(1,))
        known = s.query.version(filtres)
        early = not_modified_or(app, s, known)
        if early is not None:
            return early
        return export_response(app, s, filtres, params.sort, fmt, known)

    app.get_and_head(ROUTES_BY_ID["export_csv"].resolver_path)(lambda: export("csv"))
    app.get_and_head(ROUTES_BY_ID["export_parquet"].resolver_path)(lambda: export("parquet"))
    from regate.flux.marches.api import register as register_marches

    register_marches(app, s, mreports)
    from regate.flux.budgets.api import register as register_budgets

    register_budgets(app, s, mreports)
    return app


def _static_version(document: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:32]
