"""The query function the API calls: :func:`search` → acts with score, snippets and matched documents.

The user's text is parsed by :mod:`regate.search.query` and turned into engine queries here (never
through the engine's own parser). Each positive clause must match somewhere in the scope (``in_``:
``objet`` = objet and numéro, ``documents`` = main document and annexes, ``both``); exclusions remove acts;
filters (SIREN, nature, matière prefix, date ranges) restrict without changing the score.

Shards are searched one after the other and merged by score (or by date); ``total`` counts acts. For
the acts of the page, each document is checked on its own (highlighted terms of the query in it): that
gives ``correspond`` per document and ``annexe_seule`` when only annexes matched — the reference's
``resultat_recherche`` flags. For a phrase, a document is flagged when it holds the phrase's words.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from regate.search.index import analyzer, days, from_days
from regate.search.query import Clause, ParsedQuery, QueryLimits, SearchQueryError, parse_query
from regate.settings import Settings

Scope = Literal["objet", "documents", "both"]
Sort = Literal["pertinence", "date"]
_SCOPE_FIELDS: dict[str, tuple[tuple[str, float], ...]] = {
    "objet": (("objet", 3.0), ("numero", 4.0)),
    "documents": (("texte_acte", 1.0), ("texte_annexes", 1.0)),
}
_SIREN = re.compile(r"^\d{9}$")
_MATIERE = re.compile(r"^\d{1,2}(\.\d{1,2}){0,4}$")


class SearchFilters(BaseModel):
    """Filters of the white-label page and of ``/v1/deliberations`` (all optional)."""

    natures: tuple[int, ...] = ()
    matiere: str | None = Field(default=None, description="Matière code prefix: 7 = 7.*, 7.1 = 7.1 and below")
    matieres: tuple[str, ...] = Field(default=(), description="Any of these matière prefixes (white label)")
    date_acte_debut: date | None = None
    date_acte_fin: date | None = None
    date_publication_debut: date | None = None
    date_publication_fin: date | None = None


@dataclass(frozen=True)
class SearchLimits:
    query: QueryLimits = field(default_factory=QueryLimits)
    max_limit: int = 100
    max_offset: int = 1000
    max_prefix_terms: int = 64
    snippet_chars: int = 220
    max_sirens: int = 1000

    @classmethod
    def from_settings(cls, settings: Settings) -> SearchLimits:
        return cls(
            query=QueryLimits(
                max_chars=settings.search_max_query_chars,
                max_terms=settings.search_max_query_terms,
                min_prefix_chars=settings.search_min_prefix_chars,
            ),
            max_limit=min(settings.api_max_limit, 100),
            max_offset=settings.search_max_offset,
            max_prefix_terms=settings.search_max_prefix_terms,
            snippet_chars=settings.search_snippet_chars,
        )


class Snippet(BaseModel):
    """A fragment of text; ``surlignages`` are ``[start, end)`` character offsets of matched words."""

    texte: str
    surlignages: list[tuple[int, int]] = Field(default_factory=list)

    @property
    def html(self) -> str:
        """HTML-escaped fragment with ``<mark>`` around the matched words (safe to insert as HTML)."""
        out, last = [], 0
        for start, end in self.surlignages:
            out.append(html.escape(self.texte[last:start]))
            out.append(f"<mark>{html.escape(self.texte[start:end])}</mark>")
            last = end
        out.append(html.escape(self.texte[last:]))
        return "".join(out)


class MatchedDocument(BaseModel):
    document_id: str
    role: str
    nom: str
    methode: str | None = None
    correspond: bool = Field(description="The query's words are in this document (resultat_recherche)")
    extrait: Snippet | None = None


class SearchHit(BaseModel):
    acte_id: str
    siren: str
    score: float
    objet: str
    numero: str | None = None
    nature: int | None = None
    matiere_code: str | None = None
    date_acte: date | None = None
    date_publication: date | None = None
    correspond_objet: bool
    extrait_objet: Snippet | None = None
    annexe_seule: bool = Field(description="Shown because of its annexes only")
    documents: list[MatchedDocument] = Field(default_factory=list)


class SearchResult(BaseModel):
    total: int = Field(description="Acts matching (an act matching in several documents counts once)")
    hits: list[SearchHit]
    next_cursor: str | None = None


class ShardSet(Protocol):
    """Where the searchers come from: local shard folders or the S3-backed reader."""

    def searchers(self, sirens: Sequence[str] | None) -> list[tuple[str, Any]]:
        """``[(shard, tantivy Searcher)]`` of the shards holding these SIRENs (all when ``None``)."""
        ...

    @property
    def schema(self) -> Any: ...


# --------------------------------------------------------------------------------- entry point
def search(
    shards: ShardSet,
    q: str,
    in_: str = "both",
    sirens: Sequence[str] | None = None,
    filters: SearchFilters | None = None,
    limit: int = 20,
    cursor: str | None = None,
    sort: str = "pertinence",
    limits: SearchLimits | None = None,
    browse: bool = False,
) -> SearchResult:
    """Search public acts. Raises :class:`SearchQueryError` (HTTP 422) for any invalid argument.

    ``browse=True`` with an empty ``q``: every act matching the filters, newest first (the white-label
    page before anything is typed)."""
    limits = limits or SearchLimits()
    parsed = None if browse and isinstance(q, str) and not q.strip() else parse_query(q, limits.query)
    if parsed is None:
        sort = "date"
    scope = _scope(in_)
    if sort not in ("pertinence", "date"):
        raise SearchQueryError("tri_invalide", "tri : « pertinence » ou « date ».", "tri")
    sirens = _sirens(sirens, limits)
    filters = _filters(filters)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= limits.max_limit:
        raise SearchQueryError("limite_invalide", f"limit : entre 1 et {limits.max_limit}.", "limit")
    fingerprint = _fingerprint(q, scope, sirens, filters, sort)
    offset = _decode_cursor(cursor, fingerprint, limits)
    schema = shards.schema
    ranked: list[tuple[float, str, int, Any, Any, Any]] = []
    total = 0
    prepared: dict[str, tuple[Any, Any]] = {}
    for shard, searcher in shards.searchers(sirens):
        query, highlight = build_queries(schema, searcher, parsed, scope, sirens, filters, limits)
        if query is None:
            continue
        prepared[shard] = (query, highlight)
        result = _run(searcher, query, offset + limit + 1, sort)  # +1: is there a next page?
        total += result.count or 0
        for position, (score, address) in enumerate(result.hits):
            ranked.append((float(score), shard, position, address, searcher, highlight))
    ranked.sort(key=lambda item: (-item[0], item[1], item[2]))
    page = ranked[offset : offset + limit]
    hits = _hits(schema, page, scope, limits)
    more = offset + limit < min(total, limits.max_offset + limit) and len(ranked) > offset + limit
    next_cursor = _encode_cursor(offset + limit, fingerprint) if more else None
    return SearchResult(total=total, hits=hits, next_cursor=next_cursor)


def _run(searcher: Any, query: Any, limit: int, sort: str) -> Any:
    if sort == "date":
        from tantivy import Order

        return searcher.search(query, limit, count=True, order_by_field="date_acte", order=Order.Desc)
    return searcher.search(query, limit, count=True)


# ------------------------------------------------------------------------------ query building
def build_queries(
    schema: Any,
    searcher: Any,
    parsed: ParsedQuery | None,
    scope: Scope,
    sirens: Sequence[str] | None,
    filters: SearchFilters,
    limits: SearchLimits,
) -> tuple[Any, Any]:
    """``(query, highlight query)`` for one shard; ``(None, None)`` when nothing can match there.

    Raises :class:`SearchQueryError` when every word of the query is a stopword.
    """
    from tantivy import Occur, Query

    if parsed is None:  # browsing: the filters only
        restrictions = [(Occur.Must, r) for r in _restrictions(schema, sirens, filters)]
        query = Query.boolean_query(restrictions) if restrictions else Query.all_query()
        return query, Query.empty_query()
    fields = _fields(scope)
    must: list[tuple[Any, Any]] = []
    highlight: list[tuple[Any, Any]] = []
    kept = 0
    for clause in parsed.positives:
        clause_query = _clause_query(schema, searcher, clause, fields, limits)
        if clause_query is None:
            continue  # only stopwords: ignored
        kept += 1
        must.append((Occur.Must, clause_query))
        highlight.append((Occur.Should, clause_query))
    if not kept:
        raise SearchQueryError(
            "mots_trop_courants", "La recherche ne contient que des mots trop courants (le, de, et…)."
        )
    for clause in parsed.exclusions:
        clause_query = _clause_query(schema, searcher, clause, fields, limits)
        if clause_query is not None:
            must.append((Occur.MustNot, clause_query))
    for restriction in _restrictions(schema, sirens, filters):
        must.append((Occur.Must, Query.const_score_query(restriction, 0.0)))
    return Query.boolean_query(must), Query.boolean_query(highlight)


def _clause_query(
    schema: Any, searcher: Any, clause: Clause, fields: Sequence[tuple[str, float]], limits: SearchLimits
) -> Any:
    from tantivy import Occur, Query

    per_field: list[tuple[Any, Any]] = []
    if clause.kind == "prefixe":
        stems = _expand_prefix(searcher, clause.text, limits)
        if not stems:
            return Query.empty_query()
        for name, boost in fields:
            terms = [(Occur.Should, Query.term_query(schema, name, stem)) for stem in stems]
            per_field.append((Occur.Should, Query.boost_query(Query.boolean_query(terms), boost)))
        return Query.boolean_query(per_field)
    tokens = [(t.position, t.text) for t in analyzer("fr").pre_tokenize(clause.text).tokens]
    if not tokens:
        return None
    first = tokens[0][0]
    for name, boost in fields:
        if len(tokens) == 1:
            query = Query.term_query(schema, name, tokens[0][1])
        else:
            query = Query.phrase_query(schema, name, [(pos - first, text) for pos, text in tokens])
        per_field.append((Occur.Should, Query.boost_query(query, boost)))
    return Query.boolean_query(per_field)


def _expand_prefix(searcher: Any, prefix: str, limits: SearchLimits) -> list[str]:
    """The stems of the most frequent indexed words starting with ``prefix`` (accents folded)."""
    folded = analyzer("mots").analyze(prefix)
    if len(folded) != 1:
        return []
    words = searcher.terms_with_prefix("mots", folded[0], limit=limits.max_prefix_terms)
    stems: set[str] = set()
    for word, _count in words:
        stems.update(analyzer("fr").analyze(word))
    return sorted(stems)


def _restrictions(schema: Any, sirens: Sequence[str] | None, filters: SearchFilters) -> list[Any]:
    from tantivy import FieldType, Query

    out = []
    if sirens:
        out.append(Query.term_set_query(schema, "siren", list(sirens)))
    if filters.natures:
        out.append(Query.term_set_query(schema, "nature", list(filters.natures)))
    if filters.matiere:
        out.append(Query.term_query(schema, "matiere", filters.matiere))
    if filters.matieres:
        out.append(Query.term_set_query(schema, "matiere", list(filters.matieres)))
    for name, start, end in (
        ("date_acte", filters.date_acte_debut, filters.date_acte_fin),
        ("date_publication", filters.date_publication_debut, filters.date_publication_fin),
    ):
        if start is not None or end is not None:
            out.append(Query.range_query(schema, name, FieldType.Integer, days(start), days(end)))
    return out


def _fields(scope: Scope) -> tuple[tuple[str, float], ...]:
    if scope == "both":
        return _SCOPE_FIELDS["objet"] + _SCOPE_FIELDS["documents"]
    return _SCOPE_FIELDS[scope]


# ---------------------------------------------------------------------------------------- hits
def _hits(
    schema: Any, page: list[tuple[float, str, int, Any, Any, Any]], scope: Scope, limits: SearchLimits
) -> list[SearchHit]:
    from tantivy import SnippetGenerator

    generators: dict[tuple[str, str], Any] = {}

    def generator(shard: str, searcher: Any, highlight: Any, field: str) -> Any:
        key = (shard, field)
        if key not in generators:
            created = SnippetGenerator.create(searcher, highlight, schema, field)
            created.set_max_num_chars(limits.snippet_chars)
            generators[key] = created
        return generators[key]

    hits = []
    for score, shard, _position, address, searcher, highlight in page:
        doc = searcher.doc(address)
        meta = json.loads(bytes(doc.get_first("meta")))
        objet = _first(doc, "objet") or ""
        objet_snippet = None
        if scope != "documents":
            objet_snippet = _snippet(generator(shard, searcher, highlight, "objet").snippet_from_doc(doc))
            if objet_snippet is None and _first(doc, "numero"):
                numero = generator(shard, searcher, highlight, "numero").snippet_from_doc(doc)
                objet_snippet = Snippet(texte=objet) if _snippet(numero) else None
        documents = _documents(doc, meta, scope, partial(generator, shard, searcher, highlight))
        matched_objet = objet_snippet is not None
        main_matched = any(d.correspond for d in documents if d.role == "acte")
        annex_matched = any(d.correspond for d in documents if d.role == "annexe")
        hits.append(
            SearchHit(
                acte_id=_first(doc, "acte_id"),
                siren=meta["siren"],
                score=round(score, 6),
                objet=objet,
                numero=_first(doc, "numero"),
                nature=meta.get("nature"),
                matiere_code=meta.get("matiere_code"),
                date_acte=meta.get("date_acte"),
                date_publication=meta.get("date_publication"),
                correspond_objet=matched_objet,
                extrait_objet=objet_snippet or Snippet(texte=objet),
                annexe_seule=annex_matched and not matched_objet and not main_matched,
                documents=documents,
            )
        )
    return hits


def _documents(doc: Any, meta: dict[str, Any], scope: Scope, generator: Any) -> list[MatchedDocument]:
    from tantivy import Document

    annex_texts = list(doc.get_all("texte_annexes")) if scope != "objet" else []
    main_text = _first(doc, "texte_acte") if scope != "objet" else None
    out = []
    annex_index = 0
    for info in meta.get("documents", []):
        snippet = None
        if info["role"] == "acte" and main_text:
            snippet = _snippet(generator("texte_acte").snippet_from_doc(doc))
        elif info["role"] == "annexe":
            text = annex_texts[annex_index] if annex_index < len(annex_texts) else ""
            annex_index += 1
            if text:
                single = Document()
                single.add_text("texte_annexes", text)
                snippet = _snippet(generator("texte_annexes").snippet_from_doc(single))
        out.append(
            MatchedDocument(
                document_id=info["document_id"],
                role=info["role"],
                nom=info["nom"],
                methode=info.get("methode"),
                correspond=snippet is not None,
                extrait=snippet,
            )
        )
    return out


def _snippet(snippet: Any) -> Snippet | None:
    """Engine snippet → characters offsets (the engine gives byte offsets); ``None`` without a match."""
    ranges = snippet.highlighted()
    if not ranges:
        return None
    fragment = snippet.fragment()
    raw = fragment.encode()
    marks = []
    for item in ranges:
        start = len(raw[: item.start].decode(errors="ignore"))
        end = len(raw[: item.end].decode(errors="ignore"))
        if end > start:
            marks.append((start, end))
    return Snippet(texte=fragment, surlignages=marks) if marks else None


def _first(doc: Any, field: str) -> Any:
    return doc.get_first(field)


# ------------------------------------------------------------------------------------ arguments
def _scope(in_: str) -> Scope:
    if in_ not in ("objet", "documents", "both"):
        raise SearchQueryError("in_invalide", "in : « objet », « documents » ou « both ».", "in")
    return in_  # type: ignore[return-value]


def _sirens(sirens: Sequence[str] | None, limits: SearchLimits) -> list[str] | None:
    if sirens is None:
        return None
    if isinstance(sirens, str):
        sirens = [sirens]
    values = sorted(set(sirens))
    if len(values) > limits.max_sirens:
        raise SearchQueryError("trop_de_siren", f"{limits.max_sirens} SIREN au plus.", "siren")
    for value in values:
        if not isinstance(value, str) or not _SIREN.fullmatch(value):
            raise SearchQueryError(
                "siren_invalide", f"SIREN invalide : {str(value)[:20]!r} (9 chiffres).", "siren"
            )
    return values


def _filters(filters: SearchFilters | None) -> SearchFilters:
    filters = filters or SearchFilters()
    for code in (filters.matiere, *filters.matieres):
        if code is not None and not _MATIERE.fullmatch(code):
            raise SearchQueryError("matiere_invalide", "matière : un code comme 7 ou 7.1.", "matiere")
    for name, start, end in (
        ("date_acte", filters.date_acte_debut, filters.date_acte_fin),
        ("date_publication", filters.date_publication_debut, filters.date_publication_fin),
    ):
        if start is not None and end is not None and start > end:
            raise SearchQueryError("dates_inversees", f"{name} : le début est après la fin.", name)
    return filters


def _fingerprint(q: str, scope: str, sirens: Sequence[str] | None, filters: SearchFilters, sort: str) -> str:
    payload = json.dumps([q, scope, sirens, filters.model_dump(mode="json"), sort], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _encode_cursor(offset: int, fingerprint: str) -> str:
    raw = json.dumps({"o": offset, "f": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str | None, fingerprint: str, limits: SearchLimits) -> int:
    if cursor is None or cursor == "":
        return 0
    error = SearchQueryError("curseur_invalide", "Curseur invalide ou d’une autre recherche.", "cursor")
    if not isinstance(cursor, str) or len(cursor) > 200:
        raise error
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset, found = data["o"], data["f"]
    except (ValueError, KeyError, TypeError) as exc:
        raise error from exc
    if found != fingerprint or not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise error
    if offset > limits.max_offset:
        raise SearchQueryError(
            "page_trop_lointaine", f"Au-delà des {limits.max_offset} premiers résultats : affinez.", "cursor"
        )
    return offset


__all__ = [
    "MatchedDocument",
    "SearchFilters",
    "SearchHit",
    "SearchLimits",
    "SearchResult",
    "ShardSet",
    "Snippet",
    "from_days",
    "search",
]
