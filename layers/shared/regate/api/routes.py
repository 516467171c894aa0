"""The route table: one place naming every route, its parameters and its response.

Both the resolver (:mod:`regate.api.app`) and the OpenAPI document (:mod:`regate.api.openapi`) read it,
so the published contract cannot drift from the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from regate.api import models
from regate.api.exports import ExportParams
from regate.api.marque_blanche import MarqueBlancheParams
from regate.api.params import (
    ApiParams,
    CollectivitesParams,
    DeliberationsParams,
    GeojsonParams,
    MreportParams,
    NoParams,
    StatsParams,
)


@dataclass(frozen=True)
class PathParam:
    name: str
    description: str
    pattern: str


@dataclass(frozen=True)
class RouteSpec:
    path: str  # OpenAPI style: /v1/deliberations/{siren}/{annee}.csv
    operation_id: str
    summary: str
    description: str
    params: type[ApiParams]
    response: type[BaseModel] | None
    content_types: tuple[str, ...] = ("application/json",)
    path_params: tuple[PathParam, ...] = ()
    statuses: tuple[int, ...] = (200, 304, 400, 404, 422)
    tags: tuple[str, ...] = field(default=("données",))

    @property
    def resolver_path(self) -> str:
        """powertools syntax (``<name>``)."""
        path = self.path
        for p in self.path_params:
            path = path.replace("{" + p.name + "}", f"<{p.name}>")
        return path


SIREN = PathParam("siren", "SIREN de la collectivité (9 chiffres)", r"^\d{9}$")

ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec(
        "/v1/health",
        "health",
        "État et fraîcheur des données",
        "Dernière capture, dernière publication, nombre de partitions publiques.",
        NoParams,
        models.Freshness,
        tags=("service",),
    ),
    RouteSpec(
        "/v1/openapi.json",
        "openapi",
        "Ce document OpenAPI 3.1",
        "Généré depuis le code.",
        NoParams,
        None,
        tags=("service",),
    ),
    RouteSpec(
        "/v1/docs",
        "docs",
        "Documentation lisible",
        "Page HTML générée depuis le document OpenAPI.",
        NoParams,
        None,
        content_types=("text/html",),
        tags=("service",),
    ),
    RouteSpec(
        "/v1/deliberations",
        "deliberations",
        "Recherche de délibérations",
        "Délibérations (nature 1) publiques. Pagination par curseur (stable malgré les ajouts) ; "
        "`format=csv` (SCDL) et `format=parquet` renvoient 307 vers `/v1/exports/deliberations.csv` ou "
        "`.parquet` avec les mêmes filtres et le même tri. Avec `q` : recherche plein texte dans les objets "
        "et le texte des documents publiés (acte et annexes publiques, OCR des scans ; `in=objet|documents`, "
        "les deux par défaut), classée par pertinence (ou `sort=-delib_date`) ; chaque ligne porte "
        "`recherche` : `score`, `extrait_objet`, `annexe_seule` (présente parce qu'une annexe correspond) "
        "et `documents` (`document_id`, `role` acte|annexe, `nom`, `url`, `methode`, `correspond`, "
        "`extrait` avec `texte`, `html` surligné par `<mark>` et `surlignages`). Syntaxe : mots (tous "
        'requis), `"expression exacte"`, `préfixe*`, `-exclusion` ; une recherche invalide (guillemet '
        "non fermé, `*` mal placé, `AND`/`OR`, trop longue…) répond 422. `publie` ne se combine pas "
        "avec `q`. Avant la première indexation par le normaliseur, `q` cherche dans l'objet seul.",
        DeliberationsParams,
        models.DeliberationsPage,
        statuses=(200, 304, 307, 400, 404, 422),
    ),
    RouteSpec(
        "/v1/exports/deliberations.csv",
        "export_csv",
        "Export SCDL (CSV) des délibérations",
        "Tout l'ensemble filtré (mêmes filtres et tri que `/v1/deliberations`), en pièce jointe. Jusqu'à "
        "5 Mo, réponse directe ; au-delà, seuls les exports complets — sans filtre, une année (`annee`), une "
        "collectivité (`siren`) ou une collectivité-année, dans l'ordre par défaut — répondent 302 vers une "
        "URL présignée de courte durée (octets identiques, calculés une fois par version des données) ; "
        "tout autre export volumineux répond 413. Limite de débit propre, plus basse que le reste de l'API.",
        ExportParams,
        None,
        content_types=("text/csv",),
        statuses=(200, 302, 304, 400, 413, 422),
        tags=("exports",),
    ),
    RouteSpec(
        "/v1/exports/deliberations.parquet",
        "export_parquet",
        "Export Parquet des délibérations",
        "Tout l'ensemble filtré (mêmes filtres et tri que `/v1/deliberations`), en pièce jointe. Jusqu'à "
        "5 Mo, réponse directe ; au-delà, seuls les exports complets — sans filtre, une année (`annee`), une "
        "collectivité (`siren`) ou une collectivité-année, dans l'ordre par défaut — répondent 302 vers une "
        "URL présignée de courte durée (octets identiques, calculés une fois par version des données) ; "
        "tout autre export volumineux répond 413. Limite de débit propre, plus basse que le reste de l'API.",
        ExportParams,
        None,
        content_types=("application/vnd.apache.parquet",),
        statuses=(200, 302, 304, 400, 413, 422),
        tags=("exports",),
    ),
    RouteSpec(
        "/v1/deliberations/{siren}/{annee}.csv",
        "deliberations_scdl",
        "Fichier SCDL publié",
        "Le fichier SCDL délibérations d'une collectivité et d'une année, octet pour octet tel que publié ; "
        "`all` à la place du SIREN donne le fichier national de l'année (toutes les collectivités).",
        NoParams,
        None,
        content_types=("text/csv",),
        path_params=(
            PathParam(
                "siren",
                "SIREN de la collectivité (9 chiffres), ou `all` pour le fichier national",
                r"^(\d{9}|all)$",
            ),
            PathParam("annee", "Année (4 chiffres)", r"^\d{4}$"),
        ),
    ),
    RouteSpec(
        "/v1/collectivites",
        "collectivites",
        "Collectivités publiant des actes",
        "Nature, code INSEE, comptes par année, date de la dernière délibération, URL utiles.",
        CollectivitesParams,
        models.Collectivites,
    ),
    RouteSpec(
        "/v1/collectivites.geojson",
        "collectivites_geojson",
        "Carte des collectivités (GeoJSON)",
        "FeatureCollection RFC 7946 (points EPSG:4326), propriétés des cartes de référence "
        "(`deliberation_publie`, `nb_delib_publie`, `url_actes`…), pour une couche mViewer `geojson`.",
        GeojsonParams,
        None,
        content_types=("application/geo+json",),
    ),
    RouteSpec(
        "/v1/stats",
        "stats",
        "Statistiques",
        "Comptes par matière, année, mois, nature ou collectivité.",
        StatsParams,
        models.Stats,
    ),
    RouteSpec(
        "/v1/mreport/{report}",
        "mreport",
        "Lignes mReport",
        "Lignes `{dataid, dataviz, dataset, order, label, data}` (chaînes uniquement, triées) ; "
        "sans `dataid` : une ligne par collectivité. Rapports disponibles : `deliberations`, `marches`, "
        "`budgets`.",
        MreportParams,
        models.Mreport,
        content_types=("application/json", "text/csv"),
        path_params=(PathParam("report", "Nom du rapport", r"^[a-z_]{1,40}$"),),
    ),
    RouteSpec(
        "/v1/documents/{id}",
        "document",
        "Document publié",
        "Redirection (302) vers une URL présignée de courte durée ; le fichier est servi en pièce jointe "
        "(`Content-Disposition: attachment`), avec un type parmi PDF, images et formats bureautiques, sinon "
        "`application/octet-stream`. 404 si le document n'est pas publié.",
        NoParams,
        None,
        content_types=(),
        statuses=(302, 400, 404),
        path_params=(PathParam("id", "Identifiant du document", r"^[A-Za-z0-9_-]{8,128}$"),),
    ),
    RouteSpec(
        "/v1/marque-blanche",
        "marque_blanche",
        "Page de recherche en marque blanche",
        "Page HTML autonome (sans cadriciel, sans police ni ressource externe) à intégrer en iframe : "
        "recherche plein texte dans les actes publics d'une collectivité (`siren`), filtres (nature, "
        "matière, dates de l'acte et de publication), pagination, extraits surlignés, liens vers l'acte et "
        "ses annexes ; thèmes (`theme`) contrastés AA ou `couleur` ; mêmes noms de paramètres que la "
        "marque blanche de référence. `generateur=true` : générateur du code d'intégration (opérateurs).",
        MarqueBlancheParams,
        None,
        content_types=("text/html",),
        statuses=(200, 304, 400, 422),
        tags=("marque blanche",),
    ),
    RouteSpec(
        "/v1/catalog.jsonld",
        "catalog_jsonld",
        "Catalogue DCAT-AP",
        "Catalogue DCAT-AP (JSON-LD).",
        NoParams,
        None,
        content_types=("application/ld+json",),
        tags=("catalogue",),
    ),
    RouteSpec(
        "/v1/catalog.csv",
        "catalog_csv",
        "Catalogue SCDL",
        "Catalogue au format SCDL catalogue 0.1.3.",
        NoParams,
        None,
        content_types=("text/csv",),
        tags=("catalogue",),
    ),
)

from regate.flux.budgets.api import route_specs as _budgets_routes  # noqa: E402 (after RouteSpec)
from regate.flux.marches.api import route_specs as _marches_routes  # noqa: E402 (after RouteSpec)

ROUTES = (*ROUTES, *_marches_routes(RouteSpec, PathParam), *_budgets_routes(RouteSpec, PathParam))
ROUTES_BY_ID = {r.operation_id: r for r in ROUTES}
