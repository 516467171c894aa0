"""Oracle: every shipped TOTEM sample and a set of generated ones become a CSV that the official
validata-table (0.12.5, ``scdl/budget`` 0.8.3 from ``../shared/reference/schemas``) accepts with zero
errors — and our validator agrees; stage amounts checked against totals computed by hand from the XML.
"""

from __future__ import annotations

import csv
import io
import json
import warnings
from decimal import Decimal
from pathlib import Path

import pytest

from regate.flux.budgets.convert import convert_document
from regate.flux.budgets.model import Etape
from regate.flux.budgets.scdl import SCDL_BUDGET_COLUMNS, validate_budget_csv, write_budget_csv
from regate.flux.budgets.totem import TotemLu, read_totem
from regate_local.budgets.totem_generator import generate_totem

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared" / "reference"
SAMPLES = sorted((SHARED / "budget" / "totem-exemples").glob("*.xml"))
SCHEMA = SHARED / "schemas" / "scdl_budget_0.8.3_schema.json"

GENERATED = [
    # (etape, nomenclature, exercice, fonctions, encoding)
    ("BP", "M57-M57_A", 2025, True, "ISO-8859-1"),
    ("BS", "M57-M57_D", 2026, True, "ISO-8859-1"),
    ("DM", "M57-M57_P", 2025, False, "UTF-8"),
    ("CA", "M14-M14_COM_SUP3500", 2024, True, "ISO-8859-1"),
    ("CFU", "M57-M57_A", 2026, True, "ISO-8859-1"),
    ("CFU", "M57-M57_P", 2027, False, "ISO-8859-1"),
    ("BP", "M4-M43", 2025, False, "ISO-8859-1"),
    ("CA", "M52-M52", 2023, True, "ISO-8859-1"),
    ("BP", "M71-M71", 2024, True, "UTF-8"),
    ("DM", "M61-M61", 2024, False, "ISO-8859-1"),
]


