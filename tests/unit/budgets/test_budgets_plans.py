"""Shipped plans de comptes: integrity, size, lookups and the explicit fallback policy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from regate.flux.budgets.plans import (
    DATA_DIR,
    Compte,
    PlanDataError,
    PlanIntrouvable,
    PlansDeComptes,
    Repli,
    declinaisons_parentes,
    parse_nomenclature,
)


@pytest.fixture(scope="module")
def plans() -> PlansDeComptes:
    return PlansDeComptes()


def test_every_official_plan_is_shipped_small_with_licence_and_pins(plans: PlansDeComptes) -> None:
    index = json.loads((DATA_DIR / "index.json").read_text(encoding="utf-8"))
    assert len(plans.plan_keys()) == 215
    assert plans.exercices() == list(range(2013, 2025))
    assert {norme for _, norme, _ in plans.plan_keys()} == {"M14", "M4", "M52", "M57", "M61", "M71"}
    shipped = sum(f.stat().st_size for f in DATA_DIR.iterdir())
    assert shipped < 512 * 1024, f"{shipped} bytes: the data ships in every Lambda"
    assert "LGPL" in index["licence"] and "LGPL-2.0-or-later" in (DATA_DIR / "SOURCES.md").read_text()
    assert all(len(source["sha256"]) == 64 for source in index["sources"])
    assert all(len(entry["xml_sha256"]) == 64 for entry in index["plans"].values())


def test_lookups_in_one_plan(plans: PlansDeComptes) -> None:
    plan = plans.plan(2024, "M57_A")
    assert plan is not None and plan.cle == "2024/M57/M57_A" and plan.nomenclature == "M57-M57_A"
    chapitre = plan.chapitre("011")
    assert (
        chapitre is not None and chapitre.section == "F" and chapitre.libelle == "Charges à caractère général"
    )
    assert plan.chapitre("4581001") is None
    prefixed = plan.chapitre_par_prefixe("4581001")
    assert prefixed is not None and prefixed.code == "4581" and prefixed.section == "I"
    compte = plan.compte("1641")
    assert compte is not None and compte.RR == "16" and compte.DR == "16" and compte.parent == "164"
    assert plan.compte("1641999") is None
    parent = plan.compte_parent("1641999")
    assert parent is not None and parent.code == "1641"
    fonction = plan.fonction("020")
    assert fonction is not None and fonction.parent == "02"
    assert plan.fonction_parente("0209") == fonction
    assert plans.plan(2024, "M57") is None  # no plain M57 after 2022


def test_chapter_by_direction_and_operation_type() -> None:
    compte = Compte("6045", "x", "604", DR="011", RR="", DOES="", ROES="", DOIS="043", ROIS="")
    assert compte.chapitre_pour("D", "0", None) == "011"
    assert compte.chapitre_pour("R", "0", None) is None
    assert compte.chapitre_pour("D", "1", "1") == "043"
    assert compte.chapitre_pour("D", "1", "2") is None
    assert compte.chapitre_pour("D", "1", None) == "043"  # the only order chapter
    both = Compte("3555", "x", "", DR="", RR="", DOES="040", ROES="040", DOIS="041", ROIS="041")
    assert both.chapitre_pour("R", "1", "2") == "040"
    assert both.chapitre_pour("R", "1", "1") == "041"
    assert both.chapitre_pour("R", "1", None) is None  # ambiguous: never guessed


@pytest.mark.parametrize(
    ("exercice", "nomenclature", "used", "repli"),
    [
        (2022, "M14-M14_COM_500_3500", "2022/M14/M14_COM_500_3500", None),
        (2025, "M57-M57_A", "2024/M57/M57_A", Repli.EXERCICE_ANTERIEUR),  # no 2025 plan yet
        (2031, "M4-M49_D", "2024/M4/M49_D", Repli.EXERCICE_ANTERIEUR),
        (2023, "M57-M57", "2022/M57/M57", Repli.EXERCICE_ANTERIEUR),  # plain M57 ends in 2022
        (2022, "M57-M57_P", "2022/M57/M57", Repli.DECLINAISON_PARENTE),  # M57_P starts in 2023
        (2021, "M4-M43", "2021/M4/M4", Repli.DECLINAISON_PARENTE),  # M43 starts in 2022
        (2012, "M14-M14_COM_SUP3500", "2013/M14/M14_COM_SUP3500", Repli.EXERCICE_POSTERIEUR),
        (2024, "M57_A", "2024/M57/M57_A", None),  # bare declinaison (CFU comptable part)
    ],
)
def test_resolution_and_fallbacks(
    plans: PlansDeComptes, exercice: int, nomenclature: str, used: str, repli: Repli | None
) -> None:
    resolution = plans.resolve(exercice, nomenclature)
    assert resolution.plan.cle == used
    assert resolution.repli == repli
    if repli is None:
        assert resolution.message is None
    else:
        assert (
            resolution.message is not None
            and str(exercice) in resolution.message
            and repli.value in (resolution.message)
        )


@pytest.mark.parametrize("nomenclature", ["M99-M99_X", "", "X14-M14", "M14-../../etc", "M57-"])
def test_unknown_or_malformed_nomenclature_is_an_explicit_error(
    plans: PlansDeComptes, nomenclature: str
) -> None:
    with pytest.raises(PlanIntrouvable) as caught:
        plans.resolve(2022, nomenclature)
    assert caught.value.nomenclature == nomenclature


def test_nomenclature_parsing_and_parents() -> None:
    assert parse_nomenclature("M14-M14_COM_SUP3500") == ("M14", "M14_COM_SUP3500")
    assert parse_nomenclature(" M4-M43_D ") == ("M4", "M43_D")
    assert parse_nomenclature("M43_D", {"M43_D": "M4"}) == ("M4", "M43_D")
    assert declinaisons_parentes("M14", "M14_COM_500_3500") == ["M14_COM_500", "M14_COM", "M14"]
    assert declinaisons_parentes("M4", "M43_D") == ["M43", "M4"]
    assert declinaisons_parentes("M57", "M57") == []


def test_other_exercices_nearest_first(plans: PlansDeComptes) -> None:
    plan = plans.plan(2022, "M43_D")
    assert plan is not None
    years = [other.exercice for other in plans.autres_exercices(plan)]
    assert years[:3] == [2021, 2020, 2019] and 2022 not in years


def _copy_data(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def test_tampered_data_file_is_refused(tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    blob = bytearray((data / "M14.json.xz").read_bytes())
    blob[-20] ^= 0xFF
    (data / "M14.json.xz").write_bytes(bytes(blob))
    plans = PlansDeComptes(data_dir=data)
    assert plans.plan(2024, "M57_A") is not None  # other normes unaffected
    with pytest.raises(PlanDataError, match="sha256"):
        plans.plan(2022, "M14_COM_500_3500")


def test_missing_or_foreign_index_is_refused(tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    index = json.loads((data / "index.json").read_text(encoding="utf-8"))
    index["format"] = 99
    (data / "index.json").write_text(json.dumps(index), encoding="utf-8")
    with pytest.raises(PlanDataError, match="format"):
        PlansDeComptes(data_dir=data).plan_keys()
    with pytest.raises(PlanDataError):
        PlansDeComptes(data_dir=tmp_path / "nowhere").plan_keys()


def test_loaded_lazily_one_norme_at_a_time() -> None:
    plans = PlansDeComptes()
    plans.plan(2024, "M57_A")
    assert set(plans._normes) == {"M57"}
