"""How each validator mode reads a file (regate.scdl.validation.reading) and robustness at the edges."""

from __future__ import annotations

import pytest

from regate.scdl.deliberations import SCDL_DELIBERATIONS_COLUMNS
from regate.scdl.validation.reading import (
    BUFFER_SIZE,
    UnreadableFile,
    detect_encoding,
    detect_header_row,
    read_strict,
    read_validata,
)
from regate.scdl.validator import VALIDATA_LIMIT_ERRORS, VALIDATA_MAX_ROWS, validate_deliberations_csv

COLS = list(SCDL_DELIBERATIONS_COLUMNS)
GOOD = [
    "Ville de Poitiers",
    "21860194600013",
    "1DL15494",
    "2017-10-15",
    "8.4",
    "domaines de compétences par thèmes/aménagement du territoire",
    "Objet",
    "2017/2018",
    "Budget annexe",
    "PREF086",
    "2017-10-20",
    "43",
    "40",
    "25",
    "10",
    "5",
    "https://data.example.org/a.pdf",
]


def text(rows: list[list[str]], sep: str = ",", eol: str = "\r\n", title: tuple[str, ...] = ()) -> str:
    return eol.join([*title, sep.join(COLS), *(sep.join(r) for r in rows)]) + eol


def with_cell(column: str, value: str) -> list[str]:
    row = list(GOOD)
    row[COLS.index(column)] = value
    return row


def codes(data: bytes, strict: bool) -> set[tuple[int | None, str | None, str]]:
    return {(i.row, i.column, i.code) for i in validate_deliberations_csv(data, strict=strict).errors}


# encoding ------------------------------------------------------------------------------------------------


def test_utf8_is_tried_first_and_keeps_a_bom_in_the_text() -> None:
    assert detect_encoding("é".encode()) == "utf-8"
    assert detect_encoding(b"\xef\xbb\xbfCOLL_NOM") == "utf-8"  # validata's function: no utf-8-sig


def test_other_code_pages_and_utf16_are_detected_not_forced_to_cp1252() -> None:
    data = text([GOOD] * 3).encode("utf-16-le")
    assert detect_encoding(b"\xff\xfe" + data) == "utf-16"
    report = validate_deliberations_csv(b"\xff\xfe" + data, strict=False)
    assert report.valid and report.encoding == "utf-16"
    assert not validate_deliberations_csv(b"\xff\xfe" + data, strict=True).valid


