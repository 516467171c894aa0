"""Converter rules: derived chapters, prefix and parent fallbacks, labels from other exercices, rejected
lines with reasons, stage amounts — on the crafted fixture ``converter_cases.xml`` (one rule per line,
M14_COM_500_3500 2022) and the real samples."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from regate.flux.budgets.convert import MotifRejet, TypeRepli, convert_document, parse_montant
from regate.flux.budgets.model import BudgetLine, Etape
from regate.flux.budgets.plans import PlanIntrouvable, Repli
from regate.flux.budgets.totem import TotemLu, read_totem


def _convert(path: Path):
    result = read_totem(path)
    assert isinstance(result, TotemLu)
    return convert_document(result, document_id="doc-1")


@pytest.fixture()
def converted(budget_fixtures: Path):
    return _convert(budget_fixtures / "converter_cases.xml")


def _by_line(conversion) -> dict[int, BudgetLine]:
    return {line.ligne: line for line in conversion.lignes}


def test_kept_lines_and_their_classification(converted) -> None:
    lines = _by_line(converted)
    assert sorted(lines) == [1, 2, 3, 4, 6, 7, 8, 9, 20, 22]
    plain = lines[1]
    assert (plain.contnat, plain.contnat_source, plain.contnat_label) == (
        "011",
        "totem",
        "Charges à caractère général",
    )
    assert (plain.section, plain.opbudg, plain.codrd, plain.artspe) == (
        "fonctionnement",
        "réel",
        "dépense",
        "non spécialisé",
    )
    assert plain.document_id == "doc-1" and plain.plan_de_comptes == "2022/M14/M14_COM_500_3500"
    derived = lines[2]  # no ContNat: RR of account 7015
    assert (derived.contnat, derived.contnat_source, derived.section) == ("70", "plan", "fonctionnement")
    order = lines[3]  # order between sections: ROES; comma decimal accepted
    assert (order.contnat, order.section, order.opbudg, order.typopbudg) == (
        "040",
        "investissement",
        "ordre",
        2,
    )
    assert order.mt_prev == Decimal("1281287.79")
    tiers = lines[4]  # ContNat 4581001: chapter 4581 by prefix
    assert (tiers.contnat, tiers.section) == ("4581001", "investissement")
    assert tiers.contnat_label == "Opérations sous mandat"
    operation = lines[7]  # equipment operation without ContNat; CaracSup TypOpe is not a section
    assert (operation.operation, operation.contnat, operation.section) == ("1001", "23", "investissement")


def test_account_fallbacks(converted) -> None:
    lines = _by_line(converted)
    parent = lines[6]  # 60452 not in the plan: parent 6045's label and chapter
    assert parent.nature == "60452" and parent.nature_label_source == "compte_parent"
    assert parent.nature_label.startswith("Achats d'études") and parent.contnat == "011"
    libcpte = lines[22]  # 60451 not in the plan, LibCpte given: the file's label
    assert (libcpte.nature_label, libcpte.nature_label_source) == ("ÉTUDES LOCALES, LOT 2", "libcpte")
    replis = {(r.type, r.code): r for r in converted.rapport.replis}
    assert replis[(TypeRepli.LIBELLE_COMPTE_PARENT, "60452")].lignes == [6]
    assert replis[(TypeRepli.CHAPITRE_COMPTE_PARENT, "60452")].nombre == 1
    assert replis[(TypeRepli.LIBELLE_LIBCPTE, "60451")].lignes == [22]
    assert replis[(TypeRepli.CHAPITRE_PREFIXE, "4581001")].lignes == [4]
    assert replis[(TypeRepli.VALEUR_IGNOREE, "ArtSpe=peut-être")].lignes == [20]
    assert lines[20].artspe is None and lines[20].mt_prev == Decimal("0.00")  # "-0.00" normalised
    # M14_COM_500_3500 has no functional references: the code stays, the label is empty, and it is said
    assert lines[8].fonction == "025" and lines[8].fonction_label is None
    assert replis[(TypeRepli.FONCTION_INCONNUE, "025")].nombre == 1


def test_rejected_lines_have_reasons(converted) -> None:
    rejected = {r.numero: r.motif for r in converted.rapport.lignes_rejetees}
    assert rejected == {
        5: MotifRejet.CHAPITRE_NON_DEDUCTIBLE,  # unknown account whose parents give no chapter
        11: MotifRejet.NATURE_ABSENTE,
        12: MotifRejet.CODRD_INVALIDE,
        13: MotifRejet.MONTANT_ILLISIBLE,  # 1.005: three decimals
        14: MotifRejet.MONTANT_ILLISIBLE,  # 12e3
        15: MotifRejet.COMPTE_INCONNU,
        16: MotifRejet.CHAPITRE_NON_DEDUCTIBLE,  # 021 has no DR
        17: MotifRejet.CHAPITRE_INCONNU,
        18: MotifRejet.CODRD_INVALIDE,
        19: MotifRejet.OPBUDG_INVALIDE,
        21: MotifRejet.CODE_TROP_LONG,
    }
    rapport = converted.rapport
    assert rapport.lignes_calculees == 1 and rapport.lignes_lues == 21
    assert rapport.lignes_converties == 10 == len(converted.lignes)
    assert all(r.message for r in rapport.lignes_rejetees)


def test_fonction_labels_and_bs_amount(budget_fixtures: Path) -> None:
    conversion = _convert(budget_fixtures / "converter_fonctions_latin1.xml")
    lines = _by_line(conversion)
    assert conversion.metadata.etape is Etape.BS and conversion.lignes[0].natdec == "budget supplémentaire"
    assert lines[1].fonction_label == "Administration générale de la collectivité"
    assert lines[1].montant == Decimal("150.00")  # BS: MtPropNouv 100 + MtRARPrec 50
    assert lines[2].fonction_label == "Administration générale de la collectivité"  # parent of 0209
    assert lines[3].fonction_label is None
    types = {(r.type, r.code) for r in conversion.rapport.replis}
    assert {(TypeRepli.FONCTION_PARENTE, "0209"), (TypeRepli.FONCTION_INCONNUE, "X9")} <= types


def test_account_missing_from_its_year_is_taken_from_the_nearest_exercice(totem_samples: Path) -> None:
    conversion = _convert(totem_samples / "BP2022_TRANSPORT.xml")
    line = next(line for line in conversion.lignes if line.nature == "6518")
    assert (line.nature_label, line.nature_label_source) == ("Autres", "plan_autre_exercice")
    assert conversion.rapport.lignes_rejetees == []
    assert {r.type for r in conversion.rapport.replis} == {
        TypeRepli.COMPTE_AUTRE_EXERCICE,
        TypeRepli.CHAPITRE_PREFIXE,
    }


def test_plan_fallback_is_reported_on_every_line(budget_fixtures: Path) -> None:
    data = (budget_fixtures / "minimal_utf8.xml").read_bytes().replace(b'V="2022"', b'V="2027"')
    result = read_totem(data)
    assert isinstance(result, TotemLu)
    conversion = convert_document(result)
    assert conversion.rapport.plan_utilise == "2024/M14/M14_COM_500_3500"
    assert (
        conversion.rapport.repli_plan is not None
        and Repli.EXERCICE_ANTERIEUR.value in conversion.rapport.repli_plan
    )
    assert (
        conversion.lignes[0].annee == 2027
        and conversion.lignes[0].plan_de_comptes == "2024/M14/M14_COM_500_3500"
    )


def test_no_plan_at_all_is_an_error(budget_fixtures: Path) -> None:
    result = read_totem(budget_fixtures / "hostile" / "unknown_nomenclature.xml")
    assert isinstance(result, TotemLu)
    with pytest.raises(PlanIntrouvable):
        convert_document(result)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("6100.00", "6100.00"),
        ("0,00", "0.00"),
        ("-12.5", "-12.50"),
        ("+3", "3.00"),
        ("-0.00", "0.00"),
        ("7.100", "7.10"),
    ],
)
def test_amount_parsing(raw: str, value: str) -> None:
    assert str(parse_montant(raw)) == value


@pytest.mark.parametrize("raw", ["1.005", "12e3", "1 000,00", "", "NaN", "Infinity", "1" * 17, "0x10"])
def test_amount_parsing_refuses_inexact_or_odd_values(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_montant(raw)


def test_every_line_is_a_valid_model(converted) -> None:
    for line in converted.lignes:
        assert BudgetLine.model_validate(line.model_dump()) == line


def test_memoised_classification_still_honours_each_lines_libcpte(budget_fixtures: Path) -> None:
    """Lines sharing codes share one plan lookup, except what depends on the line (LibCpte, CaracSup)."""
    template = (budget_fixtures / "minimal_utf8.xml").read_text(encoding="utf-8")
    line = '<LigneBudget><Nature V="60451"/><CodRD V="D"/><MtPrev V="1.00"/><OpBudg V="0"/>{}</LigneBudget>'
    lines = [line.format('<LibCpte V="ÉTUDES A"/>'), line.format(""), line.format('<LibCpte V="ÉTUDES B"/>')]
    body = template.replace(
        '<LigneBudget><Nature V="6045"/><ContNat V="011"/><CodRD V="D"/><MtPrev V="15000.00"/><OpBudg V="0"/>'
        "</LigneBudget>",
        "\n".join(lines * 2),
    )
    result = read_totem(body.encode("utf-8"))
    assert isinstance(result, TotemLu) and len(result.lignes) == 6
    labels = [(line.nature_label, line.nature_label_source) for line in convert_document(result).lignes]
    parent = labels[1]
    assert parent[1] == "compte_parent"
    assert labels == [("ÉTUDES A", "libcpte"), parent, ("ÉTUDES B", "libcpte")] * 2
