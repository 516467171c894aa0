"""The synthetic TOTEM generator (rehearsal kit): deterministic, every stage and option, and its totals
(computed while writing) agree with what the reader and converter get back."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest

from regate.flux.budgets.amounts import montant_etape
from regate.flux.budgets.convert import convert_document
from regate.flux.budgets.model import MONTANTS, Etape
from regate.flux.budgets.totem import TotemLu, read_totem
from regate_local.budgets.totem_generator import generate_totem, siret_synthetique


def _generate(**kwargs) -> tuple[bytes, object]:
    buffer = io.BytesIO()
    summary = generate_totem(buffer, **kwargs)
    return buffer.getvalue(), summary


def test_deterministic_by_seed() -> None:
    first, _ = _generate(etape="CA", lignes=80, seed=7, fonctions=True)
    again, _ = _generate(etape="CA", lignes=80, seed=7, fonctions=True)
    other, _ = _generate(etape="CA", lignes=80, seed=8, fonctions=True)
    assert first == again and first != other


def test_latin1_by_default_with_character_references() -> None:
    data, _ = _generate(lignes=5, libelle_etab="BUDGET ANNEXE « EAU » – L’ÉTANG")
    assert data.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>')
    text = data.decode("iso-8859-1")
    assert "ÉTANG" in text and "&#8217;" in text and "&#8211;" in text
    result = read_totem(data)
    assert isinstance(result, TotemLu) and result.metadata.libelle_etab == "BUDGET ANNEXE « EAU » – L’ÉTANG"
    utf8, _ = _generate(lignes=5, encoding="UTF-8")
    assert read_totem(utf8).metadata.encodage == "UTF-8"


@pytest.mark.parametrize(
    ("etape", "nomenclature", "exercice"),
    [
        (Etape.BP, "M57-M57_A", 2025),
        (Etape.BS, "M57-M57_D", 2026),
        (Etape.DM, "M57-M57_P", 2027),
        (Etape.CA, "M14-M14_COM_SUP3500", 2024),
        (Etape.CFU, "M57-M57_A", 2026),
        (Etape.BP, "M4-M49_D", 2025),
    ],
)
def test_totals_written_match_totals_read(etape: Etape, nomenclature: str, exercice: int) -> None:
    data, summary = _generate(
        etape=etape, nomenclature=nomenclature, exercice=exercice, lignes=300, seed=1, fonctions=True
    )
    result = read_totem(data)
    assert isinstance(result, TotemLu)
    assert result.metadata.etape is etape and result.metadata.exercice == exercice
    assert result.metadata.nomenclature == nomenclature
    assert len(result.lignes) == summary.lignes == 300 and result.lignes_calculees == summary.calculees
    conversion = convert_document(result)
    assert conversion.rapport.lignes_rejetees == [] and len(conversion.lignes) == 300
    for codrd, sens in (("R", "recette"), ("D", "dépense")):
        lines = [line for line in conversion.lignes if line.codrd == sens]
        for element, field in MONTANTS.items():
            got = sum((getattr(line, field) or Decimal(0) for line in lines), Decimal(0))
            assert got == Decimal(summary.total(codrd, element)) / 100, (codrd, element)
        stage_total = sum((montant_etape(etape, line) for line in lines), Decimal(0))
        assert stage_total == sum((line.montant for line in lines), Decimal(0))


def test_options_show_up_in_the_document() -> None:
    data, summary = _generate(etape="BP", nomenclature="M57-M57_A", lignes=400, seed=2, fonctions=True)
    assert summary.fonctions > 0 and summary.operations > 0 and summary.tiers > 0
    conversion = convert_document(read_totem(data))
    assert any(line.fonction_label for line in conversion.lignes)
    assert any(line.operation for line in conversion.lignes)
    assert any(len(line.contnat) > 4 and line.contnat.startswith("45") for line in conversion.lignes)
    assert {line.contnat_source for line in conversion.lignes} == {"totem", "plan"}
    assert conversion.rapport.repli_plan is not None  # 2025: no shipped plan, explicit fallback
    assert b"DATA_PERSONNEL" in data and "Jeanne" not in "".join(
        line.nature_label for line in conversion.lignes
    )


def test_expected_chapters_are_derived_back(tmp_path: Path) -> None:
    path = tmp_path / "dm.xml"
    summary = generate_totem(path, etape="DM", lignes=200, seed=5, contnat_ratio=0.0, keep_expected=True)
    conversion = convert_document(read_totem(path))
    assert {line.ligne: line.contnat for line in conversion.lignes} == summary.contnat_attendus


def test_synthetic_sirets_pass_luhn() -> None:
    import random

    from stdnum.fr import siren, siret

    rnd = random.Random(0)
    for _ in range(50):
        value = siret_synthetique(rnd)
        assert siret.is_valid(value) and siren.is_valid(value[:9])
