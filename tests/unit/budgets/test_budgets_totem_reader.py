"""The TOTEM reader: metadata of the real samples, the CFU wrapper, PDF budgets, and hostile or broken
files, each one a clear result (never an exception, never network or file access)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from regate.flux.budgets.model import Etape
from regate.flux.budgets.totem import (
    BudgetPdf,
    ErreurTotem,
    TotemInvalide,
    TotemLu,
    TotemReadError,
    open_totem,
    read_totem,
)
from regate_local.budgets.totem_generator import generate_totem

SAMPLES = {
    "BP2022_TRANSPORT.xml": (
        "24350078200095",
        2022,
        Etape.BP,
        "M4-M43_D",
        "TRANSPORT ET MOBILITE SMA",
        "06",
        123,
    ),
    "DOCBUDG-21560046100010-056025-CA-2021-01032022000000.xml": (
        "21560046100010",
        2021,
        Etape.CA,
        "M14-M14_COM_500_3500",
        "BUDGET PRINCIPAL",
        "00",
        196,
    ),
    "DOCBUDG-21560046100010-056025-DM2-2021-25112021000000.xml": (
        "21560046100010",
        2021,
        Etape.DM,
        "M14-M14_COM_500_3500",
        "BUDGET PRINCIPAL",
        "00",
        185,
    ),
    "DOCBUDG-21560046100085-056025-BP-2022-07042022000000.xml": (
        "21560046100085",
        2022,
        Etape.BP,
        "M14-M14_COM_500_3500",
        "LOTISSEMENT LE BOCENO",
        "06",
        21,
    ),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_real_samples_metadata(totem_samples: Path, name: str) -> None:
    siret, exercice, etape, nomenclature, libelle, cod_bud, lines = SAMPLES[name]
    result = read_totem(totem_samples / name)
    assert isinstance(result, TotemLu)
    meta = result.metadata
    assert (meta.siret, meta.siren, meta.exercice, meta.etape) == (siret, siret[:9], exercice, etape)
    assert (meta.nomenclature, meta.libelle_etab, meta.cod_bud) == (nomenclature, libelle, cod_bud)
    assert meta.racine == "DocumentBudgetaire" and meta.encodage == "ISO-8859-1"
    assert meta.scellement is not None and meta.scellement.tzinfo is not None
    assert len(result.lignes) == lines and result.lignes_calculees == 0


def test_sealing_date_and_decision_date(totem_samples: Path) -> None:
    meta = read_totem(totem_samples / "DOCBUDG-21560046100085-056025-DM1-2022-05072022000000.xml").metadata
    assert meta.date_decision == date(2022, 7, 4)
    assert meta.scellement == datetime(2022, 7, 5, 10, 39, 57, 634000, tzinfo=UTC)
    transport = read_totem(totem_samples / "BP2022_TRANSPORT.xml").metadata  # naive: Paris time
    assert transport.scellement == datetime(2022, 2, 8, 13, 13, 52, tzinfo=UTC)
    assert transport.libelle_coll == "SAINT MALO AGGLOMERATION"


def test_raw_line_values(totem_samples: Path) -> None:
    lines = read_totem(totem_samples / "DOCBUDG-21560046100085-056025-BP-2022-07042022000000.xml").lignes
    first = lines[0]
    assert (first.numero, first.nature, first.contnat, first.codrd, first.opbudg) == (
        1,
        "168748",
        None,
        "R",
        "0",
    )
    assert first.section == "I" and first.artspe == "false"
    assert first.montants == {
        "MtBudgPrec": "95000.00",
        "MtPropNouv": "62975.00",
        "MtPrev": "62975.00",
        "CredOuv": "62975.00",
    }
    order = lines[2]
    assert (order.nature, order.contnat, order.typopbudg) == ("3555", "040", "2")


def test_latin1_and_utf8_labels(budget_fixtures: Path) -> None:
    for name in ("minimal_latin1.xml", "minimal_utf8.xml"):
        meta = read_totem(budget_fixtures / name).metadata
        assert meta.libelle_etab == "COMMUNE D'ÉTEL & ENVIRONS"
    assert read_totem(budget_fixtures / "minimal_latin1.xml").metadata.encodage == "ISO-8859-1"


def test_cfu_wrapper_reads_its_budget_part_and_skips_calculated_lines(tmp_path: Path) -> None:
    path = tmp_path / "cfu.xml"
    generated = generate_totem(path, etape="CFU", exercice=2026, nomenclature="M57-M57_A", lignes=60, seed=3)
    result = read_totem(path)
    assert isinstance(result, TotemLu)
    meta = result.metadata
    assert meta.racine == "CompteFinancierUnique" and meta.etape is Etape.CFU and meta.nat_dec == "10"
    assert meta.nomenclature == "M57-M57_A"  # the budget part's, not the comptable part's "M57_A"
    assert len(result.lignes) == generated.lignes == 60
    assert result.lignes_calculees == generated.calculees == 30
    assert [line.numero for line in result.lignes] == sorted({line.numero for line in result.lignes})


def test_pdf_budget_is_a_document_without_rows(budget_fixtures: Path) -> None:
    result = read_totem(budget_fixtures / "budget.pdf")
    assert isinstance(result, BudgetPdf) and result.taille == 77 and "PDF" in result.message
    assert read_totem(b"\n  %PDF-1.7 ...").kind == "pdf"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("billion_laughs.xml", ErreurTotem.DTD_INTERDITE),
        ("xxe_file.xml", ErreurTotem.DTD_INTERDITE),
        ("xxe_http.xml", ErreurTotem.DTD_INTERDITE),
        ("external_dtd.xml", ErreurTotem.DTD_INTERDITE),
        ("truncated.xml", ErreurTotem.XML_TRONQUE),
        ("malformed.xml", ErreurTotem.XML_INVALIDE),
        ("wrong_root.xml", ErreurTotem.RACINE_INATTENDUE),
        ("wrong_namespace.xml", ErreurTotem.RACINE_INATTENDUE),
        ("not_xml.bin", ErreurTotem.PAS_XML),
        ("empty.xml", ErreurTotem.VIDE),
        ("two_budgets.xml", ErreurTotem.PLUSIEURS_BUDGETS),
        ("missing_idetab.xml", ErreurTotem.ENTETE_INCOMPLET),
        ("bad_siret.xml", ErreurTotem.METADONNEE_INVALIDE),
        ("unknown_natdec.xml", ErreurTotem.METADONNEE_INVALIDE),
        ("bad_exer.xml", ErreurTotem.METADONNEE_INVALIDE),
        ("line_outside_budget.xml", ErreurTotem.STRUCTURE_INVALIDE),
        ("no_budget.xml", ErreurTotem.BUDGET_ABSENT),
    ],
)
def test_hostile_and_broken_files_give_a_clear_error(
    budget_fixtures: Path, name: str, code: ErreurTotem
) -> None:
    data = (budget_fixtures / "hostile" / name).read_bytes()
    result = read_totem(data)
    assert isinstance(result, TotemInvalide), result
    assert result.code == code
    assert result.message and "/etc/passwd" not in result.message and "root:" not in result.message
    assert read_totem(budget_fixtures / "hostile" / name) == result  # same verdict from a path


def test_entities_are_never_expanded_even_utf16(budget_fixtures: Path) -> None:
    text = (budget_fixtures / "hostile" / "billion_laughs.xml").read_text(encoding="utf-8")
    utf16 = text.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16")
    result = read_totem(utf16)
    assert isinstance(result, TotemInvalide) and result.code == ErreurTotem.DTD_INTERDITE


def test_doctype_after_a_long_prolog_is_still_refused(budget_fixtures: Path) -> None:
    text = (budget_fixtures / "hostile" / "xxe_file.xml").read_text(encoding="utf-8")
    padded = text.replace("<!DOCTYPE", "<!--" + "x" * 70_000 + "-->\n<!DOCTYPE", 1)
    result = read_totem(padded.encode())
    assert isinstance(result, TotemInvalide) and result.code == ErreurTotem.DTD_INTERDITE


def test_stream_raises_typed_errors_and_is_single_use(budget_fixtures: Path, totem_samples: Path) -> None:
    stream = open_totem((budget_fixtures / "hostile" / "truncated.xml").read_bytes())
    with pytest.raises(TotemReadError) as caught:
        list(stream)
    assert caught.value.code == ErreurTotem.XML_TRONQUE
    stream = open_totem(io.BytesIO((totem_samples / "BP2022_TRANSPORT.xml").read_bytes()))
    first = next(iter(stream))
    assert first.nature == "13911" and stream.metadata is not None and stream.metadata.exercice == 2022
    with pytest.raises(RuntimeError):
        list(stream)
