"""SCDL délibérations rows: cells, stable order, the validated writer, DELIB_OBJET cleaning."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from pydantic import ValidationError

from regate.actes.nomenclature import NIVEAU2, matiere_nom
from regate.scdl.deliberations import (
    SCDL_DELIBERATIONS_COLUMNS,
    SCHEMA_NAME,
    SCHEMA_VERSION,
    ScdlDeliberationRow,
    ScdlValidationError,
    clean_objet,
    deliberation_sort_key,
    write_deliberations_csv,
)
from regate.scdl.schema import load_schema


def make_row(**changes: object) -> ScdlDeliberationRow:
    base: dict[str, object] = {
        "COLL_NOM": "Ville de Poitiers",
        "COLL_SIRET": "21860194600013",
        "DELIB_ID": "1DL15494",
        "DELIB_DATE": date(2017, 10, 15),
        "DELIB_MATIERE_CODE": "8.4",
        "DELIB_MATIERE_NOM": matiere_nom("8.4"),
        "DELIB_OBJET": "Démarche partenariale, adhésion à l'ANEM",
    }
    base.update(changes)
    return ScdlDeliberationRow(**base)  # type: ignore[arg-type]


def test_columns_are_the_schema_columns_in_order() -> None:
    assert SCHEMA_NAME == "scdl/deliberations"
    assert SCHEMA_VERSION == "2.1.5"
    assert load_schema(SCHEMA_NAME, SCHEMA_VERSION).field_names == SCDL_DELIBERATIONS_COLUMNS
    assert len(SCDL_DELIBERATIONS_COLUMNS) == 17
    assert list(ScdlDeliberationRow.model_fields) == list(SCDL_DELIBERATIONS_COLUMNS)


def test_cells() -> None:
    row = make_row(
        BUDGET_ANNEE="2017/2018",
        BUDGET_NOM="Budget annexe",
        PREF_ID="PREF086",
        PREF_DATE=date(2017, 10, 20),
        VOTE_EFFECTIF=43,
        VOTE_REEL=40,
        VOTE_POUR=25,
        VOTE_CONTRE=10,
        VOTE_ABSTENTION=5,
        DELIB_URL="https://data.example.org/a.pdf",
    )
    assert row.cells() == [
        "Ville de Poitiers",
        "21860194600013",
        "1DL15494",
        "2017-10-15",
        "8.4",
        "domaines de compétences par thèmes/aménagement du territoire",
        "Démarche partenariale, adhésion à l'ANEM",
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
    assert make_row().cells()[7:] == [""] * 10


def test_row_model_rejects_bad_types_and_unknown_columns() -> None:
    with pytest.raises(ValidationError):
        make_row(DELIB_DATE="15/10/2017")
    with pytest.raises(ValidationError):
        make_row(VOTE_REEL="beaucoup")
    with pytest.raises(ValidationError):
        make_row(EXTRA="x")


def test_write_is_sorted_stable_and_exact() -> None:
    rows = [
        make_row(DELIB_ID="B", DELIB_DATE=date(2024, 1, 2)),
        make_row(DELIB_ID="A", DELIB_DATE=date(2024, 1, 2)),
        make_row(DELIB_ID="Z", DELIB_DATE=date(2023, 12, 31)),
    ]
    first = write_deliberations_csv(rows)
    assert write_deliberations_csv(list(reversed(rows))) == first
    lines = first.decode("utf-8").split("\r\n")
    assert lines[0] == ",".join(SCDL_DELIBERATIONS_COLUMNS)
    assert [line.split(",")[2] for line in lines[1:4]] == ["Z", "A", "B"]
    assert lines[-1] == ""  # CRLF after the last line
    assert sorted(rows, key=deliberation_sort_key)[0].DELIB_ID == "Z"


def test_write_keeps_unicode_and_quotes_objet() -> None:
    objet = 'Contrat "cœur de ville", 1 500 € ’ 😀'
    data = write_deliberations_csv([make_row(DELIB_OBJET=objet)])
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert parsed[1][6] == objet
    assert '"Contrat ""cœur de ville"", 1 500 € ’ 😀"'.encode() in data


def test_every_matiere_writes_a_valid_file() -> None:
    rows = [
        make_row(DELIB_ID=code, DELIB_MATIERE_CODE=code, DELIB_MATIERE_NOM=matiere_nom(code))
        for code in NIVEAU2
    ]
    data = write_deliberations_csv(rows)
    assert data.count(b"\r\n") == len(NIVEAU2) + 1


@pytest.mark.parametrize(
    ("changes", "column", "code"),
    [
        ({"COLL_SIRET": "21860194600014"}, "COLL_SIRET", "french-siret-value"),
        ({"DELIB_MATIERE_CODE": "1.1.2"}, "DELIB_MATIERE_CODE", "constraint-error"),
        ({"DELIB_MATIERE_NOM": "Marchés publics"}, "DELIB_MATIERE_NOM", "nomenclature-actes-value"),
        ({"PREF_DATE": date(2017, 1, 1)}, "PREF_DATE", "compare-columns-value"),
        ({"VOTE_EFFECTIF": 3}, "VOTE_EFFECTIF", "cohesive-columns-value"),
        ({"BUDGET_ANNEE": "2018"}, "BUDGET_ANNEE", "cohesive-columns-value"),
        ({"DELIB_URL": "/relative.pdf"}, "DELIB_URL", "type-error"),
        ({"DELIB_OBJET": ""}, "DELIB_OBJET", "constraint-error"),
    ],
)
def test_invalid_rows_are_never_written(changes: dict[str, object], column: str, code: str) -> None:
    with pytest.raises(ScdlValidationError) as caught:
        write_deliberations_csv([make_row(), make_row(DELIB_ID="2", **changes)])
    report = caught.value.report
    assert not report.valid
    assert {(issue.row, issue.column, issue.code) for issue in report.errors} == {(3, column, code)}
    assert "ligne 3" in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Objet\r\nsur deux lignes", "Objet sur deux lignes"),
        ("  trop   d'espaces\t ici  ", "trop d'espaces ici"),
        ("a\rb\nc\u2028d", "a b c d"),
        ("L’œuvre — 1 500 € 😀", "L’œuvre — 1 500 € 😀"),
        ("insécable\u00a0: gardée", "insécable\u00a0: gardée"),
        ("", ""),
    ],
)
def test_clean_objet(raw: str, clean: str) -> None:
    assert clean_objet(raw) == clean
