"""The write API of the back-office (``/admin/v1``) on its own powertools resolver.

In AWS it is its own HTTP API with a JWT authorizer (the token is checked before the Lambda runs and its
claims are in ``requestContext.authorizer.jwt.claims``); under ``regate serve``
:mod:`regate_local.serve.admin` (the local kit) plays the authorizer. Either way every protected route
starts by building the :class:`Principal` from those claims (401 without), then checks the SIREN in the
path or the query against it (403) before
reading anything — the SIREN never comes from the client's say-so.

Dependencies come in through :class:`AdminServices` (stores, clock, settings), so tests build the app on
moto and call it with events, or serve it on loopback.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from pydantic import BaseModel, ValidationError

from regate.admin import models
from regate.admin.identity import Principal, principal_from_event
from regate.admin.queue import (
    Filtre,
    InternalActes,
    PartitionMoved,
    captured_files,
    main_and_annexes,
    preview_expiry,
    preview_url,
    read_record,
)
from regate.admin.routes import PREFIX, ROUTES_BY_ID, ActesParams, JournalParams, openapi_document
from regate.admin.storage import ABSENT, AuditWriteFailed, Conflict, Current, DecisionStore, normalize_etag
from regate.api.errors import ApiError, invalid_value, not_found
from regate.api.params import parse_params
from regate.api.resolver import RequestScopedResolver
from regate.clock import Clock, SystemClock
from regate.settings import Settings
from regate.storage import layout
from regate.storage.store import ObjectStore

logger = logging.getLogger(__name__)

JSON = "application/json"
PATH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
SIREN_RE = re.compile(r"^\d{9}$")
RANG_RE = re.compile(r"^\d{1,4}$")
STATIC_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@dataclass
class AdminServices:
    settings: Settings
    curated: ObjectStore
    raw: ObjectStore
    store: DecisionStore
    actes: InternalActes
    clock: Clock = field(default_factory=SystemClock)


def build_admin_services(
    settings: Settings, s3_client: Any | None = None, clock: Clock | None = None
) -> AdminServices:
    if s3_client is None:
        from regate.storage.store import make_s3_client

        s3_client = make_s3_client(settings)
    clock = clock or SystemClock()
    curated = ObjectStore(s3_client, settings.curated_bucket)
    raw = ObjectStore(s3_client, settings.raw_bucket)
    audit = ObjectStore(s3_client, settings.admin_audit_bucket) if settings.admin_audit_bucket else curated
    store = DecisionStore(curated, audit, clock=clock, retention_days=settings.admin_audit_retention_days)
    return AdminServices(settings, curated, raw, store, InternalActes(curated, settings.api_cache_dir), clock)


# ----------------------------------------------------------------------------------- helpers
def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json")
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)
    return Response(
        status,
        content_type=JSON,
        body=text,
        headers={"Cache-Control": "no-store", **SECURITY_HEADERS, **(headers or {})},
    )


def error_response(error: ApiError, headers: dict[str, str] | None = None) -> Response:
    extra = dict(headers or {})
    if error.status == 401:
        extra.setdefault("WWW-Authenticate", 'Bearer realm="regate-admin"')
    return _json(error.body(), error.status, extra)


_BODY_MESSAGES = {
    "missing": "champ obligatoire",
    "extra_forbidden": "champ inconnu",
    "string_too_long": "texte trop long",
    "string_too_short": "texte vide",
    "too_short": "liste vide",
    "literal_error": "valeur attendue parmi : {expected}",
    "bool_type": "booléen attendu (true ou false)",
    "bool_parsing": "booléen attendu (true ou false)",
    "string_type": "texte attendu",
    "string_pattern_mismatch": "format invalide",
    "model_type": "objet JSON attendu",
    "list_type": "liste attendue",
}


def parse_body(model: type[BaseModel], raw: str | None, limit: int) -> Any:
    """The JSON body as ``model``: 413 beyond ``limit`` bytes, 400 unreadable, 422 invalid (French)."""
    if raw is None or raw == "":
        raise ApiError(400, "Corps JSON attendu.")
    if len(raw.encode("utf-8", "surrogatepass")) > limit:
        raise ApiError(413, f"Corps trop volumineux (maximum {limit} octets).")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        raise ApiError(400, "Corps JSON illisible.") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "corps"
        ctx = error.get("ctx") or {}
        if error["type"] == "value_error":
            reason = str(ctx.get("error", error["msg"]))
        else:
            template = _BODY_MESSAGES.get(error["type"], "valeur invalide")
            try:
                reason = template.format(**ctx)
            except (KeyError, IndexError):
                reason = template
        raise ApiError(422, f"Valeur invalide pour « {where} » : {reason}", {"champ": where}) from None


def _static_files() -> dict[str, bytes]:
    folder = resources.files("regate.admin") / "static"
    found: dict[str, bytes] = {}
    for item in folder.iterdir():
        if item.is_file() and not item.name.startswith("."):
            found[item.name] = item.read_bytes()
    vendor = folder / "vendor"
    for item in vendor.iterdir() if vendor.is_dir() else []:
        if item.is_file():
            found[item.name] = item.read_bytes()
    return found


def content_security_policy(issuer: str) -> str:
    origin = ""
    if issuer:
        parts = urlsplit(issuer)
        origin = f" {parts.scheme}://{parts.netloc}"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'{origin}; form-action 'self'{origin}; frame-ancestors 'none'; base-uri 'none'"
    )


# ----------------------------------------------------------------------------------- the app
def create_admin_app(services: AdminServices) -> APIGatewayHttpResolver:
    """A resolver bound to ``services`` (one per worker thread under ``regate serve``)."""
    app = RequestScopedResolver()
    s = services
    cfg = s.settings
    static = _static_files()

    @app.exception_handler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return error_response(error)

    @app.exception_handler(Conflict)
    def _conflict(error: Conflict) -> Response:
        return error_response(_conflict_error(error.current), {"ETag": error.current.etag or ""})

    @app.exception_handler(AuditWriteFailed)
    def _audit(error: AuditWriteFailed) -> Response:
        return error_response(
            ApiError(
                500,
                "La modification est enregistrée mais son entrée de journal n'a pas pu être écrite ; "
                "elle est conservée dans les journaux du service. Prévenez l'exploitant.",
            )
        )

    @app.not_found
    def _not_found(_: NotFoundError) -> Response:
        principal()  # an unknown route under the prefix still needs a token (no route probing)
        return error_response(
            not_found("Ressource introuvable. La liste des routes est sur /admin/v1/openapi.json.")
        )

    @app.exception_handler(Exception)
    def _crash(error: Exception) -> Response:
        logger.exception("Erreur interne du back-office")
        return error_response(ApiError(500, "Erreur interne du service ; réessayez plus tard."))

    # ------------------------------------------------------------------- request helpers
    def principal() -> Principal:
        return principal_from_event(app.current_event.raw_event, cfg)

    def query(model: type[Any]) -> Any:
        raw = app.current_event.get("rawQueryString")
        values = (
            parse_qs(raw, keep_blank_values=True)
            if raw is not None
            else {k: [v] for k, v in (app.current_event.query_string_parameters or {}).items()}
        )
        return parse_params(model, values)

    def body(model: type[BaseModel]) -> Any:
        event = app.current_event
        raw = event.body if not event.is_base64_encoded else event.decoded_body
        return parse_body(model, raw, cfg.admin_max_body_bytes)

    def expected_etag() -> str:
        event = app.current_event
        if_match = event.get_header_value("if-match", case_sensitive=False)
        if_none = event.get_header_value("if-none-match", case_sensitive=False)
        try:
            if if_match:
                if if_match.strip() == "*":
                    raise ApiError(400, "If-Match: * n'est pas pris en charge : envoyez l'ETag lu.")
                return normalize_etag(if_match) or ""
            if if_none and if_none.strip() == ABSENT:
                return ABSENT
        except ValueError as exc:
            raise ApiError(400, f"En-tête de précondition invalide : {exc}.") from None
        raise ApiError(
            428,
            "Précondition requise : envoyez If-Match avec l'ETag lu, ou If-None-Match: * s'il n'y avait pas "
            "encore de décision (évite d'écraser la décision d'un collègue).",
        )

    def ids() -> tuple[str | None, str | None]:
        context = app.current_event.request_context
        request_id = context.request_id
        ip = context.http.source_ip if context.http else None
        return request_id, ip

    def client_request_id() -> str | None:
        value = app.current_event.get_header_value("idempotency-key", case_sensitive=False)
        if value is None:
            return None
        if not re.fullmatch(r"[A-Za-z0-9._:-]{1,100}", value):
            raise ApiError(400, "En-tête Idempotency-Key invalide (1 à 100 caractères A-Z a-z 0-9 . _ : -).")
        return value

    def acte_record(p: Principal, siren: str, id_e: str, id_d: str) -> Any:
        if not SIREN_RE.match(siren):
            raise invalid_value("siren", "SIREN attendu (9 chiffres)")
        p.require_siren(siren)
        if not PATH_ID.match(id_e) or not PATH_ID.match(id_d):
            raise not_found("Acte introuvable pour cette collectivité.")
        record = read_record(s.curated, siren, id_e, id_d)
        if record is None:
            raise not_found("Acte introuvable pour cette collectivité (ou pas encore normalisé).")
        p.require_nature(record.acte.nature)
        return record

    def auteur(p: Principal) -> models.Auteur:
        return models.Auteur(sub=p.sub, nom=p.nom, email=p.email, admin=p.admin, rh=p.rh)

    def check_lengths(motif: str, objet: str | None = None) -> None:
        if len(motif) > cfg.admin_motif_max_length:
            raise invalid_value("motif", f"texte trop long (maximum {cfg.admin_motif_max_length} caractères)")
        if objet is not None and len(objet) > cfg.admin_objet_max_length:
            raise invalid_value("objet", f"texte trop long (maximum {cfg.admin_objet_max_length} caractères)")

    def written(result: Any) -> Response:
        out = models.Ecriture(
            modifie=result.modifie,
            etag=result.etag,
            objet=result.value.model_dump(mode="json"),
            audit_id=result.audit.id if result.audit else None,
        )
        return _json(out, headers={"ETag": result.etag})

    def audit_entry(
        action: str, key: str, p: Principal, record: Any, motif: str, rang: int | None = None
    ) -> Callable[[Any, Any, models.Trace], models.AuditEntry]:
        request_id, ip = ids()

        def describe(before: Any, after: Any, trace: models.Trace) -> models.AuditEntry:
            contexte: dict[str, Any] = {}
            if record is not None:
                contexte = {
                    "decision_en_vigueur": record.decision.decision,
                    "motif_en_vigueur": record.decision.motif,
                }
            return models.AuditEntry(
                id=trace.audit_id,
                horodatage=trace.modifie_le,
                action=action,
                siren=after.siren,
                id_e=getattr(after, "id_e", None),
                id_d=getattr(after, "id_d", None),
                rang=rang,
                nature=getattr(after, "nature", None),
                numero=record.acte.numero if record is not None else None,
                cle=key,
                avant=before.payload() if before is not None else None,
                apres=after.payload(),
                motif=motif,
                auteur=auteur(p),
                request_id=request_id,
                client_request_id=trace.client_request_id,
                source_ip=ip,
                contexte=contexte,
            )

        return describe

    # ---------------------------------------------------------------------------- routes
    @app.get(ROUTES_BY_ID["page"].resolver_path)
    def page() -> Response:
        return Response(
            200,
            content_type="text/html; charset=utf-8",
            body=static["index.html"].decode("utf-8"),
            headers={
                "Cache-Control": "no-cache",
                "Content-Security-Policy": content_security_policy(cfg.admin_oidc_issuer),
                **SECURITY_HEADERS,
            },
        )

    @app.get(PREFIX)
    def page_redirect() -> Response:
        return Response(302, headers={"Location": f"{PREFIX}/", "Cache-Control": "no-cache"}, body="")

    @app.get(ROUTES_BY_ID["static"].resolver_path)
    def static_file(name: str) -> Response:
        suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
        if name not in static or name == "index.html" or suffix not in STATIC_TYPES:
            raise not_found("Fichier introuvable.")
        return Response(
            200,
            content_type=STATIC_TYPES[suffix],
            body=static[name].decode("utf-8"),
            headers={"Cache-Control": "public, max-age=300", **SECURITY_HEADERS},
        )

    @app.get(ROUTES_BY_ID["page_config"].resolver_path)
    def page_config() -> Response:
        out = models.PageConfig(
            authority=cfg.admin_oidc_issuer,
            client_id=cfg.admin_oidc_client_id,
            scope=cfg.admin_oidc_scope,
            api=PREFIX,
        )
        return _json(out, headers={"Cache-Control": "no-cache"})

    @app.get(ROUTES_BY_ID["openapi"].resolver_path)
    def openapi() -> Response:
        return _json(openapi_document(PREFIX, cfg.admin_oidc_issuer), headers={"Cache-Control": "no-cache"})

    @app.get(ROUTES_BY_ID["moi"].resolver_path)
    def moi() -> Response:
        p = principal()
        query(ROUTES_BY_ID["moi"].query)
        return _json(
            models.Moi(sub=p.sub, nom=p.nom, email=p.email, admin=p.admin, rh=p.rh, sirens=sorted(p.sirens))
        )

    @app.get(ROUTES_BY_ID["actes"].resolver_path)
    def actes() -> Response:
        p = principal()
        params: ActesParams = query(ActesParams)
        sirens = p.scope(params.siren)
        limit = params.limit or cfg.admin_page_default_limit
        if limit > cfg.admin_page_max_limit:
            raise invalid_value("limit", f"valeur trop grande (maximum {cfg.admin_page_max_limit})")
        if params.nature is not None:
            p.require_nature(params.nature)
        for _attempt in range(3):
            partitions = s.actes.partitions(sirens, params.annee)
            if len(partitions) > cfg.admin_queue_max_partitions:
                raise invalid_value(
                    "siren", f"{len(partitions)} collectivités-années à lire : précisez siren ou annee"
                )
            filtre = Filtre(
                statut=None if params.statut == "tous" else params.statut,
                annee=params.annee,
                nature=params.nature,
                recherche=params.q,
                rh=p.rh,
            )
            try:
                rows = s.actes.rows(partitions, filtre)
                break
            except PartitionMoved:
                continue
        else:
            raise ApiError(503, "Les données changent en ce moment ; réessayez dans quelques secondes.")
        decided = _decision_keys(s.curated, sirens)
        cache: dict[str, Current[models.ActeSurcharge]] = {}

        def surcharge(row: dict[str, Any]) -> Current[models.ActeSurcharge] | None:
            key = layout.admin_acte_decision_key(row["siren"], row["id_e"], row["id_d"])
            if key not in decided:
                return None
            if key not in cache:
                cache[key] = s.store.read(key, models.ActeSurcharge)
            return cache[key]

        if params.statut == "a_statuer":  # a decided act leaves the queue at once, applied or not yet
            rows = [
                r for r in rows if (c := surcharge(r)) is None or c.value is None or c.value.decision is None
            ]
        start = int(params.cursor or 0)
        page_rows = rows[start : start + limit]
        now = s.clock.now()
        data = [_resume(s, row, surcharge(row), now) for row in page_rows]
        nxt = str(start + limit) if start + limit < len(rows) else None
        out = models.ActesPage(
            data=data, total=len(rows), suivant=nxt, derniere_normalisation=_last_run(s.curated, "normalize")
        )
        return _json(out)

    @app.get(ROUTES_BY_ID["acte"].resolver_path)
    def acte(siren: str, id_e: str, id_d: str) -> Response:
        p = principal()
        query(ROUTES_BY_ID["acte"].query)
        record = acte_record(p, siren, id_e, id_d)
        key = layout.admin_acte_decision_key(siren, id_e, id_d)
        current = s.store.read(key, models.ActeSurcharge)
        now = s.clock.now()
        row = dict(record.row)
        resume = _resume(s, row, current if current.exists else None, now)
        public = {d.raw_key for d in record.documents if d.role == "annexe"}
        annexes = []
        for f in record.acte.annex_files():
            found = s.store.read(
                layout.admin_annexe_decision_key(siren, id_e, id_d, f.num), models.AnnexeSurcharge
            )
            value = found.value
            annexes.append(
                models.AnnexeVue(
                    rang=f.num,
                    nom=f.name,
                    sha256=f.sha256,
                    publique=f.key in public,
                    operateur=value.publier if value else None,
                    motif=value.motif if value else None,
                    perimee=bool(value and value.publier and value.sha256 != f.sha256),
                    etag=found.etag,
                    apercu=_apercu(s, "annexe", f.num, f.name, f.key, now),
                )
            )
        out = models.ActeDetail(
            acte=resume,
            classification=record.acte.classification_code,
            objet_recu=record.acte.objet,
            annexes=annexes,
            avertissements=[w.message for w in record.avertissements],
        )
        return _json(out, headers={"ETag": current.etag} if current.etag else None)

    @app.put(ROUTES_BY_ID["decider_acte"].resolver_path)
    def decider_acte(siren: str, id_e: str, id_d: str) -> Response:
        p = principal()
        record = acte_record(p, siren, id_e, id_d)
        data: models.DecisionActeIn = body(models.DecisionActeIn)
        check_lengths(data.motif)
        expected = expected_etag()
        key = layout.admin_acte_decision_key(siren, id_e, id_d)
        result = s.store.change(
            key,
            models.ActeSurcharge,
            expected=expected,
            auteur=auteur(p),
            request_id=ids()[0],
            client_request_id=client_request_id(),
            build=_acte_builder(record, decision=data.decision, motif=data.motif),
            describe=audit_entry("decision_acte", key, p, record, data.motif),
        )
        return written(result)

    @app.put(ROUTES_BY_ID["corriger_objet"].resolver_path)
    def corriger_objet(siren: str, id_e: str, id_d: str) -> Response:
        p = principal()
        record = acte_record(p, siren, id_e, id_d)
        data: models.ObjetIn = body(models.ObjetIn)
        check_lengths(data.motif, data.objet)
        expected = expected_etag()
        key = layout.admin_acte_decision_key(siren, id_e, id_d)
        result = s.store.change(
            key,
            models.ActeSurcharge,
            expected=expected,
            auteur=auteur(p),
            request_id=ids()[0],
            client_request_id=client_request_id(),
            build=_acte_builder(record, objet=data.objet, motif_objet=data.motif),
            describe=audit_entry("objet_acte", key, p, record, data.motif),
        )
        return written(result)

    @app.put(ROUTES_BY_ID["decider_annexe"].resolver_path)
    def decider_annexe(siren: str, id_e: str, id_d: str, rang: str) -> Response:
        p = principal()
        record = acte_record(p, siren, id_e, id_d)
        if not RANG_RE.match(rang):
            raise not_found("Annexe introuvable.")
        fichier = next((f for f in record.acte.annex_files() if f.num == int(rang)), None)
        if fichier is None:
            raise not_found("Annexe introuvable pour cet acte.")
        data: models.DecisionAnnexeIn = body(models.DecisionAnnexeIn)
        check_lengths(data.motif)
        expected = expected_etag()
        key = layout.admin_annexe_decision_key(siren, id_e, id_d, fichier.num)

        def build(current: Any, trace: models.Trace) -> models.AnnexeSurcharge:
            return models.AnnexeSurcharge(
                siren=siren,
                id_e=id_e,
                id_d=id_d,
                nature=record.acte.nature,
                rang=fichier.num,
                nom=fichier.name,
                sha256=fichier.sha256,
                publier=data.publier,
                motif=data.motif,
                trace=trace,
            )

        result = s.store.change(
            key,
            models.AnnexeSurcharge,
            expected=expected,
            auteur=auteur(p),
            request_id=ids()[0],
            client_request_id=client_request_id(),
            build=build,
            describe=audit_entry("decision_annexe", key, p, record, data.motif, rang=fichier.num),
        )
        return written(result)

    @app.post(ROUTES_BY_ID["decider_lot"].resolver_path)
    def decider_lot() -> Response:
        p = principal()
        data: models.LotIn = body(models.LotIn)
        check_lengths(data.motif)
        if len(data.items) > cfg.admin_batch_max_items:
            raise invalid_value("items", f"{cfg.admin_batch_max_items} actes au plus par lot")
        seen: set[tuple[str, str, str]] = set()
        for item in data.items:
            p.require_siren(item.siren)  # one SIREN outside the scope refuses the whole batch
            ident = (item.siren, item.id_e, item.id_d)
            if ident in seen:
                raise invalid_value("items", f"acte {item.id_e}/{item.id_d} présent deux fois")
            seen.add(ident)
        results = [_lot_item(s, p, item, data, audit_entry) for item in data.items]
        out = models.LotOut(
            client_request_id=data.client_request_id,
            resultats=results,
            appliques=sum(1 for r in results if r.statut == 200),
            conflits=sum(1 for r in results if r.statut == 412),
        )
        return _json(out)

    @app.get(ROUTES_BY_ID["reglages"].resolver_path)
    def reglages(siren: str) -> Response:
        p = principal()
        if not SIREN_RE.match(siren):
            raise invalid_value("siren", "SIREN attendu (9 chiffres)")
        p.require_siren(siren)
        query(ROUTES_BY_ID["reglages"].query)
        current = s.store.read(layout.admin_collectivite_key(siren), models.CollectiviteReglages)
        return _json(
            _reglages_vue(s, siren, current), headers={"ETag": current.etag} if current.etag else None
        )

    @app.put(ROUTES_BY_ID["modifier_reglages"].resolver_path)
    def modifier_reglages(siren: str) -> Response:
        p = principal()
        if not SIREN_RE.match(siren):
            raise invalid_value("siren", "SIREN attendu (9 chiffres)")
        p.require_siren(siren)
        data: models.ReglagesIn = body(models.ReglagesIn)
        check_lengths(data.motif)
        expected = expected_etag()
        key = layout.admin_collectivite_key(siren)

        def build(current: Any, trace: models.Trace) -> models.CollectiviteReglages:
            return models.CollectiviteReglages(
                siren=siren,
                open_data=data.open_data,
                documents=data.documents,
                annexes=data.annexes,
                motif=data.motif,
                trace=trace,
            )

        result = s.store.change(
            key,
            models.CollectiviteReglages,
            expected=expected,
            auteur=auteur(p),
            request_id=ids()[0],
            client_request_id=client_request_id(),
            build=build,
            describe=audit_entry("reglages_collectivite", key, p, None, data.motif),
        )
        return written(result)

    @app.get(ROUTES_BY_ID["journal"].resolver_path)
    def journal() -> Response:
        p = principal()
        params: JournalParams = query(JournalParams)
        sirens = p.scope(params.siren)
        today = s.clock.now().date()
        until = params.jusqua or today
        since = params.depuis or (until - timedelta(days=30))
        if since > until:
            raise invalid_value("depuis", "date postérieure à « jusqua »")
        if (until - since).days + 1 > cfg.admin_audit_days_max:
            raise invalid_value("depuis", f"{cfg.admin_audit_days_max} jours au plus par requête")
        try:
            entries, nxt = s.store.journal(
                sirens=frozenset(sirens) if sirens is not None else None,
                since=since,
                until=until,
                limit=params.limit or 50,
                cursor=params.cursor,
                visible=lambda e: p.may_act_on(e.siren) and p.may_see_nature(e.nature),
            )
        except ValueError as exc:
            raise invalid_value("cursor", str(exc)) from None
        return _json(models.JournalPage(data=entries, suivant=nxt))

    return app


# ------------------------------------------------------------------------------ route logic
def _acte_builder(record: Any, **changes: Any) -> Callable[[Any, models.Trace], models.ActeSurcharge]:
    def build(current: models.ActeSurcharge | None, trace: models.Trace) -> models.ActeSurcharge:
        base = {
            "siren": record.siren,
            "id_e": record.id_e,
            "id_d": record.id_d,
            "numero": record.acte.numero,
            "nature": record.acte.nature,
        }
        kept = current.model_dump() if current is not None else {}
        kept.update(base)
        kept.update(changes)
        kept["trace"] = trace
        return models.ActeSurcharge.model_validate(kept)

    return build


def _lot_item(
    s: AdminServices, p: Principal, item: models.LotItem, lot: models.LotIn, audit_entry: Callable[..., Any]
) -> models.LotResultat:
    base = {"siren": item.siren, "id_e": item.id_e, "id_d": item.id_d}
    record = read_record(s.curated, item.siren, item.id_e, item.id_d)
    if record is None:
        return models.LotResultat(**base, statut=404, message="Acte introuvable pour cette collectivité.")
    if not p.may_see_nature(record.acte.nature):
        return models.LotResultat(
            **base, statut=403, message="Acte individuel : réservé aux utilisateurs RH."
        )
    try:
        expected = normalize_etag(item.etag) if item.etag is not None else ABSENT
    except ValueError as exc:
        return models.LotResultat(**base, statut=400, message=f"ETag invalide : {exc}.")
    key = layout.admin_acte_decision_key(item.siren, item.id_e, item.id_d)
    try:
        result = s.store.change(
            key,
            models.ActeSurcharge,
            expected=expected,
            auteur=models.Auteur(sub=p.sub, nom=p.nom, email=p.email, admin=p.admin, rh=p.rh),
            request_id=None,
            client_request_id=lot.client_request_id,
            build=_acte_builder(record, decision=item.decision, motif=lot.motif),
            describe=audit_entry("decision_acte", key, p, record, lot.motif),
        )
    except Conflict as conflict:
        value = conflict.current.value
        if (
            value is not None
            and value.trace.client_request_id == lot.client_request_id
            and value.decision == item.decision
        ):
            return models.LotResultat(
                **base, statut=200, message="Déjà appliqué (même lot rejoué).", etag=conflict.current.etag
            )
        return models.LotResultat(
            **base,
            statut=412,
            message=_conflict_error(conflict.current).message,
            etag=conflict.current.etag,
            actuel=_current_view(conflict.current),
        )
    return models.LotResultat(
        **base,
        statut=200,
        message="Appliqué." if result.modifie else "Inchangé.",
        modifie=result.modifie,
        etag=result.etag,
    )


def _conflict_error(current: Current[Any]) -> ApiError:
    value = current.value
    if value is None and not current.exists:
        message = "La décision a été supprimée entre-temps : rechargez l'acte."
    elif value is None:
        message = "La décision enregistrée est illisible : rechargez l'acte et décidez à nouveau."
    else:
        who = value.trace.modifie_par.nom or value.trace.modifie_par.sub
        message = (
            f"Modifié entre-temps par {who} le {value.trace.modifie_le:%d/%m/%Y à %H:%M:%S} UTC : "
            "relisez la décision actuelle avant de décider à nouveau."
        )
    return ApiError(412, message, {"actuel": _current_view(current), "etag": current.etag})


def _current_view(current: Current[Any]) -> dict[str, Any] | None:
    if current.value is None:
        return None
    return {
        **current.value.payload(),
        "modifie_par": current.value.trace.modifie_par.nom or current.value.trace.modifie_par.sub,
        "modifie_le": current.value.trace.modifie_le.isoformat(),
    }


def _decision_keys(curated: ObjectStore, sirens: tuple[str, ...] | None) -> set[str]:
    """Keys of the act decision objects (a LIST per SIREN, or one LIST of everything for admins)."""
    prefixes = (
        [layout.admin_decisions_prefix(siren) for siren in sirens]
        if sirens is not None
        else [layout.ADMIN_DECISIONS_PREFIX]
    )
    found: set[str] = set()
    for prefix in prefixes:
        for key in curated.list_keys(prefix):
            parsed = layout.parse_admin_config_key(key)
            if parsed is not None and parsed[0] == "acte":
                found.add(key)
    return found


def _apercu(s: AdminServices, role: str, rang: int, name: str, key: str, now: Any) -> models.Apercu:
    seconds = s.settings.admin_presign_seconds
    return models.Apercu(
        role=role,
        rang=rang,
        nom=name,
        url=preview_url(s.raw, key, name, seconds),
        expire_le=preview_expiry(now, seconds),
    )


def _resume(
    s: AdminServices, row: dict[str, Any], current: Current[models.ActeSurcharge] | None, now: Any
) -> models.ActeResume:
    main, annexes = main_and_annexes(captured_files(row.get("fichiers")))
    apercus = []
    if main is not None:
        apercus.append(_apercu(s, "acte", main["num"], str(main.get("name") or "acte"), main["key"], now))
    for f in annexes:
        apercus.append(_apercu(s, "annexe", f["num"], str(f.get("name") or "annexe"), f["key"], now))
    operateur = None
    value = current.value if current is not None else None
    if value is not None and current is not None and current.etag:
        applied = (
            value.decision is None
            or (row["decision"] == value.decision and row["decision_motif"] == "surcharge_operateur")
        ) and (value.objet is None or value.objet == row["delib_objet"])
        operateur = models.DecisionOperateurVue(
            decision=value.decision,
            motif=value.motif,
            objet=value.objet,
            motif_objet=value.motif_objet,
            modifie_par=value.trace.modifie_par.nom or value.trace.modifie_par.sub,
            modifie_le=value.trace.modifie_le,
            etag=current.etag,
            appliquee=applied,
        )
    date_value = row["delib_date"]
    return models.ActeResume(
        siren=row["siren"],
        id_e=row["id_e"],
        id_d=row["id_d"],
        acte_id=row["acte_id"],
        annee=int(row["annee"]),
        nature=int(row["nature"]),
        nature_libelle=row["nature_libelle"],
        numero=row["delib_id"],
        date=date_value.isoformat() if hasattr(date_value, "isoformat") else str(date_value),
        objet=row["delib_objet"],
        coll_nom=row["coll_nom"],
        decision=row["decision"],
        decision_motif=row["decision_motif"],
        documents_publics=bool(row["documents_publics"]),
        operateur=operateur,
        etag=current.etag if current is not None else None,
        apercus=apercus,
    )


def _reglages_vue(
    s: AdminServices, siren: str, current: Current[models.CollectiviteReglages]
) -> models.ReglagesVue:
    from regate.admin.fold import combine_switch
    from regate.collectivites.config import parse_collectivites_csv

    found = s.curated.get_with_etag(layout.CONFIG_COLLECTIVITES_KEY)
    configs, _problems = parse_collectivites_csv(found[0]) if found else ({}, [])
    config = configs.get(siren)
    csv = {name: getattr(config, name, None) for name in ("open_data", "documents", "annexes")}
    stored = current.value
    if current.exists and stored is None:
        effective = dict.fromkeys(csv, False)  # unreadable object: the chain fails closed
    else:
        effective = {
            name: combine_switch(value, getattr(stored, name) if stored else None) is not False
            for name, value in csv.items()
        }
    return models.ReglagesVue(
        siren=siren,
        fichier_csv=csv,
        back_office=stored.payload() if stored else None,
        effectif=effective,
        motif=stored.motif if stored else None,
        etag=current.etag,
    )


def _last_run(curated: ObjectStore, stage: str) -> str | None:
    try:
        report = curated.get_json(layout.run_report_key(stage))
    except (ValueError, UnicodeDecodeError):
        return None
    value = report.get("finished_at") if isinstance(report, dict) else None
    return value if isinstance(value, str) else None
