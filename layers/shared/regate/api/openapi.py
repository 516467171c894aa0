"""OpenAPI 3.1 document and HTML docs page, generated from :data:`regate.api.routes.ROUTES`.

Parameter schemas come from the pydantic parameter models (the same ones that validate requests);
response schemas from :mod:`regate.api.models`.
"""

from __future__ import annotations

import html
from typing import Any

from pydantic import BaseModel

from regate.api.params import IGNORED_PARAMETERS
from regate.api.routes import ROUTES, RouteSpec

#: Appended to every route that answers CSV: objets are published as written (the SCDL requires it).
CSV_FORMULA_WARNING = (
    "Attention tableur : les cellules sont publiées telles quelles, conformément au SCDL ; un objet "
    "commençant par `=`, `+`, `-` ou `@` peut être pris pour une formule par Excel ou LibreOffice. "
    "Importez le fichier (Données > Depuis un fichier texte/CSV, colonnes au format Texte) plutôt que "
    "de l'ouvrir par double-clic, et n'activez pas le contenu externe qu'il proposerait."
)

STATUS_TEXT = {
    200: "Succès",
    302: "Redirection vers une URL présignée de courte durée (document, ou export volumineux)",
    304: "Non modifié (If-None-Match)",
    307: "Redirection vers la route d'export (`/v1/exports/…`), mêmes filtres",
    400: "Paramètre inconnu (ceux qu'ajoutent navigateurs et bibliothèques, comme `_` ou `callback`, "
    "sont ignorés)",
    404: "Introuvable",
    413: "Export trop volumineux pour une réponse directe (restreindre les filtres, ou export complet)",
    422: "Valeur de paramètre invalide",
}


def openapi_document(server_url: str = "/") -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for route in ROUTES:
        get = _operation(route, schemas)
        head = {
            **get,
            "operationId": f"{route.operation_id}_head",
            "summary": f"{route.summary} (en-têtes seuls)",
            "description": "Comme GET, mêmes en-têtes (dont Content-Length), sans corps.",
            "responses": {code: _without_content(entry) for code, entry in get["responses"].items()},
        }
        paths[route.path] = {"get": get, "head": head}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Rég@te — API des actes publiés",
            "version": "1.0.0",
            "description": (
                "API en lecture seule sur les actes publiés des collectivités (SCDL délibérations). "
                "Toutes les réponses portent un ETag (version des données) et Cache-Control ; "
                "chaque route GET répond aussi à HEAD (mêmes en-têtes, sans corps) ; "
                'CORS ouvert (`*`). Erreurs en JSON : `{"erreur": {"code", "message"}}`. '
                "Un paramètre inconnu est une erreur 400, sauf ceux qu'ajoutent navigateurs, jQuery et "
                "traceurs de liens, ignorés sur toutes les routes : "
                f"{', '.join(f'`{name}`' for name in sorted(IGNORED_PARAMETERS))}. "
                "Pas de JSONP (`callback` est ignoré, la réponse reste du JSON) : appelez l'API en CORS. "
                + CSV_FORMULA_WARNING
            ),
            "license": {
                "name": "Licence Ouverte 2.0",
                "url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
            },
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _operation(route: RouteSpec, schemas: dict[str, Any]) -> dict[str, Any]:
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
    model_schema = route.params.model_json_schema()
    for name, prop in model_schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        param: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": prop}
        if description:
            param["description"] = description
        if prop.get("type") == "array":
            param["style"] = "form"
            param["explode"] = True
        parameters.append(param)
    responses: dict[str, Any] = {}
    for status in route.statuses:
        entry: dict[str, Any] = {"description": STATUS_TEXT[status]}
        if status == 200:
            content: dict[str, Any] = {}
            for ctype in route.content_types:
                if ctype == "application/json" and route.response is not None:
                    content[ctype] = {"schema": _ref(route.response, schemas)}
                elif ctype in {"application/json", "application/ld+json", "application/geo+json"}:
                    content[ctype] = {"schema": {"type": "object"}}
                elif ctype == "application/vnd.apache.parquet":
                    content[ctype] = {"schema": {"type": "string", "contentMediaType": ctype}}
                else:
                    content[ctype] = {"schema": {"type": "string"}}
            if content:
                entry["content"] = content
            entry["headers"] = {
                "ETag": {"schema": {"type": "string"}, "description": "Version des données"},
                "Cache-Control": {"schema": {"type": "string"}},
            }
        elif status in {302, 307}:
            entry["headers"] = {"Location": {"schema": {"type": "string"}}}
        elif status >= 400:
            from regate.api.models import Error

            entry["content"] = {"application/json": {"schema": _ref(Error, schemas)}}
        responses[str(status)] = entry
    description = route.description
    if "text/csv" in route.content_types:
        description = f"{description} {CSV_FORMULA_WARNING}"
    return {
        "operationId": route.operation_id,
        "summary": route.summary,
        "description": description,
        "tags": list(route.tags),
        "parameters": parameters,
        "responses": responses,
    }


def _without_content(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "content"}


def _ref(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        schemas[name] = definition
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def docs_page(document: dict[str, Any]) -> str:
    """A self-contained HTML page (no external script: works offline and under a strict CSP)."""
    esc = html.escape
    parts = [
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'>",
        f"<title>{esc(document['info']['title'])}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
        "line-height:1.45}code{background:#f3f3f3;padding:0 .2em}table{border-collapse:collapse;width:100%}"
        "td,th{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}"
        "h2{margin-top:2.2rem;border-bottom:2px solid #e67f7b}</style></head><body>",
        f"<h1>{esc(document['info']['title'])}</h1><p>{esc(document['info']['description'])}</p>",
        "<p>Document machine : <a href='openapi.json'>openapi.json</a> (OpenAPI 3.1).</p>",
    ]
    for path, item in document["paths"].items():
        op = item["get"]
        parts.append(f"<h2 id='{esc(op['operationId'])}'>GET <code>{esc(path)}</code></h2>")
        parts.append(f"<p><strong>{esc(op['summary'])}</strong> — {esc(op['description'])}</p>")
        if op["parameters"]:
            parts.append("<table><tr><th>Paramètre</th><th>Où</th><th>Description</th></tr>")
            for p in op["parameters"]:
                parts.append(
                    f"<tr><td><code>{esc(p['name'])}</code></td><td>{esc(p['in'])}</td>"
                    f"<td>{esc(p.get('description', ''))}</td></tr>"
                )
            parts.append("</table>")
        codes = ", ".join(f"{c} ({esc(r['description'])})" for c, r in op["responses"].items())
        parts.append(f"<p>Réponses : {codes}</p>")
    parts.append("</body></html>")
    return "".join(parts)
