"""frformat quirks: our nomenclature-acte and SIRET rules against frformat 0.4.1 itself (what validata-table
0.12.5 calls), on label variants spreadsheets and ERPs produce (case, accents, decomposed accents, spaces)."""

from __future__ import annotations

import itertools
import unicodedata

import pytest

from regate.scdl.validator import nomenclature_actes_errors, siret_is_valid

PREFIXES = [
    "Commande publique",
    "Urbanisme",
    "Domaine et patrimoine",
    "Fonction publique",
    "Institutions et vie politique",
    "Libertés publiques et pouvoirs de police",
    "Finances locales",
    "Domaines de compétences par thèmes",
    "Autres domaines de compétences",
    "Culture",
    "",
]
TRANSFORMS = {
    "same": lambda s: s,
    "upper": str.upper,
    "lower": str.lower,
    "title": str.title,
    "unaccented": lambda s: "".join(
        c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn"
    ),
    "nfd": lambda s: unicodedata.normalize("NFD", s),
    "trailing_space": lambda s: s + " ",
    "leading_space": lambda s: " " + s,
    "nbsp": lambda s: s.replace(" ", "\u00a0"),
    "double_space": lambda s: s.replace(" ", "  ", 1),
    "circumflex": lambda s: s.replace("e", "ê", 1),
    "cedilla": lambda s: s.replace("c", "ç", 1),
}
SUFFIXES = ["/marchés publics", "/ marchés publics", "/", "//x", "/a / b", "", " /x", "\t/x"]


def variants() -> list[str]:
    return [t(p) + s for p, t, s in itertools.product(PREFIXES, TRANSFORMS.values(), SUFFIXES)]


def test_nomenclature_acte_same_verdict_and_details_as_frformat() -> None:
    frformat = pytest.importorskip("frformat.nomenclature_acte_format")
    checker = frformat.NomenclatureActe()
    values = variants()
    assert len(values) > 900
    for value in values:
        valid, details = checker.is_valid_with_details(value)
        ours = nomenclature_actes_errors(value)
        assert (ours is None) == valid, value
        if not valid:
            assert ours == ", ".join(details), value


def test_siret_same_verdict_as_frformat() -> None:
    frformat = pytest.importorskip("frformat.siret")
    checker = frformat.Siret()
    base = ["21860194600013", "35600000049837", "35600000049839", "21860194600014", "00000000000000"]
    values = base + [b.replace("0", " ", 1) for b in base] + [b[:13] for b in base] + [b + "0" for b in base]
    values += ["2186019460001A", "218 601 946 00013", "21860194600013 ", "２１８６０１９４６０００１３"]
    for value in values:
        assert siret_is_valid(value) == bool(checker.is_valid(value)), value
