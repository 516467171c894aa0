"""ACTES classification parsing and the SCDL rendering of DELIB_MATIERE_NOM (scdl.md §1.4–1.5)."""

from __future__ import annotations

import pytest

from regate.actes.nomenclature import (
    NIVEAU1,
    NIVEAU2,
    SCDL_NIVEAU2,
    Classification,
    matiere_code,
    matiere_nom,
    parse_classification,
)
from regate.scdl.validator import nomenclature_actes_errors


@pytest.mark.parametrize(
    ("raw", "code", "niveau2", "libelle"),
    [
        ("8.5", "8.5", "8.5", None),
        (
            "8.5 Politique de la ville-habitat-logement",
            "8.5",
            "8.5",
            "Politique de la ville-habitat-logement",
        ),
        ("1.1.2", "1.1.2", "1.1", None),
        ("1.1.2 Marchés de travaux", "1.1.2", "1.1", "Marchés de travaux"),
        (" 7.10 Divers", "7.10", "7.10", "Divers"),
        ("7.5.0", "7.5.0", "7.5", None),
        (
            "9.1   Autres  domaines\tde compétences des communes",
            "9.1",
            "9.1",
            "Autres domaines de compétences des communes",
        ),
        ("2.1-Documents d'urbanisme", "2.1", "2.1", "Documents d'urbanisme"),
        ("8.4.1.2.3", "8.4.1.2.3", "8.4", None),
    ],
)
def test_parse_classification(raw: str, code: str, niveau2: str, libelle: str | None) -> None:
    assert parse_classification(raw) == Classification(code=code, niveau2=niveau2, libelle=libelle)


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n"])
def test_parse_classification_empty_is_none(raw: str | None) -> None:
    assert parse_classification(raw) is None


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("Marchés publics", "illisible"),
        ("8", "illisible"),
        ("8.", "illisible"),
        ("7..5", "illisible"),
        ("a.b", "illisible"),
        ("7.11", "7.11"),
        ("1.8 Autre", "1.8"),
        ("0.1", "inconnue"),
        ("12.1", "inconnue"),
    ],
)
def test_parse_classification_rejects_garbage_with_french_message(raw: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="classification ACTES") as caught:
        parse_classification(raw)
    assert fragment in str(caught.value)


def test_tables_cover_scdl_codes() -> None:
    expected = {
        "1": 7,
        "2": 3,
        "3": 6,
        "4": 5,
        "5": 8,
        "6": 5,
        "7": 10,
        "8": 9,
        "9": 4,
    }
    counts: dict[str, int] = {}
    for code in NIVEAU2:
        counts[code.split(".")[0]] = counts.get(code.split(".")[0], 0) + 1
    assert counts == expected
    assert set(NIVEAU1) == set(expected)
    assert set(SCDL_NIVEAU2) == set(NIVEAU2)
    assert NIVEAU1["1"] == "Commande publique"
    assert NIVEAU2["1.1"] == "Marchés publics"


@pytest.mark.parametrize(
    ("code", "nom"),
    [
        ("1.1", "commande publique/marchés publics"),
        ("7.5", "finances locales/subventions"),
        ("8.4", "domaines de compétences par thèmes/aménagement du territoire"),
        ("5.3", "institutions et vie politique/désignation de représentants"),
        ("1.5", "commande publique/transactions protocole d'accord transactionnel"),
        ("5.1", "institutions et vie politique/élection exécutif"),
        ("7.1", "finances locales/décisions budgétaires"),
        ("7.9", "finances locales/prise de participation"),
        ("7.10", "finances locales/divers"),
        ("9.4", "autres domaines de compétences/vœux et motions"),
    ],
)
def test_matiere_nom_examples(code: str, nom: str) -> None:
    assert matiere_nom(code) == nom


@pytest.mark.parametrize("code", list(NIVEAU2))
def test_every_rendering_follows_the_schema_rule_and_passes_the_check(code: str) -> None:
    nom = matiere_nom(code)
    assert nom == nom.lower()
    assert nom.count("/") == 1
    assert not any(char in nom for char in ",()")
    assert nom.startswith(NIVEAU1[code.split(".")[0]].lower() + "/")
    assert nomenclature_actes_errors(nom) is None


@pytest.mark.parametrize("code", ["1.8", "7.11", "", "x", "1.1.2"])
def test_matiere_nom_unknown_code(code: str) -> None:
    with pytest.raises(KeyError):
        matiere_nom(code)


def test_matiere_code() -> None:
    assert matiere_code("1.1.2 Marchés") == "1.1"
    assert matiere_code("") is None
