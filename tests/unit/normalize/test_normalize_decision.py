"""The publication decision: code tables, defaults by nature, switches, operator overrides."""

from __future__ import annotations

import pytest

from regate.normalize.decision import (
    CollectiviteSwitches,
    code_table_from_flux_definition,
    decide,
    megalis_code_table,
    parse_overrides,
)

STUDIO = code_table_from_flux_definition(
    {"publication_open_data": {"type": "select", "value": {"0": "Ne sais pas", "1": "oui", "2": "non"}}}
)


def d(nature=1, value=None, table=None, switches=None, overrides=None, id_d="Xk3P9aQ", numero="DEL1"):
    return decide(
        siren="213502388",
        id_d=id_d,
        numero=numero,
        nature=nature,
        publication_open_data=value,
        code_table=table,
        switches=switches,
        overrides=overrides,
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


def test_normalize_acte_individuel_private_by_default():
    result = d(nature=3)
    assert result.decision == "retenir" and result.motif == "acte_individuel_prive_par_defaut"
    assert not result.public and not result.documents_publics


@pytest.mark.parametrize(
    ("code", "expected"),
    [("3", "publier"), ("1", "retenir"), ("2", "a_statuer"), ("0", "publier"), ("9", "a_statuer")],
)
def test_normalize_megalis_fallback_table(code, expected):
    result = d(value=code)
    assert result.decision == expected and result.source == "pastell_table_megalis"


@pytest.mark.parametrize(("code", "expected"), [("1", "publier"), ("2", "retenir"), ("0", "a_statuer")])
def test_normalize_flux_definition_table_wins(code, expected):
    result = d(value=code, table=STUDIO)
    assert result.decision == expected and result.source == "pastell"
    assert d(value="3", table=STUDIO).motif == "publication_open_data_inconnu"


def test_normalize_code_table_parsing_is_defensive():
    assert code_table_from_flux_definition(None) is None
    assert code_table_from_flux_definition({"publication_open_data": "x"}) is None
    assert code_table_from_flux_definition({"publication_open_data": {"value": {}}}) is None
    assert code_table_from_flux_definition({"acte_nature": {"value": {"1": "D"}}}) is None
    assert megalis_code_table().values["3"] == "oui"
    odd = code_table_from_flux_definition({"publication_open_data": {"value": {"a": "peut-être"}}})
    assert d(value="a", table=odd).motif == "publication_open_data_libelle_inconnu"


def test_normalize_collectivite_switches():
    assert d(switches=CollectiviteSwitches(open_data=False)).decision == "retenir"
    docs_off = d(value="3", switches=CollectiviteSwitches(documents=False))
    assert docs_off.decision == "metadonnees" and docs_off.public and not docs_off.documents_publics
    assert d(switches=CollectiviteSwitches(annexes=False)).annexes_publiques is False
    assert d(switches=CollectiviteSwitches(open_data=True, documents=True)).decision == "publier"
    assert d(nature=3, switches=CollectiviteSwitches(documents=False)).decision == "retenir"


def test_normalize_overrides_parse_and_apply():
    data = (
        "\ufeffsiren;id_d;numero;decision;motif\n"
        "213502388;Xk3P9aQ;;retenir;donnees_personnelles\n"
        "213502388;;DEL9;Métadonnées;erreur\n"
        "21350238;;DEL1;publier;x\n"  # bad siren
        "213502388;;;publier;x\n"  # no act
        "213502388;Y;;tout;x\n"  # bad decision
        "213502388;Z;;publier;\n"  # no motif
        "213502388;Xk3P9aQ;;publier;correction\n"  # duplicate: later line wins
    ).encode()
    overrides, problems = parse_overrides(data)
    assert [p.code for p in problems] == [
        "siren_invalide",
        "acte_absent",
        "decision_invalide",
        "motif_absent",
        "doublon",
    ]
    by_id = d(overrides=overrides)
    assert by_id.decision == "publier" and by_id.source == "override" and by_id.detail == "correction"
    by_numero = d(overrides=overrides, id_d="other", numero="DEL9", nature=3)
    assert by_numero.decision == "metadonnees" and by_numero.motif == "surcharge_operateur"
    assert d(overrides=overrides, id_d="other", numero="nope").source == "nature"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xfe\x00garbage",
        b"siren,decision\n1,2\n",
        b"foo\n",
        b'siren,id_d,decision,motif\n"unterminated',
    ],
)
def test_normalize_overrides_malformed_never_raise(data):
    overrides, problems = parse_overrides(data)
    assert overrides.by_id_d == {} and overrides.by_numero == {}
    assert data == b"" or problems


def test_normalize_overrides_four_columns():
    overrides, problems = parse_overrides(b"siren,numero,decision,motif\n213502388,DEL1,a_statuer,verif\n")
    assert problems == [] and d(overrides=overrides).decision == "a_statuer"
