"""The publication decision: code tables (fail closed), defaults by nature, switches, operator overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from regate.normalize.decision import (
    CollectiviteSwitches,
    code_table_from_flux_definition,
    decide,
    megalis_code_table,
    normalize_numero,
    parse_decision,
    parse_overrides,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "normalize"
STUDIO = code_table_from_flux_definition(
    {"publication_open_data": {"type": "select", "value": {"0": "Ne sais pas", "1": "oui", "2": "non"}}}
)
ZERO_IS_OUI = code_table_from_flux_definition({"publication_open_data": {"value": {"0": "Oui", "1": "Non"}}})
FALLBACK = megalis_code_table()


def d(nature=1, value=None, table=None, switches=None, overrides=None, id_d="Xk3P9aQ", numero="DEL1", **kw):
    return decide(
        siren="213502388",
        id_d=id_d,
        numero=numero,
        nature=nature,
        publication_open_data=value,
        code_table=table,
        switches=switches,
        overrides=overrides,
        **kw,
    )


@pytest.mark.parametrize(
    ("nature", "expected"),
    [
        (1, "publier"),
        (2, "publier"),
        (5, "publier"),
        (3, "retenir"),
        (6, "retenir"),
        (4, "a_statuer"),
        (7, "a_statuer"),
    ],
)
def test_normalize_defaults_by_nature(nature, expected):
    result = d(nature=nature, value="")
    assert result.decision == expected and result.source == "nature"
    assert d(nature=nature, value=None).decision == expected
    assert d(nature=nature, value="  ", table=STUDIO).decision == expected


def test_normalize_acte_individuel_private_by_default():
    result = d(nature=3)
    assert result.decision == "retenir" and result.motif == "acte_individuel_prive_par_defaut"
    assert not result.public and not result.documents_publics


@pytest.mark.parametrize("code", ["3", "1", "0", "2", "oui", "Oui", "9"])
@pytest.mark.parametrize("nature", [1, 3, 5])
def test_normalize_no_flux_definition_is_table_absente(code, nature):
    """Pulled act whose definition could not be read, or depot ZIP without one: never guessed."""
    result = d(nature=nature, value=code, table=None)
    assert (result.decision, result.motif, result.detail) == ("a_statuer", "table_absente", code)
    assert not result.public


@pytest.mark.parametrize(
    ("code", "expected", "motif"),
    [
        ("3", "publier", "pastell_oui"),
        ("1", "retenir", "pastell_non"),
        ("2", "a_statuer", "pastell_ne_sais_pas"),
        ("0", "a_statuer", "publication_open_data_inconnu"),  # "0" is no longer "oui" anywhere
        ("9", "a_statuer", "publication_open_data_inconnu"),
        ("oui", "a_statuer", "publication_open_data_inconnu"),  # only the explicit code in a fallback
    ],
)
def test_normalize_fallback_table_only_code_3_publishes(code, expected, motif):
    result = d(value=code, table=FALLBACK)
    assert (result.decision, result.motif, result.source) == (expected, motif, "pastell_table_megalis")


@pytest.mark.parametrize("nature", [3, 6])
def test_normalize_actes_individuels_never_published_from_a_fallback(nature):
    result = d(nature=nature, value="3", table=FALLBACK)
    assert result.decision == "a_statuer" and result.motif == f"nature_{nature}_table_par_defaut"
    assert (
        d(nature=nature, value="3", table=FALLBACK, switches=CollectiviteSwitches(documents=True)).public
        is False
    )
    # an explicit choice in the flux's own table is honoured (the collectivité said "oui")
    assert d(nature=nature, value="1", table=STUDIO).decision == "publier"


@pytest.mark.parametrize(("code", "expected"), [("1", "publier"), ("2", "retenir"), ("0", "a_statuer")])
def test_normalize_flux_definition_table_wins(code, expected):
    result = d(value=code, table=STUDIO)
    assert result.decision == expected and result.source == "pastell"
    assert d(value="3", table=STUDIO).motif == "publication_open_data_inconnu"
    assert d(value="Oui", table=STUDIO).decision == "publier"  # the label itself, read through the table


@pytest.mark.parametrize("nature", [1, 2, 5])
def test_normalize_code_0_never_publishes_even_when_a_table_says_oui(nature):
    result = d(nature=nature, value="0", table=ZERO_IS_OUI)
    assert (result.decision, result.motif) == ("a_statuer", "code_0_ambigu")
    assert d(nature=nature, value="1", table=ZERO_IS_OUI).decision == "retenir"


def test_normalize_code_table_parsing_is_defensive():
    assert code_table_from_flux_definition(None) is None
    assert code_table_from_flux_definition({"publication_open_data": "x"}) is None
    assert code_table_from_flux_definition({"publication_open_data": {"value": {}}}) is None
    assert code_table_from_flux_definition({"acte_nature": {"value": {"1": "D"}}}) is None
    assert FALLBACK.values == {"3": "oui", "1": "non", "2": "ne sais pas"}
    odd = code_table_from_flux_definition({"publication_open_data": {"value": {"a": "peut-être"}}})
    assert d(value="a", table=odd).motif == "publication_open_data_libelle_inconnu"


def test_normalize_unreadable_operator_file_blocks_every_decision():
    for kwargs in ({}, {"value": "1", "table": STUDIO}, {"nature": 3}):
        result = d(blocked="config_collectivites_illisible", **kwargs)
        assert (result.decision, result.source) == ("a_statuer", "config")


def test_normalize_collectivite_switches():
    assert d(switches=CollectiviteSwitches(open_data=False)).decision == "retenir"
    docs_off = d(value="3", table=FALLBACK, switches=CollectiviteSwitches(documents=False))
    assert docs_off.decision == "metadonnees" and docs_off.public and not docs_off.documents_publics
    assert d(switches=CollectiviteSwitches(annexes=False)).annexes_publiques is False
    assert d(switches=CollectiviteSwitches(open_data=True, documents=True)).decision == "publier"
    assert d(nature=3, switches=CollectiviteSwitches(documents=False)).decision == "retenir"


def test_normalize_numero_and_decision_spellings():
    assert normalize_numero(" del 2024_012. ") == normalize_numero("DEL2024_012") == "DEL2024_012"
    assert normalize_numero("DEL2024_012") != normalize_numero("DEL2024_0120")
    assert [parse_decision(v) for v in ("Retenir.", "Métadonnées", "à statuer", "A-STATUER", "oui")] == [
        "retenir",
        "metadonnees",
        "a_statuer",
        "a_statuer",
        None,
    ]


def test_normalize_overrides_spellings_and_numero_matching():
    overrides, problems = parse_overrides((FIXTURES / "overrides_spellings.csv").read_bytes())
    assert {(p.code, p.severity) for p in problems} == {
        ("semicolon_separator", "warning"),
        ("motif_absent", "warning"),
        ("doublon", "warning"),
    }
    by_id = d(overrides=overrides)  # the later line for Xk3P9aQ wins
    assert (by_id.decision, by_id.source, by_id.detail) == ("a_statuer", "override", "relecture")
    by_numero = d(overrides=overrides, id_d="other", numero="DEL2024_013", nature=3)
    assert by_numero.decision == "metadonnees" and by_numero.motif == "surcharge_operateur"
    assert d(overrides=overrides, id_d="o", numero="del2024_014").decision == "a_statuer"
    assert d(overrides=overrides, id_d="o", numero="DEL2024_015").detail == "non_precise"
    assert d(overrides=overrides, id_d="other", numero="nope").source == "nature"
    assert d(overrides=overrides, id_d="Xk3P9aQ", numero="x").source == "override"
    assert {o.line for o in overrides.all()} == {3, 4, 5, 6}


def test_normalize_overrides_cp1252_from_excel_is_read():
    overrides, problems = parse_overrides((FIXTURES / "overrides_cp1252.csv").read_bytes())
    assert [p.code for p in problems] == ["cp1252"]
    result = d(overrides=overrides, id_d="z", numero="DEL2024_012")
    assert result.decision == "retenir" and result.detail == "donnée_personnelle_élève"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("overrides_nul.csv", "nul_byte"),
        ("overrides_unbalanced_quote.csv", "csv_syntax"),
        ("overrides_shifted.csv", "too_many_fields"),
        ("overrides_bad_lines.csv", "siren_invalide"),
    ],
)
def test_normalize_damaged_overrides_refuse_the_whole_file(name, code):
    """A retenir line next to damage is never "skipped": the file is refused (caller keeps its last good)."""
    overrides, problems = parse_overrides((FIXTURES / name).read_bytes())
    assert overrides.by_id_d == {} and overrides.by_numero == {}
    assert code in {p.code for p in problems if p.severity == "error"}


def test_normalize_bad_lines_are_all_reported():
    _, problems = parse_overrides((FIXTURES / "overrides_bad_lines.csv").read_bytes())
    assert [(p.line, p.code) for p in problems] == [
        (2, "siren_invalide"),
        (3, "acte_absent"),
        (4, "decision_invalide"),
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xfe\x00garbage",
        b"siren,decision\n1,2\n",
        b"foo\n",
        b'siren,id_d,decision,motif\n"unterminated',
        b"\x81\x8d\x8f",
    ],
)
def test_normalize_overrides_malformed_never_raise(data):
    overrides, problems = parse_overrides(data)
    assert overrides.by_id_d == {} and overrides.by_numero == {}
    assert data == b"" or any(p.severity == "error" for p in problems)


def test_normalize_overrides_four_columns():
    overrides, problems = parse_overrides(b"siren,numero,decision,motif\n213502388,DEL1,a_statuer,verif\n")
    assert problems == [] and d(overrides=overrides).decision == "a_statuer"
