"""The fast validator, rule by rule: types, constraints, header, the 11 custom checks and bad input."""

from __future__ import annotations

import json

import pytest

from regate.scdl.deliberations import SCDL_DELIBERATIONS_COLUMNS
from regate.scdl.schema import bundled_schemas, load_schema, parse_schema
from regate.scdl.validator import (
    ValidationIssue,
    nomenclature_actes_errors,
    siret_is_valid,
    validate_csv,
    validate_deliberations_csv,
)

COLS = list(SCDL_DELIBERATIONS_COLUMNS)
GOOD = {
    "COLL_NOM": "Ville de Poitiers",
    "COLL_SIRET": "21860194600013",
    "DELIB_ID": "1DL15494",
    "DELIB_DATE": "2017-10-15",
    "DELIB_MATIERE_CODE": "8.4",
    "DELIB_MATIERE_NOM": "domaines de compétences par thèmes/aménagement du territoire",
    "DELIB_OBJET": "Objet",
    "BUDGET_ANNEE": "2017/2018",
    "BUDGET_NOM": "Budget annexe",
    "PREF_ID": "PREF086",
    "PREF_DATE": "2017-10-20",
    "VOTE_EFFECTIF": "43",
    "VOTE_REEL": "40",
    "VOTE_POUR": "25",
    "VOTE_CONTRE": "10",
    "VOTE_ABSTENTION": "5",
    "DELIB_URL": "https://data.example.org/a.pdf",
}


def csv_bytes(*rows: dict[str, str], cols: list[str] | None = None, sep: str = ",") -> bytes:
    cols = cols or COLS
    lines = [sep.join(cols)]
    lines += [sep.join({**GOOD, **row}.get(c, "x") for c in cols) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def issues(data: bytes, strict: bool = True) -> set[tuple[int | None, str | None, str]]:
    report = validate_deliberations_csv(data, strict=strict)
    assert report.valid == (not report.errors)
    return {(i.row, i.column, i.code) for i in report.errors}


def test_valid_file() -> None:
    report = validate_deliberations_csv(csv_bytes({}, {"DELIB_ID": "2"}))
    assert report.valid
    assert report.rows == 2
    assert report.errors == [] and report.warnings == []
    assert "valide" in report.summary()


# --- types and constraints --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"DELIB_DATE": "15/10/2017"}, {(2, "DELIB_DATE", "type-error")}),
        ({"DELIB_DATE": "2017-02-30"}, {(2, "DELIB_DATE", "type-error")}),
        (
            {"COLL_SIRET": "2186019460001"},
            {(2, "COLL_SIRET", "constraint-error"), (2, "COLL_SIRET", "french-siret-value")},
        ),
        ({"DELIB_MATIERE_CODE": "1.1.2"}, {(2, "DELIB_MATIERE_CODE", "constraint-error")}),
        ({"DELIB_MATIERE_CODE": ""}, {(2, "DELIB_MATIERE_CODE", "constraint-error")}),
        ({"DELIB_URL": "www.x.org"}, {(2, "DELIB_URL", "type-error")}),
        (
            {"BUDGET_ANNEE": "17"},
            {(2, "BUDGET_ANNEE", "constraint-error"), (2, "BUDGET_ANNEE", "year-interval-value")},
        ),
    ],
)
def test_type_and_constraint_errors(changes: dict[str, str], expected: set) -> None:
    assert issues(csv_bytes(changes)) == expected
    assert issues(csv_bytes(changes), strict=False) == expected


def test_type_error_message_is_french_with_value() -> None:
    report = validate_deliberations_csv(csv_bytes({"DELIB_DATE": "15/10/2017"}))
    issue = report.errors[0]
    assert issue.render().startswith(
        "ligne 2, colonne DELIB_DATE : La date doit être écrite sous la forme AAAA-MM-JJ"
    )
    assert "15/10/2017" in issue.message


