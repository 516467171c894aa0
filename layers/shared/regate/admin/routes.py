"""The write API's route table: method, path, parameters, body, answer and whether a token is required.

The resolver (:mod:`regate.admin.app`), the OpenAPI document (:func:`openapi_document`), the local JWT
authorizer of ``regate serve`` (:mod:`regate_local.serve.admin`) and, later, the SAM template's per-route
authorizer all read it: a route cannot be public in one place and protected in another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from regate.admin import models
from regate.api.params import ApiParams, NoParams, validate_sirens

PREFIX = "/admin/v1"


class ActesParams(ApiParams):
    siren: list[str] = Field(
        default_factory=list, description="SIREN (9 chiffres), plusieurs possibles ; défaut : les vôtres"
    )
    statut: Literal["a_statuer", "publier", "metadonnees", "retenir", "tous"] = Field(
        default="a_statuer",
        description="Décision en vigueur ; `a_statuer` exclut les actes déjà décidés au back-office",
    )
    annee: int | None = Field(default=None, ge=1900, le=2100)
    nature: int | None = Field(default=None, ge=1, le=7)
    q: str | None = Field(default=None, max_length=200, description="Dans l'objet ou le numéro")
    limit: int | None = Field(default=None, ge=1)
    cursor: str | None = Field(default=None, max_length=20, pattern=r"^\d{1,9}$")

    @field_validator("siren", mode="before")
    @classmethod
    def _siren(cls, value: Any) -> list[str]:
        return validate_sirens(value)


class JournalParams(ApiParams):
    siren: list[str] = Field(
        default_factory=list, description="SIREN ; défaut : tous ceux qui vous sont ouverts"
    )
    depuis: date | None = Field(
        default=None, description="Premier jour (UTC, inclus) ; défaut : il y a 30 jours"
    )
    jusqua: date | None = Field(default=None, description="Dernier jour (UTC, inclus) ; défaut : aujourd'hui")
    limit: int | None = Field(default=None, ge=1, le=500)
    cursor: str | None = Field(default=None, max_length=400, pattern=r"^[A-Za-z0-9_-]+$")

    @field_validator("siren", mode="before")
    @classmethod
    def _siren(cls, value: Any) -> list[str]:
        return validate_sirens(value)


@dataclass(frozen=True)
class PathParam:
    name: str
    description: str
    pattern: str


@dataclass(frozen=True)
class AdminRoute:
    method: str
    path: str  # OpenAPI style
    operation_id: str
    summary: str
    description: str
    auth: bool = True
    query: type[ApiParams] = NoParams
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    content_type: str = "application/json"
    path_params: tuple[PathParam, ...] = ()
    statuses: tuple[int, ...] = (200, 400, 401, 403, 404, 422)
    conditional: bool = False  # If-Match / If-None-Match required

    @property
    def resolver_path(self) -> str:
        path = self.path
        for p in self.path_params:
            path = path.replace("{" + p.name + "}", f"<{p.name}>")
        return path

    def matches(self, method: str, path: str) -> bool:
        if method.upper() != self.method:
            return False
        pattern = re.escape(self.path)
        for p in self.path_params:
            pattern = pattern.replace(re.escape("{" + p.name + "}"), r"[^/]+")
        return re.fullmatch(pattern, path) is not None


SIREN = PathParam("siren", "SIREN de la collectivité", r"^\d{9}$")
ID_E = PathParam("id_e", "Identifiant Pastell de l'entité", r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
ID_D = PathParam("id_d", "Identifiant Pastell du document", r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
RANG = PathParam("rang", "Numéro de l'annexe (num Pastell)", r"^\d{1,4}$")
NAME = PathParam("name", "Fichier de la page", r"^[a-z0-9][a-z0-9._-]{0,80}$")
ACTE = f"{PREFIX}/actes/{{siren}}/{{id_e}}/{{id_d}}"
WRITE = (200, 400, 401, 403, 404, 412, 413, 422, 428)

ROUTES: tuple[AdminRoute, ...] = (
    AdminRoute(
        "GET",
        f"{PREFIX}/",
        "page",
        "Page du back-office",
        "Page HTML (connexion OIDC, actes à statuer, réglages, journal).",
        auth=False,
        content_type="text/html",
        statuses=(200,),
    ),
    AdminRoute(
        "GET",
        f"{PREFIX}/static/{{name}}",
        "static",
        "Fichiers de la page",
        "Scripts et styles de la page (aucun fichier externe).",
        auth=False,
        content_type="application/octet-stream",
        path_params=(NAME,),
        statuses=(200, 404),
    ),
    AdminRoute(
        "GET",
        f"{PREFIX}/config.json",
        "page_config",
        "Configuration de connexion",
        "Émetteur OIDC, client et portées utilisés par la page.",
        auth=False,
        response=models.PageConfig,
        statuses=(200,),
    ),
    AdminRoute(
        "GET",
        f"{PREFIX}/openapi.json",
        "openapi",
        "Ce document OpenAPI 3.1",
        "Généré depuis la table des routes.",
        auth=False,
        statuses=(200,),
    ),
    AdminRoute(
        "GET", f"{PREFIX}/moi", "moi", "Mon compte", "Ce que le jeton vous ouvre.", response=models.Moi
    ),
    AdminRoute(
        "GET",
        f"{PREFIX}/actes",
        "actes",
        "Actes à statuer (et autres)",
        "Actes de vos collectivités avec objet, nature, décision en vigueur, décision de l'opérateur et "
        "liens d'aperçu (URL présignées de quelques minutes, téléchargement). Les actes individuels "
        "(nature 3) ne sont listés qu'aux utilisateurs RH.",
        query=ActesParams,
        response=models.ActesPage,
    ),
    AdminRoute(
        "GET",
        ACTE,
        "acte",
        "Un acte",
        "L'acte, sa décision, ses annexes et leurs décisions (avec leurs ETag).",
        response=models.ActeDetail,
        path_params=(SIREN, ID_E, ID_D),
    ),
    AdminRoute(
        "PUT",
        f"{ACTE}/decision",
        "decider_acte",
        "Décider d'un acte",
        "publier, metadonnees ou retenir (null : la chaîne décide), avec un motif. En-tête `If-Match` avec "
        "l'ETag lu, ou `If-None-Match: *` s'il n'y avait pas de décision ; 412 si elle a changé entre-temps "
        "(l'état actuel est dans la réponse). Appliqué par la chaîne en quelques minutes.",
        body=models.DecisionActeIn,
        response=models.Ecriture,
        path_params=(SIREN, ID_E, ID_D),
        statuses=WRITE,
        conditional=True,
    ),
    AdminRoute(
        "PUT",
        f"{ACTE}/objet",
        "corriger_objet",
        "Corriger l'objet",
        "Objet publié à la place de l'objet reçu (null : l'objet reçu). Même concurrence que la décision.",
        body=models.ObjetIn,
        response=models.Ecriture,
        path_params=(SIREN, ID_E, ID_D),
        statuses=WRITE,
        conditional=True,
    ),
    AdminRoute(
        "PUT",
        f"{ACTE}/annexes/{{rang}}",
        "decider_annexe",
        "Publier ou retenir une annexe",
        "Une publication vaut pour le fichier décidé (empreinte) ; un retrait vaut quel que soit le fichier.",
        body=models.DecisionAnnexeIn,
        response=models.Ecriture,
        path_params=(SIREN, ID_E, ID_D, RANG),
        statuses=WRITE,
        conditional=True,
    ),
    AdminRoute(
        "POST",
        f"{PREFIX}/decisions",
        "decider_lot",
        "Décider de plusieurs actes",
        "Chaque élément porte l'ETag lu ; un résultat par acte (200, 403, 404, 412). Rejouer le même "
        "`client_request_id` n'applique rien deux fois. Une collectivité hors de vos droits refuse tout "
        "le lot.",
        body=models.LotIn,
        response=models.LotOut,
        statuses=(200, 400, 401, 403, 413, 422),
    ),
    AdminRoute(
        "GET",
        f"{PREFIX}/collectivites/{{siren}}/reglages",
        "reglages",
        "Réglages d'une collectivité",
        "open_data, documents, annexes : valeurs du fichier CSV, du back-office, et ce qui s'applique.",
        response=models.ReglagesVue,
        path_params=(SIREN,),
    ),
    AdminRoute(
        "PUT",
        f"{PREFIX}/collectivites/{{siren}}/reglages",
        "modifier_reglages",
        "Modifier les réglages",
        "Même concurrence que les décisions ; un « non » du fichier CSV l'emporte toujours.",
        body=models.ReglagesIn,
        response=models.Ecriture,
        path_params=(SIREN,),
        statuses=WRITE,
        conditional=True,
    ),
    AdminRoute(
        "GET",
        f"{PREFIX}/journal",
        "journal",
        "Journal des modifications",
        "Qui, quand, avant, après, motif ; du plus récent au plus ancien. Lecture seule : aucune route ne "
        "modifie ni ne supprime une entrée.",
        query=JournalParams,
        response=models.JournalPage,
    ),
)

ROUTES_BY_ID = {r.operation_id: r for r in ROUTES}


def route_for(method: str, path: str) -> AdminRoute | None:
    for route in ROUTES:
        if route.matches(method, path):
            return route
    return None


def requires_token(method: str, path: str) -> bool:
    """Everything under the prefix needs a token except the public routes and CORS preflights."""
    if method.upper() == "OPTIONS":
        return False
    route = route_for("GET" if method.upper() == "HEAD" else method, path)
    return route is None or route.auth


STATUS_TEXT = {
    200: "Succès",
    400: "Requête illisible (paramètre inconnu, JSON invalide)",
    401: "Jeton absent ou invalide",
    403: "Collectivité ou nature hors de vos droits",
    404: "Introuvable",
    412: "Modifié entre-temps : l'état actuel et son ETag sont dans `erreur.details`",
    413: "Corps trop volumineux",
    422: "Valeur invalide",
    428: "Précondition requise (If-Match ou If-None-Match: *)",
}


def openapi_document(server_url: str, issuer: str) -> dict[str, Any]:
    from regate.api.models import Error

    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, schemas, Error)
    discovery = (
        f"{issuer}/.well-known/openid-configuration" if issuer else "/.well-known/openid-configuration"
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Rég@te — API d'écriture du back-office",
            "version": "1.0.0",
            "description": (
                "Décisions de publication, réglages des collectivités et journal, pour les agents de l'OPSN "
                "et des collectivités. Jeton d'accès OIDC (Bearer) ; droits calculés côté serveur depuis les "
                "revendications du jeton. Erreurs en JSON : "
                '`{"erreur": {"code", "message", "details"}}`.'
            ),
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"oidc": {"type": "openIdConnect", "openIdConnectUrl": discovery}},
        },
    }


def _operation(route: AdminRoute, schemas: dict[str, Any], error: type[BaseModel]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "name": p.name,
            "in": "path",
            "required": True,
            "description": p.description,
            "schema": {"type": "string", "pattern": p.pattern},
        }
        for p in route.path_params
    ]
    for name, prop in route.query.model_json_schema().get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        param: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": prop}
        if description:
            param["description"] = description
        parameters.append(param)
    if route.conditional:
        for header in ("If-Match", "If-None-Match"):
            parameters.append(
                {"name": header, "in": "header", "required": False, "schema": {"type": "string"}}
            )
    responses: dict[str, Any] = {}
    for status in route.statuses:
        entry: dict[str, Any] = {"description": STATUS_TEXT[status]}
        if status == 200 and route.response is not None:
            entry["content"] = {"application/json": {"schema": _ref(route.response, schemas)}}
        elif status == 200:
            entry["content"] = {route.content_type: {"schema": {"type": "string"}}}
        elif status >= 400:
            entry["content"] = {"application/json": {"schema": _ref(error, schemas)}}
        responses[str(status)] = entry
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "description": route.description,
        "parameters": parameters,
        "responses": responses,
        "security": [{"oidc": []}] if route.auth else [],
    }
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(route.body, schemas)}},
        }
    return operation


def _ref(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        schemas[name] = definition
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}
