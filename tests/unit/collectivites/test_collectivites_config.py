"""Parsing of the operator file config/collectivites.csv: good files, and the many ways it goes wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from regate.collectivites import (
    CollectiviteConfig,
    ConfigProblem,
    normalize_siren,
    normalize_siret,
    parse_collectivites_csv,
    render_collectivites_csv,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "collectivites"


def codes(problems: list[ConfigProblem]) -> list[str]:
    return [p.code for p in problems]


def parse_fixture(name: str) -> tuple[dict[str, CollectiviteConfig], list[ConfigProblem]]:
    return parse_collectivites_csv((FIXTURES / name).read_bytes())


def test_valid_file_gives_one_config_per_siren_and_no_problem() -> None:
    configs, problems = parse_fixture("valid.csv")
    assert problems == []
    assert sorted(configs) == ["200053668", "213502388", "243500139"]
    assert configs["213502388"] == CollectiviteConfig(
        siren="213502388",
        siret="21350238800019",
        nom="Ville de Rennes",
        open_data=True,
        documents=True,
        annexes=False,
    )
    # empty cells mean "default"
    assert configs["243500139"].nom is None
    assert configs["243500139"].documents is None
    assert configs["200053668"].open_data is False


def test_bom_crlf_semicolon_and_letter_case_are_accepted_with_a_warning() -> None:
    configs, problems = parse_fixture("bom_semicolon.csv")
    assert codes(problems) == ["semicolon_separator"]
    assert problems[0].severity == "warning"
    rennes = configs["213502388"]
    assert (rennes.open_data, rennes.documents, rennes.annexes) == (True, False, None)
    assert configs["243500139"].nom == "Rennes Métropole"
    assert configs["243500139"].annexes is False


def test_non_utf8_file_is_read_as_windows_1252_with_a_warning() -> None:
    configs, problems = parse_fixture("latin1.csv")
    assert codes(problems) == ["cp1252"]
    assert problems[0].line == 3 and problems[0].severity == "warning"
    assert configs["243500139"].nom == "Rennes Métropole"


def test_excel_cp1252_file_with_the_spellings_people_type() -> None:
    """SIREN;Open data headers, OUI/Non./false/NON/N/yes/True/o, Windows-1252 and CRLF: all understood."""
    configs, problems = parse_fixture("excel_cp1252.csv")
    assert sorted(codes(problems)) == ["cp1252", "semicolon_separator"]
    rennes, metro, bruz = configs["213502388"], configs["243500139"], configs["213500473"]
    assert (rennes.open_data, rennes.documents, rennes.annexes) == (True, False, False)
    assert (metro.open_data, metro.documents, metro.annexes) == (False, None, False)
    assert (bruz.open_data, bruz.documents, bruz.annexes) == (True, True, True)
    assert metro.nom == "Rennes Métropole – « test »"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("nul_bytes.csv", "nul_byte"),
        ("unclosed_quote.csv", "csv_syntax"),
        ("quote_swallows_rows.csv", "cellule_multiligne"),
        ("shifted_row.csv", "too_many_fields"),
        ("short_row.csv", "too_few_fields"),
        ("bad_values.csv", "invalid_boolean"),
    ],
)
def test_damage_that_could_lose_a_switch_refuses_the_whole_file(name: str, code: str) -> None:
    """Never "this line skipped": a lost ``open_data = non`` would publish (the last good is kept)."""
    configs, problems = parse_fixture(name)
    assert configs == {}
    assert code in [p.code for p in problems if p.severity == "error"]


def test_missing_siren_column_is_a_problem_and_gives_no_rows() -> None:
    configs, problems = parse_fixture("missing_siren_column.csv")
    assert configs == {}
    assert codes(problems) == ["missing_column"]
    assert problems[0].column == "siren"
    assert problems[0].severity == "error"


def test_optional_columns_may_be_absent() -> None:
    configs, problems = parse_fixture("minimal.csv")
    assert configs == {"213502388": CollectiviteConfig(siren="213502388")}
    assert {p.column for p in problems} == {"siret", "nom", "open_data", "documents", "annexes"}
    assert {p.severity for p in problems} == {"warning"}


def test_bad_values_are_all_reported_with_their_line_and_refuse_the_file() -> None:
    configs, problems = parse_fixture("bad_values.csv")
    found = {(p.line, p.column, p.code, p.severity) for p in problems}
    assert (1, "commentaire", "unknown_column", "warning") in found
    assert (3, "annexes", "invalid_boolean", "error") in found  # "1" ("yes" is accepted)
    assert (4, "siren", "invalid_siren", "error") in found  # bad check digit
    assert (5, "siren", "invalid_siren", "error") in found  # 8 digits
    assert (6, "siret", "invalid_siret", "warning") in found  # SIRET of another SIREN: cell ignored
    assert (7, "siret", "invalid_siret", "warning") in found  # bad check digit: cell ignored
    assert (8, "siren", "duplicate_siren", "error") in found
    assert (9, "siren", "missing_siren", "error") in found
    assert (10, None, "too_many_fields", "error") in found  # unquoted comma in the name
    assert (11, None, "too_few_fields", "error") in found
    assert configs == {}
    assert [p.line or 0 for p in problems] == sorted(p.line or 0 for p in problems)


def test_a_wrong_siret_or_long_name_is_only_a_warning() -> None:
    """Neither can publish anything: the cell is ignored, the file is kept."""
    data = ("siren,siret,nom,open_data\n213502388,21350238800018," + "x" * 300 + ",non\n").encode()
    configs, problems = parse_collectivites_csv(data)
    assert {p.code for p in problems if p.severity == "warning"} >= {"invalid_siret", "invalid_nom"}
    assert configs["213502388"].open_data is False and configs["213502388"].siret is None


@pytest.mark.parametrize(
    ("name", "code"),
    [("empty.csv", "empty"), ("nul_bytes.csv", "nul_byte"), ("duplicate_column.csv", "duplicate_column")],
)
def test_degenerate_files(name: str, code: str) -> None:
    """An empty upload is refused too (a truncated upload must not erase the takedowns)."""
    configs, problems = parse_fixture(name)
    assert configs == {}
    assert code in codes(problems)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\n\n\n",
        b"\xff\xfe\x00s\x00i",  # UTF-16
        b'"',
        b"siren\n" + b"\x80" * 10,
        b"siren,nom\n213502388," + "é".encode() * 10_000 + b"\n",
        b"siren;siret,nom\n213502388;;x\n",
        "siren\n２１３５０２３８８\n".encode(),  # full-width digits are not a SIREN
    ],
)
def test_never_raises(data: bytes) -> None:
    configs, problems = parse_collectivites_csv(data)
    assert isinstance(configs, dict)
    assert problems, "every one of these inputs deserves a report"
    assert all(isinstance(p, ConfigProblem) for p in problems)


def test_not_bytes_is_reported() -> None:
    configs, problems = parse_collectivites_csv("siren\n213502388\n")  # type: ignore[arg-type]
    assert configs == {}
    assert codes(problems) == ["not_bytes"]


def test_spaces_in_numbers_and_names_are_normalised() -> None:
    data = b"siren,siret,nom\n 213 502 388 ,213 502 388 00019,  Ville   de\tRennes \n"
    configs, problems = parse_collectivites_csv(data)
    assert [p.code for p in problems if p.severity == "error"] == []
    assert configs["213502388"].siret == "21350238800019"
    assert configs["213502388"].nom == "Ville de Rennes"


def test_blank_lines_before_header_and_between_rows_are_skipped() -> None:
    data = b"\n\nsiren,open_data\n\n213502388,non\n,\n243500139,oui\n"
    configs, problems = parse_collectivites_csv(data)
    assert {p.code for p in problems} == {"missing_column"}  # only the absent optional columns
    assert configs["213502388"].open_data is False
    assert configs["243500139"].open_data is True


def test_render_round_trips() -> None:
    configs, _ = parse_fixture("valid.csv")
    again, problems = parse_collectivites_csv(render_collectivites_csv(configs.values()))
    assert problems == []
    assert again == configs


def test_normalizers() -> None:
    assert normalize_siren("213502388") == "213502388"
    assert normalize_siren("213502389") is None
    assert normalize_siren("21350238") is None
    assert normalize_siret("21350238800019") == "21350238800019"
    assert normalize_siret("21350238800019", "213502388") == "21350238800019"
    assert normalize_siret("21350238800019", "243500139") is None
    assert normalize_siret("21350238800018") is None


def test_trailing_separators_from_a_spreadsheet_are_tolerated() -> None:
    data = b"siren,siret,nom,open_data,documents,annexes,,\n213502388,,Rennes,non,,,,\n"
    configs, problems = parse_collectivites_csv(data)
    assert codes(problems) == ["empty_column_name"]
    assert problems[0].severity == "warning"
    assert configs["213502388"].open_data is False