@pytest.mark.parametrize("value", ["2024-3-5", "2024-03-5"])
def test_unpadded_dates_accepted_like_validata_but_not_in_strict_mode(value: str) -> None:
    data = csv_bytes({"DELIB_DATE": value, "PREF_DATE": "2024-03-06"})
    assert issues(data, strict=False) == set()
    assert issues(data, strict=True) == {(2, "DELIB_DATE", "type-error")}


@pytest.mark.parametrize("value", [" 40", "+40", "4_0", "040 "])
def test_lenient_integers_like_validata_but_not_in_strict_mode(value: str) -> None:
    data = csv_bytes({"VOTE_REEL": value})
    assert issues(data, strict=False) == set()
    assert (2, "VOTE_REEL", "type-error") in issues(data, strict=True)


def test_integer_type_error_empties_the_value_for_cohesion() -> None:
    assert issues(csv_bytes({"VOTE_EFFECTIF": "43.0"})) == {
        (2, "VOTE_EFFECTIF", "type-error"),
        (2, "VOTE_EFFECTIF", "cohesive-columns-value"),
    }


def test_single_space_is_a_value_not_a_missing_cell() -> None:
    assert issues(csv_bytes({"COLL_NOM": " "})) == set()


# --- custom checks ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("siret", "valid"),
    [
        ("21860194600013", True),
        ("21860194600014", False),  # Luhn
        ("21350238010007", False),  # Luhn OK on 14 digits, SIREN invalid
        ("35600000049837", True),  # La Poste: digit sum multiple of 5
        ("35600000049839", False),  # La Poste, Luhn-valid but sum not /5
        ("35600000000048", True),  # La Poste head office
        ("21860194600000", False),  # SIREN + 00000
    ],
)
def test_siret(siret: str, valid: bool) -> None:
    assert siret_is_valid(siret) is valid
    expected = set() if valid else {(2, "COLL_SIRET", "french-siret-value")}
    assert issues(csv_bytes({"COLL_SIRET": siret})) == expected


def test_siret_check_skipped_on_empty_cell() -> None:
    assert issues(csv_bytes({"COLL_SIRET": ""})) == {(2, "COLL_SIRET", "constraint-error")}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("commande publique/marchés publics", None),
        ("COMMANDE PUBLIQUE/MARCHES PUBLICS", None),
        ("Finances Locales/", None),
        ("LIBERTÉS PUBLIQUES ET POUVOIRS DE POLICE/x", None),
        ("commande publique//x", None),
        ("Marchés publics", "le signe oblique « / » est manquant"),
        (  # frformat compares the prefix case-sensitively for its message: both details, as Validata
            "commande publique/ x",
            "le signe oblique ne doit pas être précédé ni suivi d'espace, "
            "le préfixe de nomenclature Actes 'commande publique' n'est pas reconnu",
        ),
        ("Commande publique /x", "le signe oblique ne doit pas être précédé ni suivi d'espace"),
        (" commande publique/x", "le préfixe de nomenclature Actes 'commande publique' n'est pas reconnu"),
        ("culture/x", "le préfixe de nomenclature Actes 'culture' n'est pas reconnu"),
        (
            "commande publique/transactions / protocole",
            "le signe oblique ne doit pas être précédé ni suivi d'espace, "
            "le préfixe de nomenclature Actes 'commande publique' n'est pas reconnu",
        ),
    ],
)
def test_nomenclature_actes(value: str, message: str | None) -> None:
    assert nomenclature_actes_errors(value) == message
    expected = set() if message is None else {(2, "DELIB_MATIERE_NOM", "nomenclature-actes-value")}
    assert issues(csv_bytes({"DELIB_MATIERE_NOM": value})) == expected


