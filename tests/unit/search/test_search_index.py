"""The French index and the query function over local shards: analysis, matched documents, filters,
paging, ranking, public-only entries and hostile arguments."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from regate.search.documents import NonPublic
from regate.search.engine import SearchFilters, SearchLimits, search
from regate.search.index import IndexedDocument, IndexEntry, ShardWriter, matiere_path, shard_of
from regate.search.query import SearchQueryError
from regate.search.remote import LocalShards

SHARDS = 4


def _doc(document_id: str, role: str, texte: str, **extra: object) -> IndexedDocument:
    return IndexedDocument(
        document_id=document_id,
        role=role,
        nom=f"{document_id}.pdf",
        texte=texte,
        annexe_publique=role == "annexe",
        **extra,
    )


ENTRIES = [
    IndexEntry(
        acte_id="a1",
        siren="200000001",
        decision="publier",
        objet="Tarifs de la cantine scolaire de l’école élémentaire",
        numero="2024-0012",
        nature=1,
        matiere_code="7.1",
        date_acte=date(2024, 3, 1),
        date_publication=date(2024, 3, 10),
        documents=(
            _doc("d1", "acte", "Le conseil approuve les tarifs. Le mot xylophonique n’est que dans ce PDF."),
            _doc("d2", "annexe", "Grille des tarifs par quotient familial."),
            _doc("d3", "annexe", "L’ornithorynque n’apparaît que dans l’annexe scannée.", methode="ocr"),
        ),
    ),
    IndexEntry(
        acte_id="a2",
        siren="200000001",
        decision="metadonnees",
        objet="Marché public de travaux de voirie — Ille-et-Vilaine",
        nature=4,
        matiere_code="1.1",
        date_acte=date(2023, 5, 1),
    ),
    IndexEntry(
        acte_id="a3",
        siren="200000002",
        decision="publier",
        objet="Rénovation énergétique des écoles",
        nature=1,
        matiere_code="7.10",
        date_acte=date(2022, 1, 1),
        documents=(_doc("d4", "acte", "Les œuvres d’art de la cantine seront exposées."),),
    ),
]


@pytest.fixture()
def shards(tmp_path: Path) -> LocalShards:
    for entry in ENTRIES:
        ShardWriter(tmp_path / shard_of(entry.siren, SHARDS)).apply([entry])
    return LocalShards(tmp_path, SHARDS)


def _ids(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [hit.acte_id for hit in result.hits]


def test_word_only_inside_the_pdf_is_found_with_snippet_and_document(shards: LocalShards) -> None:
    result = search(shards, "xylophonique")
    assert result.total == 1 and _ids(result) == ["a1"]
    hit = result.hits[0]
    assert not hit.correspond_objet and not hit.annexe_seule
    flags = {d.document_id: d.correspond for d in hit.documents}
    assert flags == {"d1": True, "d2": False, "d3": False}
    assert "<mark>xylophonique</mark>" in hit.documents[0].extrait.html


def test_word_only_in_a_scanned_annex_returns_its_act_with_the_annex_flagged(shards: LocalShards) -> None:
    hit = search(shards, "ornithorynque").hits[0]
    assert hit.acte_id == "a1" and hit.annexe_seule
    matched = [d for d in hit.documents if d.correspond]
    assert [(d.document_id, d.role, d.methode) for d in matched] == [("d3", "annexe", "ocr")]
    snippet = matched[0].extrait
    start, end = snippet.surlignages[0]
    assert snippet.texte[start:end] == "ornithorynque"


def test_accents_case_plural_and_elision(shards: LocalShards) -> None:
    assert set(_ids(search(shards, "ECOLE", in_="objet"))) == {"a1", "a3"}
    assert set(_ids(search(shards, "écoles"))) == {"a1", "a3"}
    assert _ids(search(shards, "oeuvre")) == ["a3"]
    assert _ids(search(shards, "energetiques")) == ["a3"]
    assert _ids(search(shards, "l'école élémentaire")) == ["a1"]


def test_phrase_prefix_exclusion_and_numero(shards: LocalShards) -> None:
    assert _ids(search(shards, '"cantine scolaire"')) == ["a1"]
    assert _ids(search(shards, '"scolaire cantine"')) == []
    assert set(_ids(search(shards, "cant*"))) == {"a1", "a3"}
    assert _ids(search(shards, "cantine -tarif")) == ["a3"]
    assert _ids(search(shards, "Ille-et-Vilaine")) == ["a2"]
    assert _ids(search(shards, "2024-0012")) == ["a1"]
    hit = search(shards, "cant*", in_="objet").hits[0]
    assert "<mark>cantine</mark>" in hit.extrait_objet.html


def test_phrase_never_spans_two_annexes(tmp_path: Path) -> None:
    entry = IndexEntry(
        acte_id="b1",
        siren="200000003",
        decision="publier",
        objet="Convention",
        documents=(_doc("x1", "annexe", "se termine par marché"), _doc("x2", "annexe", "public au début")),
    )
    ShardWriter(tmp_path / shard_of(entry.siren, SHARDS)).apply([entry])
    local = LocalShards(tmp_path, SHARDS)
    assert search(local, '"marché public"').total == 0
    assert search(local, "marché public").total == 1


def test_scope(shards: LocalShards) -> None:
    assert _ids(search(shards, "cantine", in_="documents")) == ["a3"]
    assert _ids(search(shards, "xylophonique", in_="objet")) == []
    objet_only = search(shards, "tarifs", in_="objet").hits[0]
    assert objet_only.correspond_objet and not any(d.correspond for d in objet_only.documents)


def test_ranking_prefers_the_objet(shards: LocalShards) -> None:
    result = search(shards, "cantine")
    assert _ids(result)[0] == "a1"  # in the objet (boosted) beats a mention in a document
    assert result.hits[0].score > result.hits[1].score


def test_filters(shards: LocalShards) -> None:
    assert _ids(search(shards, "école", filters=SearchFilters(matiere="7.1"))) == ["a1"]
    assert _ids(search(shards, "école", filters=SearchFilters(matiere="7"))) != []
    assert _ids(search(shards, "école", filters=SearchFilters(matiere="7.10"))) == ["a3"]
    assert _ids(search(shards, "école", sirens=["200000002"])) == ["a3"]
    assert _ids(search(shards, "marché", filters=SearchFilters(natures=(4,)))) == ["a2"]
    assert _ids(search(shards, "marché", filters=SearchFilters(natures=(1,)))) == []
    dates = SearchFilters(date_acte_debut=date(2024, 1, 1), date_acte_fin=date(2024, 12, 31))
    assert _ids(search(shards, "école", filters=dates)) == ["a1"]
    published = SearchFilters(date_publication_debut=date(2024, 3, 10))
    assert _ids(search(shards, "école", filters=published)) == ["a1"]


def test_paging_with_cursor_and_date_sort(tmp_path: Path) -> None:
    entries = [
        IndexEntry(
            acte_id=f"p{i}",
            siren=f"2000001{i:02d}",
            decision="publier",
            objet=f"Subvention à l’association numéro {i}",
            date_acte=date(2020, 1, 1 + i),
        )
        for i in range(25)
    ]
    for entry in entries:
        ShardWriter(tmp_path / shard_of(entry.siren, SHARDS)).apply([entry])
    local = LocalShards(tmp_path, SHARDS)
    seen, cursor = [], None
    while True:
        page = search(local, "subvention", limit=10, cursor=cursor)
        assert page.total == 25
        seen += _ids(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(e.acte_id for e in entries) and len(seen) == 25
    by_date = search(local, "subvention", limit=3, sort="date")
    assert _ids(by_date) == ["p24", "p23", "p22"]
    with pytest.raises(SearchQueryError) as caught:
        search(local, "association", cursor=search(local, "subvention", limit=3).next_cursor)
    assert caught.value.code == "curseur_invalide"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"q": '"cantine'}, "guillemets_desequilibres"),
        ({"q": "le la les de"}, "mots_trop_courants"),
        ({"q": "cantine", "in_": "tout"}, "in_invalide"),
        ({"q": "cantine", "limit": 0}, "limite_invalide"),
        ({"q": "cantine", "limit": 101}, "limite_invalide"),
        ({"q": "cantine", "limit": True}, "limite_invalide"),
        ({"q": "cantine", "sirens": ["12345"]}, "siren_invalide"),
        ({"q": "cantine", "sirens": ["200000001\n"]}, "siren_invalide"),
        ({"q": "cantine", "cursor": "!!!"}, "curseur_invalide"),
        ({"q": "cantine", "cursor": "eyJvIjotMSwiZiI6IngifQ"}, "curseur_invalide"),
        ({"q": "cantine", "cursor": "x" * 500}, "curseur_invalide"),
        ({"q": "cantine", "sort": "hasard"}, "tri_invalide"),
        ({"q": "cantine", "filters": SearchFilters(matiere="7.*")}, "matiere_invalide"),
        (
            {
                "q": "cantine",
                "filters": SearchFilters(date_acte_debut=date(2024, 2, 1), date_acte_fin=date(2024, 1, 1)),
            },
            "dates_inversees",
        ),
    ],
)
def test_hostile_arguments_are_422(shards: LocalShards, kwargs: dict, code: str) -> None:
    with pytest.raises(SearchQueryError) as caught:
        search(shards, **kwargs)
    assert caught.value.code == code and caught.value.status == 422


def test_deep_paging_is_bounded(shards: LocalShards) -> None:
    from regate.search.engine import _encode_cursor, _fingerprint

    cursor = _encode_cursor(5000, _fingerprint("cantine", "both", None, SearchFilters(), "pertinence"))
    with pytest.raises(SearchQueryError) as caught:
        search(shards, "cantine", cursor=cursor, limits=SearchLimits(max_offset=1000))
    assert caught.value.code == "page_trop_lointaine"


def test_engine_syntax_in_user_text_is_inert(shards: LocalShards) -> None:
    for q in ["objet:cantine", "cantine^100", "cantine~2", "[a TO z]", "acte_id:a1", "siren:200000002"]:
        search(shards, q)  # no engine error, no field access


def test_withheld_acts_and_private_documents_are_refused() -> None:
    base = {"acte_id": "w1", "siren": "200000009", "objet": "Arrêté individuel"}
    for decision in ("retenir", "a_statuer", None, "PUBLIER"):
        with pytest.raises(NonPublic):
            IndexEntry.declare(decision=decision, **base)
        with pytest.raises(ValueError):
            IndexEntry(decision=decision, **base)
    with pytest.raises(NonPublic):
        IndexEntry.declare(decision="metadonnees", documents=(_doc("z", "acte", "texte"),), **base)
    with pytest.raises(ValueError):
        IndexedDocument(document_id="z", role="annexe", nom="z.pdf", texte="privé", annexe_publique=False)


def test_matiere_path_and_shards() -> None:
    assert matiere_path("7.1.2") == ["7", "7.1", "7.1.2"]
    assert shard_of("200000001", 16) == shard_of("200000001", 16)
    assert {shard_of(f"2000{i:05d}", 16) for i in range(500)} == {f"{n:02d}" for n in range(16)}
