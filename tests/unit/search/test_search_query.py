"""The search box language: what is understood, and every hostile input refused with a clear 422."""

from __future__ import annotations

import pytest

from regate.search.query import Clause, QueryLimits, SearchQueryError, parse_query


def test_words_phrases_prefixes_and_exclusions() -> None:
    parsed = parse_query('«cantine scolaire» rest* -piscine -"marché public" école')
    assert parsed.clauses == (
        Clause("expression", "cantine scolaire"),
        Clause("prefixe", "rest"),
        Clause("mot", "piscine", exclue=True),
        Clause("expression", "marché public", exclue=True),
        Clause("mot", "école"),
    )


def test_punctuation_is_text_not_syntax() -> None:
    parsed = parse_query("objet:(cantine) ^ ~ [école] {x} \\ / !")
    assert [c.text for c in parsed.clauses] == ["objet:(cantine)", "[école]", "{x}"]
    assert parse_query("a - b").clauses == (Clause("mot", "a"), Clause("mot", "b"))


@pytest.mark.parametrize(
    ("q", "code"),
    [
        ('"cantine', "guillemets_desequilibres"),
        ('cantine "scolaire" "', "guillemets_desequilibres"),
        ("«cantine", "guillemets_desequilibres"),
        ("ca*", "prefixe_trop_court"),
        ("l'*", "prefixe_invalide"),
        ("*cantine", "joker_invalide"),
        ("can*tine", "joker_invalide"),
        ("cant**", "joker_invalide"),
        ('"cant* scolaire"', "joker_dans_expression"),
        ("cantine OR école", "operateur_non_pris_en_charge"),
        ("cantine AND école", "operateur_non_pris_en_charge"),
        ("NOT cantine", "operateur_non_pris_en_charge"),
        ("cantine || école", "operateur_non_pris_en_charge"),
        ("-cantine", "aucun_terme_positif"),
        ('-"marché public"', "aucun_terme_positif"),
        ("", "requete_vide"),
        ("   ", "requete_vide"),
        ("::: ,,, !!!", "requete_vide"),
        ("x" * 501, "requete_trop_longue"),
        (" ".join(["mot"] * 25), "trop_de_termes"),
        ("cantine\x00", "caracteres_interdits"),
        ("cantine\u202e", "caracteres_interdits"),
        ("cantine\x1b[31m", "caracteres_interdits"),
    ],
)
def test_hostile_queries_are_422_with_a_french_message(q: str, code: str) -> None:
    with pytest.raises(SearchQueryError) as caught:
        parse_query(q)
    assert caught.value.code == code
    assert caught.value.status == 422
    assert caught.value.message and caught.value.body()["parametre"] == "q"


def test_not_a_string() -> None:
    with pytest.raises(SearchQueryError) as caught:
        parse_query(["cantine"])
    assert caught.value.code == "requete_invalide"


def test_limits_are_settings() -> None:
    limits = QueryLimits(max_chars=20, max_terms=2, min_prefix_chars=5)
    with pytest.raises(SearchQueryError):
        parse_query("cant*", limits)
    with pytest.raises(SearchQueryError):
        parse_query("un deux trois", limits)
    assert parse_query("canti*", limits).clauses == (Clause("prefixe", "canti"),)