def test_one_bad_byte_after_the_buffer_makes_the_file_unreadable_not_cp1252() -> None:
    body = text([with_cell("DELIB_OBJET", "x" * 500)] * (BUFFER_SIZE // 500 + 2)).encode()
    data = body + b"Ville,\xe9\r\n"
    assert detect_encoding(data) == "utf-8"
    report = validate_deliberations_csv(data, strict=False)
    assert not report.valid
    assert [e.code for e in report.errors] == ["encoding-error"]


def test_bom_before_a_quoted_header_breaks_the_first_label_like_validata() -> None:
    quoted = ",".join(f'"{c}"' for c in COLS) + "\r\n" + ",".join(GOOD) + "\r\n"
    data = b"\xef\xbb\xbf" + quoted.encode()
    assert (None, "COLL_NOM", "missing-label") in {(None, c, k) for _, c, k in codes(data, strict=False)}
    assert (1, None, "bom-quoted-header") in codes(data, strict=True)
    assert validate_deliberations_csv(b"\xef\xbb\xbf" + text([GOOD]).encode(), strict=False).valid


# dialect -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sep", "eol"), [(",", "\r"), (";", "\n"), ("\t", "\r\n"), ("|", "\n"), (", ", "\r\n"), ("; ", "\n")]
)
def test_sniffed_dialects_read_like_validata(sep: str, eol: str) -> None:
    data = text([GOOD, GOOD], sep=sep, eol=eol).encode()
    report = validate_deliberations_csv(data, strict=False)
    assert report.valid, [e.render() for e in report.errors]
    assert report.delimiter == (sep.strip() or sep)


def test_cr_only_is_an_error_in_strict_mode() -> None:
    data = text([GOOD], eol="\r").encode()
    assert (None, None, "line-endings") in codes(data, strict=True)


# header row, blank rows -----------------------------------------------------------------------------------


def test_header_row_detection_follows_frictionless() -> None:
    assert detect_header_row([["Titre"], COLS, GOOD, GOOD, GOOD, GOOD, GOOD, GOOD]) == 2
    assert detect_header_row([["Titre"], COLS, GOOD]) == 1  # too few rows: the title stays the header
    assert detect_header_row([[], [], COLS, *[GOOD] * 30]) == 3
    assert detect_header_row([[], [], COLS, *[GOOD] * 10]) == 1  # average 14 ± 1: the blank line wins
    assert detect_header_row([]) == 1


def test_title_lines_above_the_header_are_skipped_and_rows_keep_their_numbers() -> None:
    # checked against validata-table 0.12.5: with 60 rows the sniffer finds ';' and the header is row 3
    rows = [GOOD] * 60 + [with_cell("DELIB_DATE", "15/10/2017")]
    data = text(rows, sep=";", title=("Délibérations 2024", "")).encode("cp1252")
    report = validate_deliberations_csv(data, strict=False)
    assert (report.header_row, report.delimiter, report.encoding) == (3, ";", "cp1252")
    assert {(e.row, e.column, e.code) for e in report.errors} == {(64, "DELIB_DATE", "type-error")}
    assert "header-row" in {w.code for w in report.warnings}
    # with 8 rows csv.Sniffer gives up (Excel dialect, ','): validata-table fails on it, we say invalid
    short = text(rows[-9:], sep=";", title=("Délibérations 2024", "")).encode("cp1252")
    assert not validate_deliberations_csv(short, strict=False).valid


def test_blank_row_rule_only_looks_under_the_labels() -> None:
    data = text([GOOD]) + "," * 17 + "note\r\n"
    assert codes(data.encode(), strict=False) == {(3, None, "blank-row")}


def test_read_validata_and_read_strict_number_records() -> None:
    table = read_validata(text([GOOD, GOOD], title=("t",) * 0).encode())
    assert [n for n, _ in table.rows] == [2, 3]
    strict = read_strict(text([GOOD]).encode())
    assert strict.header == COLS and [n for n, _ in strict.rows] == [2]
    with pytest.raises(UnreadableFile):
        read_validata(b"")


# limits and robustness -------------------------------------------------------------------------------------


@pytest.mark.parametrize("strict", [True, False])
def test_a_200000_character_cell_is_a_cell(strict: bool) -> None:
    data = text([with_cell("DELIB_OBJET", "é" * 200_000)]).encode()
    assert validate_deliberations_csv(data, strict=strict).valid


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize("digits", [4301, 10_000, 200_000])
def test_integers_of_any_length_are_invalid_never_a_crash(strict: bool, digits: int) -> None:
    data = text([with_cell("VOTE_EFFECTIF", "9" * digits)]).encode()
    report = validate_deliberations_csv(data, strict=strict)
    # the cast failure also empties the cell for the cohesive check, as in validata-table (oracle corpus)
    assert {(e.row, e.column, e.code) for e in report.errors} == {
        (2, "VOTE_EFFECTIF", "type-error"),
        (2, "VOTE_EFFECTIF", "cohesive-columns-value"),
    }
    assert len(report.errors[0].message) < 300  # the value is shortened in the message


@pytest.mark.parametrize("strict", [True, False])
def test_a_4300_digit_integer_is_an_integer(strict: bool) -> None:
    assert validate_deliberations_csv(
        text([with_cell("VOTE_EFFECTIF", "9" * 4300)]).encode(), strict=strict
    ).valid


def test_validata_error_cap_stops_after_the_row_that_reaches_it() -> None:
    bad = with_cell("DELIB_DATE", "x")
    bad[COLS.index("COLL_SIRET")] = "1"  # 3 errors a row: type, pattern, siret
    data = text([bad] * 400).encode()
    report = validate_deliberations_csv(data, strict=False)
    assert len(report.errors) == VALIDATA_LIMIT_ERRORS and report.truncated
    assert "error-limit" in {w.code for w in report.warnings}
    assert report.rows == 400
    strict = validate_deliberations_csv(data, strict=True)
    assert len(strict.errors) == 1200 and not strict.truncated


def test_validata_row_limit_is_a_table_dimensions_error() -> None:
    header = ",".join(COLS) + "\r\n"
    row = (",".join(GOOD) + "\r\n").encode()
    at_limit = header.encode() + row * VALIDATA_MAX_ROWS
    assert validate_deliberations_csv(at_limit, strict=False).valid
    over = at_limit + row
    report = validate_deliberations_csv(over, strict=False)
    assert [(e.row, e.code) for e in report.errors] == [(None, "table-dimensions")]
    assert validate_deliberations_csv(over, strict=True).valid


def test_frformat_no_slash_quirk_in_validata_mode_only() -> None:
    data = text([with_cell("DELIB_MATIERE_NOM", "Urbanismes")]).encode()
    assert validate_deliberations_csv(data, strict=False).valid  # as on validata.fr (outside corpus)
    assert codes(data, strict=True) == {(2, "DELIB_MATIERE_NOM", "nomenclature-actes-value")}


@pytest.mark.parametrize("strict", [True, False])
def test_the_file_is_streamed_not_decoded_whole(strict: bool) -> None:
    import tracemalloc

    data = text([with_cell("DELIB_ID", f"D{k}") for k in range(20_000)]).encode()
    tracemalloc.start()
    try:
        assert validate_deliberations_csv(data, strict=strict).valid
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < len(data) // 2, f"peak {peak} bytes for a {len(data)}-byte file"