@pytest.mark.parametrize(
    ("value", "expected_message"),
    [
        ("2017", None),
        ("2017/2018", None),
        ("2017/2017", "Les deux années doivent être différentes"),
        ("2018/2017", "la deuxième année (2017) doit être postérieure à la première (2018)"),
    ],
)
def test_year_interval(value: str, expected_message: str | None) -> None:
    report = validate_deliberations_csv(csv_bytes({"BUDGET_ANNEE": value}))
    assert [i.message for i in report.errors] == ([expected_message] if expected_message else [])


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"BUDGET_NOM": ""}, {(2, "BUDGET_ANNEE", "cohesive-columns-value")}),
        ({"BUDGET_ANNEE": ""}, {(2, "BUDGET_ANNEE", "cohesive-columns-value")}),
        ({"BUDGET_ANNEE": "", "BUDGET_NOM": ""}, set()),
        ({"VOTE_ABSTENTION": ""}, {(2, "VOTE_EFFECTIF", "cohesive-columns-value")}),
        (
            {"VOTE_EFFECTIF": "", "VOTE_REEL": "", "VOTE_POUR": "", "VOTE_CONTRE": "", "VOTE_ABSTENTION": ""},
            set(),
        ),
        ({"PREF_DATE": "2017-10-01"}, {(2, "PREF_DATE", "compare-columns-value")}),
        ({"PREF_DATE": "2017-10-15"}, set()),
        ({"PREF_DATE": "2017/10/01"}, {(2, "PREF_DATE", "type-error")}),  # compare skipped
        ({"PREF_DATE": ""}, set()),
        ({"VOTE_EFFECTIF": "39"}, {(2, "VOTE_EFFECTIF", "compare-columns-value")}),
        ({"VOTE_REEL": "41"}, {(2, "VOTE_REEL", "sum-columns-value")}),
        (
            {"VOTE_REEL": "10", "VOTE_POUR": "2", "VOTE_CONTRE": "11", "VOTE_ABSTENTION": "-3"},
            {(2, "VOTE_REEL", "compare-columns-value")},
        ),
    ],
)
def test_row_checks_and_skipping_rules(changes: dict[str, str], expected: set) -> None:
    assert issues(csv_bytes(changes)) == expected


def test_compare_message() -> None:
    report = validate_deliberations_csv(csv_bytes({"PREF_DATE": "2017-10-01"}))
    assert report.errors[0].message == (
        "La valeur de la colonne PREF_DATE `2017-10-01` devrait être supérieure ou égale à la valeur de la "
        "colonne DELIB_DATE `2017-10-15`."
    )


# --- header ------------------------------------------------------------------------------------------------


def test_missing_required_column_is_an_error_in_both_modes() -> None:
    cols = [c for c in COLS if c != "COLL_SIRET"]
    for strict in (True, False):
        assert issues(csv_bytes({}, cols=cols), strict=strict) == {(1, "COLL_SIRET", "missing-label")}


@pytest.mark.parametrize(
    ("cols", "expected_strict"),
    [
        ([c for c in COLS if c != "PREF_ID"], {(1, "PREF_ID", "missing-label")}),
        ([COLS[1], COLS[0], *COLS[2:]], {(1, None, "disordered-labels")}),
        ([*COLS, "EXTRA"], {(1, "EXTRA", "extra-label")}),
    ],
)
def test_structure_issues_are_errors_in_strict_mode_warnings_in_validata_mode(
    cols: list[str], expected_strict: set
) -> None:
    data = csv_bytes({}, cols=cols)
    assert issues(data, strict=True) == expected_strict
    report = validate_deliberations_csv(data, strict=False)
    assert report.valid
    assert {(w.row, w.column, w.code) for w in report.warnings} == expected_strict


def test_partially_missing_cohesive_columns_is_a_header_error() -> None:
    cols = [c for c in COLS if c != "VOTE_POUR"]
    assert issues(csv_bytes({}, cols=cols), strict=False) == {(1, None, "cohesive-columns-value")}


def test_header_case_is_exact_and_the_message_says_so() -> None:
    data = csv_bytes({}).replace(b"COLL_NOM", b"coll_nom", 1)
    report = validate_deliberations_csv(data, strict=False)
    assert {(i.row, i.column, i.code) for i in report.errors} == {(1, "COLL_NOM", "missing-label")}
    assert "coll_nom" in report.errors[0].message and "casse" in report.errors[0].message