def validata(path: Path) -> dict:
    validata_core = pytest.importorskip("validata_core")
    descriptor = json.loads(SCHEMA.read_text(encoding="utf-8"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return validata_core.validate(str(path), descriptor).to_dict()


def _csv_for(xml: Path, tmp_path: Path) -> tuple[Path, list]:
    result = read_totem(xml)
    assert isinstance(result, TotemLu), result
    conversion = convert_document(result)
    assert conversion.rapport.lignes_rejetees == [], conversion.rapport.lignes_rejetees
    data = write_budget_csv(conversion.lignes)
    path = tmp_path / f"{xml.stem}.csv"
    path.write_bytes(data)
    return path, conversion.lignes


def _assert_valid_both_ways(path: Path, rows: int) -> None:
    report = validata(path)
    assert report["errors"] == [] and report["valid"] is True, report["errors"][:5]
    ours = validate_budget_csv(path.read_bytes())  # strict SCDL mode
    assert ours.valid and ours.errors == [] and ours.warnings == [] and ours.rows == rows


def test_all_samples_are_there() -> None:
    assert len(SAMPLES) == 6, "the six totem-exemples of ../shared/reference/budget"


@pytest.mark.parametrize("xml", SAMPLES, ids=[p.stem[:40] for p in SAMPLES])
def test_every_shipped_sample_gives_a_valid_file(xml: Path, tmp_path: Path) -> None:
    path, lines = _csv_for(xml, tmp_path)
    assert lines and path.read_text(encoding="utf-8").splitlines()[0] == ",".join(SCDL_BUDGET_COLUMNS)
    _assert_valid_both_ways(path, len(lines))


@pytest.mark.parametrize("spec", GENERATED, ids=[f"{s[0]}-{s[1]}-{s[2]}" for s in GENERATED])
def test_every_generated_document_gives_a_valid_file(spec: tuple, tmp_path: Path) -> None:
    etape, nomenclature, exercice, fonctions, encoding = spec
    xml = tmp_path / f"gen-{etape}-{exercice}.xml"
    summary = generate_totem(
        xml,
        etape=etape,
        nomenclature=nomenclature,
        exercice=exercice,
        lignes=400,
        seed=11,
        fonctions=fonctions,
        encoding=encoding,
    )
    path, lines = _csv_for(xml, tmp_path)
    assert len(lines) == summary.lignes == 400
    _assert_valid_both_ways(path, len(lines))


def test_a_national_style_file_of_several_documents_is_valid(tmp_path: Path) -> None:
    """Several budgets, stages and SIRETs in one file (the per-year national file has this shape)."""
    lines = []
    for xml in SAMPLES:
        result = read_totem(xml)
        lines.extend(convert_document(result).lignes)
    path = tmp_path / "all.csv"
    path.write_bytes(write_budget_csv(lines))
    _assert_valid_both_ways(path, len(lines))


def _totals(xml: Path) -> dict[tuple[str, str], Decimal]:
    result = read_totem(xml)
    assert isinstance(result, TotemLu)
    totals: dict[tuple[str, str], Decimal] = {}
    for line in convert_document(result).lignes:
        for key in ((line.codrd, "*"), (line.codrd, line.section)):
            totals[key] = totals.get(key, Decimal(0)) + line.montant
    return totals


def test_bp_amounts_against_hand_computed_totals() -> None:
    """BP 2022 « LOTISSEMENT LE BOCENO » (21 lines): the stage amount is MtPrev.

    Recettes, MtPrev by line: 62975.00 (168748, chapter 16, I) + 351931.52 (3555, 040, I)
    + 62975.00 (71355, 042, F) + 2148068.48 (001, I) + 10.00 (7588, F) + 0.00 (7788, F)
    + 325112.01 (7015, F) + 32703.59 (002, F) + 9000.00 (796, 043, F) + 131125.00 (774, F)
    = 3 123 900.60, of which investissement 2 562 975.00 and fonctionnement 560 925.60.
    Dépenses: 15000.00 (6045, 011) + 9000.00 (66111, 66) + 1000.00 (6015, 011) + 2500000.00 (1641, 16, I)
    + 10.00 (65888, 65) + 351931.52 (71355, 042) + 0.00 (002, 002) + 62975.00 (3555, 040, I)
    + 173984.08 (6522, 65) + 9000.00 (608, 043) + 1000.00 (63512, 011)
    = 3 123 900.60 (investissement 2 562 975.00, fonctionnement 560 925.60): the BP balances.
    The 002 line also carries MtReal 148228.03: reading MtReal at every stage (the reference white
    label's bug) would give dépenses 148 228.03 and recettes 0.
    """
    totals = _totals(
        SHARED / "budget/totem-exemples/DOCBUDG-21560046100085-056025-BP-2022-07042022000000.xml"
    )
    assert totals[("recette", "*")] == Decimal("3123900.60")
    assert totals[("dépense", "*")] == Decimal("3123900.60")
    assert totals[("recette", "investissement")] == Decimal("2562975.00")
    assert totals[("recette", "fonctionnement")] == Decimal("560925.60")
    assert totals[("dépense", "investissement")] == Decimal("2562975.00")
    assert totals[("dépense", "fonctionnement")] == Decimal("560925.60")


def test_ca_amounts_against_hand_computed_totals() -> None:
    """CA 2021 « LOTISSEMENT LE BOCENO » (20 lines): the stage amount is MtReal (lines without it: 0).

    Recettes: 929356.27 (3555) + 1076166.69 (7015) + 1218712.21 (001) + 6005.80 (773) + 13900.00 (796)
    + 0.33 (7588) + 77125.00 (7788) = 3 321 266.30 (MtPrev would give 4 305 288.70).
    Dépenses: 13900.00 (66111) + 13900.00 (608) + 25450.00 (6045) + 929356.27 (71355) + 6737.93 (6015)
    + 148228.03 (002) + 2922.00 (63512) = 1 140 494.23.
    """
    totals = _totals(
        SHARED / "budget/totem-exemples/DOCBUDG-21560046100085-056025-CA-2021-01032022000000.xml"
    )
    assert totals[("recette", "*")] == Decimal("3321266.30")
    assert totals[("dépense", "*")] == Decimal("1140494.23")


def test_dm_amounts_against_hand_computed_totals() -> None:
    """DM1 2022 « LOTISSEMENT LE BOCENO » (20 lines): only two lines have MtPropNouv, a transfer
    6522 −32 000.00 → 605 +32 000.00, so the DM moves 0.00 in dépenses and recettes; its lines also
    carry MtReal (recettes 2 180 772.07), which a DM must not be read from."""
    xml = SHARED / "budget/totem-exemples/DOCBUDG-21560046100085-056025-DM1-2022-05072022000000.xml"
    result = read_totem(xml)
    assert isinstance(result, TotemLu) and result.metadata.etape is Etape.DM
    lines = convert_document(result).lignes
    moved = {line.nature: line.montant for line in lines if line.montant}
    assert moved == {"6522": Decimal("-32000.00"), "605": Decimal("32000.00")}
    assert sum(line.montant for line in lines if line.codrd == "recette") == 0


def test_the_project_validator_and_validata_agree_on_a_broken_budget_file(tmp_path: Path) -> None:
    """What the reference converters produce (capitalised stage, empty chapter/section, bad SIRET, comma
    amount): both validators reject the same cells — the current engine handles the budget schema."""
    path, _ = _csv_for(
        SHARED / "budget/totem-exemples/DOCBUDG-21560046100085-056025-CA-2021-01032022000000.xml", tmp_path
    )
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))
    rows[1][0] = "Compte administratif"  # record 2: BGT_NATDEC
    rows[2][4], rows[2][11] = "", ""  # record 3: BGT_CONTNAT, BGT_SECTION
    rows[3][2] = "21560046100086"  # record 4: BGT_SIRET (Luhn)
    rows[4][14] = "13900,00"  # record 5: BGT_MTREAL
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    broken = tmp_path / "broken.csv"
    broken.write_bytes(out.getvalue().encode("utf-8"))
    theirs = {(e.get("rowNumber"), e.get("fieldName")) for e in validata(broken)["errors"]}
    ours = {
        (issue.row, issue.column) for issue in validate_budget_csv(broken.read_bytes(), strict=False).errors
    }
    expected = {
        (2, "BGT_NATDEC"),
        (3, "BGT_CONTNAT"),
        (3, "BGT_SECTION"),
        (4, "BGT_SIRET"),
        (5, "BGT_MTREAL"),
    }
    assert theirs == expected
    assert ours == expected
