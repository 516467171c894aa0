"""``/v1/deliberations?q=…``: the full-text branch (index of objets and of public documents' text).

The index (:mod:`regate.search`) ranks the acts and gives snippets and the matched documents; the rows
come from the public dataset (:meth:`ActesQuery.rows_by_ids`), so a hit is shown only if its act is public
*now* in the data the rest of the API serves, with exactly the same columns. Each row gains ``recherche``:
score, the objet's snippet, ``annexe_seule`` (shown because of an annex only) and, per public document,
``correspond`` (the reference's ``resultat_recherche``) with its snippet and URL.

Until the normaliser has written the index at all (a deployment upgraded in place), ``q`` keeps its former
meaning (objet only, through DuckDB): :func:`search_available` says which branch answers.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from regate.api.errors import ApiError, invalid_value
from regate.api.params import DELIBERATION_FIELDS
from regate.api.query import Filtres
from regate.search.engine import SearchFilters, SearchHit, SearchLimits, SearchResult, Snippet, search
from regate.search.query import SearchQueryError
from regate.storage import layout


class ExtraitOut(BaseModel):
    texte: str = Field(description="Fragment du texte")
    html: str = Field(description="Le fragment échappé, mots trouvés entre `<mark>` et `</mark>`")
    surlignages: list[tuple[int, int]] = Field(description="Positions [début, fin) des mots trouvés")


class DocumentTrouve(BaseModel):
    document_id: str
    role: str = Field(description="`acte` (document principal) ou `annexe`")
    nom: str
    url: str
    methode: str | None = Field(description="Extraction du texte : `texte`, `ocr`, `mixte`, `aucune`")
    correspond: bool = Field(description="Les mots de la recherche figurent dans ce document")
    extrait: ExtraitOut | None = None


class Recherche(BaseModel):
    """What ``q`` found for one act (in each row of ``data`` under ``recherche``)."""

    score: float
    correspond_objet: bool
    extrait_objet: ExtraitOut | None = None
    annexe_seule: bool = Field(description="Présente seulement parce qu'une annexe correspond")
    documents: list[DocumentTrouve]


def search_available(reader: Any) -> bool:
    return reader is not None and reader.available()


def limits_of(settings: Any) -> SearchLimits:
    return SearchLimits.from_settings(settings)


def filters_of(params: Any, raw: dict[str, list[str]]) -> tuple[SearchFilters, list[str] | None, str]:
    """``/v1/deliberations`` parameters → the engine's filters, SIRENs and sort (422 when not supported)."""
    if params.publie is not None:
        raise invalid_value("publie", "non disponible avec `q` (tous les actes publics sont cherchés)")
    start, end = params.date_min, params.date_max
    if params.annee is not None:
        start = max(filter(None, (start, date(params.annee, 1, 1))))
        end = min(filter(None, (end, date(params.annee, 12, 31))))
    sort = "pertinence"
    if "sort" in raw:
        if params.sort != "-delib_date":
            raise invalid_value("sort", "avec `q` : pertinence (par défaut) ou `-delib_date`")
        sort = "date"
    filters = SearchFilters(natures=(1,), matiere=params.matiere, date_acte_debut=start, date_acte_fin=end)
    return filters, list(params.siren) or None, sort


def snippet_out(snippet: Snippet | None) -> ExtraitOut | None:
    if snippet is None:
        return None
    return ExtraitOut(texte=snippet.texte, html=snippet.html, surlignages=snippet.surlignages)


def recherche_of(hit: SearchHit, base_url: str) -> Recherche:
    return Recherche(
        score=hit.score,
        correspond_objet=hit.correspond_objet,
        extrait_objet=snippet_out(hit.extrait_objet) if hit.correspond_objet else None,
        annexe_seule=hit.annexe_seule,
        documents=[
            DocumentTrouve(
                document_id=d.document_id,
                role=d.role,
                nom=d.nom,
                url=layout.public_document_url(base_url, d.document_id),
                methode=d.methode,
                correspond=d.correspond,
                extrait=snippet_out(d.extrait),
            )
            for d in hit.documents
        ],
    )


def run_search(
    reader: Any, settings: Any, params: Any, raw: dict[str, list[str]], limit: int
) -> SearchResult:
    """The engine's answer for ``/v1/deliberations?q=`` (:class:`SearchQueryError` → 422)."""
    filters, sirens, sort = filters_of(params, raw)
    try:
        return search(
            reader,
            params.q,
            in_=params.in_,
            sirens=sirens,
            filters=filters,
            limit=limit,
            cursor=params.cursor,
            sort=sort,
            limits=limits_of(settings),
        )
    except SearchQueryError as exc:
        raise ApiError(
            422, f"Recherche invalide : {exc.message}", details={"parametre": exc.parametre, "code": exc.code}
        ) from None


def page_rows(
    query: Any, result: SearchResult, params: Any, base_url: str
) -> tuple[list[dict[str, Any]], str]:
    """Rows of the hits, in the engine's order, each with its ``recherche``; plus their data version."""
    sirens = tuple(sorted({hit.siren for hit in result.hits}))
    filtres = Filtres(sirens=sirens, natures=(1,))
    page = query.rows_by_ids(filtres, [hit.acte_id for hit in result.hits], list(params.fields))
    by_id = {row["acte_id"]: row for row in page.rows}
    wanted = list(params.fields) or list(DELIBERATION_FIELDS)
    rows = []
    for hit in result.hits:
        row = by_id.get(hit.acte_id)
        if row is None:  # indexed but not (or no longer) in the public dataset: never shown
            continue
        if "annexes" in row:
            for annexe in row["annexes"]:
                annexe["url"] = layout.public_document_url(base_url, annexe["document_id"])
        out = {k: row[k] for k in wanted}
        out["recherche"] = recherche_of(hit, base_url).model_dump(mode="json")
        rows.append(out)
    return rows, page.version


def version_of(reader: Any, sirens: list[str] | None, data_version: str) -> str:
    return hashlib.sha256(f"{data_version}|{reader.version(sirens)}".encode()).hexdigest()[:32]