def test_header_spaces_are_trimmed_like_validata_but_flagged_in_strict_mode() -> None:
    data = csv_bytes({}).replace(b"DELIB_ID,", b" DELIB_ID ,", 1)
    assert issues(data, strict=False) == set()
    assert issues(data, strict=True) == {(1, "DELIB_ID", "label-whitespace")}


def test_duplicate_label_stops_validation() -> None:
    assert issues(csv_bytes({"DELIB_DATE": "bad"}, cols=[*COLS, "COLL_NOM"])) == {
        (1, None, "duplicate-label")
    }


# --- dialect and bad bytes ---------------------------------------------------------------------------------


def test_semicolon_and_tab_files_are_accepted() -> None:
    objet = '"a; b, c"'
    data = csv_bytes({"DELIB_OBJET": objet}, sep=";")
    report = validate_deliberations_csv(data)
    assert report.valid
    assert [w.code for w in report.warnings] == ["delimiter"]
    assert validate_deliberations_csv(csv_bytes({}, sep="\t"), strict=False).valid


def test_bom_is_tolerated() -> None:
    report = validate_deliberations_csv(b"\xef\xbb\xbf" + csv_bytes({}))
    assert report.valid
    assert [w.code for w in report.warnings] == ["bom"]


def test_non_utf8_bytes_give_a_clear_error_in_strict_mode() -> None:
    data = csv_bytes({"DELIB_OBJET": "Délibération"}).decode("utf-8").encode("cp1252")
    report = validate_deliberations_csv(data)
    assert not report.valid
    [issue] = report.errors
    assert issue.code == "encoding-error"
    assert "UTF-8" in issue.message and "0xe9" in issue.message and "ligne physique 2" in issue.message
    lenient = validate_deliberations_csv(data, strict=False)
    assert lenient.valid
    assert [w.code for w in lenient.warnings] == ["encoding"]
    assert lenient.encoding not in (None, "utf-8")


@pytest.mark.parametrize("data", [b"", b"   \r\n\r\n", b"\xef\xbb\xbf"])
def test_empty_file(data: bytes) -> None:
    assert issues(data) == {(None, None, "empty-file")}


def test_header_only_is_valid_and_has_no_rows() -> None:
    report = validate_deliberations_csv((",".join(COLS) + "\r\n").encode())
    assert report.valid and report.rows == 0


def test_ragged_and_blank_rows() -> None:
    header = ",".join(COLS)
    good = ",".join(GOOD[c] for c in COLS)
    short = ",".join(GOOD[c] for c in COLS[:5])
    data = "\r\n".join([header, good + ",extra", "", short, "," * 16, good]).encode()
    found = issues(data)
    assert (2, None, "extra-cell") in found
    assert (3, None, "blank-row") in found
    assert (4, "DELIB_OBJET", "missing-cell") in found and (4, "DELIB_OBJET", "constraint-error") in found
    assert (4, "PREF_ID", "missing-cell") in found and (4, "PREF_ID", "constraint-error") not in found
    assert (5, None, "blank-row") in found
    assert not any(row == 6 for row, _, _ in found)


def test_unterminated_quote_and_nul_bytes_do_not_crash() -> None:
    header = ",".join(COLS)
    for tail in ['A,"jamais fermé', "A\x00B"]:
        report = validate_deliberations_csv((header + "\r\n" + tail + "\r\n").encode())
        assert not report.valid


def test_issue_list_is_capped() -> None:
    data = csv_bytes(*[{"DELIB_DATE": "x", "COLL_SIRET": "1"}] * 50)
    report = validate_csv(data, load_schema(), max_issues=20)
    assert report.truncated and len(report.errors) == 20
    assert report.rows == 50
    assert "tronquée" in report.summary()


def test_issue_render() -> None:
    assert ValidationIssue(row=3, column="X", code="c", message="m").render() == "ligne 3, colonne X : m"
    assert ValidationIssue(code="c", message="m").render() == "m"


# --- schemas -----------------------------------------------------------------------------------------------


def test_bundled_schemas() -> None:
    assert {"scdl/deliberations", "scdl/catalogue", "scdl/budget"} <= set(bundled_schemas())
    assert load_schema().version == "2.1.5"
    assert load_schema("scdl/catalogue").version == "0.1.3"
    with pytest.raises(ValueError, match="schéma inconnu"):
        load_schema("scdl/nope")
    with pytest.raises(ValueError, match="non embarquée"):
        load_schema("scdl/deliberations", "9.9.9")


@pytest.mark.parametrize("descriptor", ["{", '{"fields": "x"}', "[]", '{"fields": [{"type": "string"}]}'])
def test_malformed_schema(descriptor: str) -> None:
    with pytest.raises(ValueError, match="schéma Table Schema invalide"):
        parse_schema(descriptor)


def test_generic_types_and_constraints() -> None:
    schema = parse_schema(
        json.dumps(
            {
                "fields": [
                    {"name": "N", "type": "number", "constraints": {"minimum": 0, "maximum": 10}},
                    {"name": "Y", "type": "year"},
                    {"name": "B", "type": "boolean"},
                    {"name": "E", "type": "string", "constraints": {"enum": ["réel", "ordre"]}},
                    {"name": "L", "type": "string", "constraints": {"minLength": 1, "maxLength": 3}},
                    {"name": "I", "type": "integer", "constraints": {"minimum": 1}},
                ],
                "custom_checks": [{"name": "unknown-check", "params": {"column": "N"}}],
            }
        )
    )
    good = b"N,Y,B,E,L,I\r\n1.5,2024,true,r\xc3\xa9el,abc,1\r\n"
    report = validate_csv(good, schema)
    assert report.valid
    assert [w.code for w in report.warnings] == ["unknown-check"]
    bad = b"N,Y,B,E,L,I\r\n11,24,oui,reel,abcd,0\r\nx,2024,0,ordre,a,1\r\n"
    found = {(i.row, i.column, i.code) for i in validate_csv(bad, schema).errors}
    assert found == {
        (2, "N", "constraint-error"),
        (2, "Y", "type-error"),
        (2, "B", "type-error"),
        (2, "E", "constraint-error"),
        (2, "L", "constraint-error"),
        (2, "I", "constraint-error"),
        (3, "N", "type-error"),
    }


def test_catalogue_schema_checks_both_sirets() -> None:
    schema = load_schema("scdl/catalogue")
    cells = {f.name: str(f.example or "x") for f in schema.fields}
    cells.update(
        COLL_SIRET="21860194600013",
        PRODUCTEUR_SIRET="21860194600014",
        COUV_TEMP_DEBUT="2020-01-01",
        COUV_TEMP_FIN="2020-12-31",
        DATE_PUBL="2021-01-01",
        DATE_MAJ="2021-01-01",
        NOMBRE_RESSOURCES="1",
        URL="https://x.org",
    )
    data = (",".join(cells) + "\r\n" + ",".join(cells.values()) + "\r\n").encode()
    found = {(i.column, i.code) for i in validate_csv(data, schema).errors}
    assert ("PRODUCTEUR_SIRET", "french-siret-value") in found
    assert ("COLL_SIRET", "french-siret-value") not in found


def test_repeated_values_are_checked_on_every_row() -> None:
    """The per-column memo only remembers clean cells: a bad value repeated is reported on each row."""
    rows = [{"DELIB_MATIERE_CODE": "1.1.2"}, {}, {"DELIB_MATIERE_CODE": "1.1.2"}, {"VOTE_REEL": "4x"}, {}]
    assert issues(csv_bytes(*rows)) == {
        (2, "DELIB_MATIERE_CODE", "constraint-error"),
        (4, "DELIB_MATIERE_CODE", "constraint-error"),
        (5, "VOTE_REEL", "type-error"),
        (5, "VOTE_EFFECTIF", "cohesive-columns-value"),
    }
