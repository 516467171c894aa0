"""Repairs: only the known export defects, each logged, the input never mutated."""

from __future__ import annotations

import copy
from typing import Any

from regate.flux.marches.repairs import repair_record
from regate.flux.marches.schema import schema_findings


def test_sdm_defects_are_repaired_and_the_record_becomes_valid(marche: dict[str, Any]) -> None:
    marche["_type"] = "Marché"
    marche["modificationsActesSousTraitance"] = []
    marche["modifications"] = []
    marche["origineUE"] = None
    marche["origineFrance"] = None
    marche["actesSousTraitance"].append(
        {
            "acteSousTraitance": {
                "id": 58696,
                "sousTraitant": {"typeIdentifiant": "SIRET", "id": "55204599900869"},
            }
        }
    )
    before = copy.deepcopy(marche)
    repaired, repairs, warnings = repair_record("marche", marche)
    assert marche == before  # the received record is left as received
    codes = [r.code for r in repairs]
    assert codes.count("liste_vide_supprimee") == 2 and "type_supprime" in codes
    assert codes.count("valeur_null_supprimee") == 2 and "acte_sous_traitance_incomplet" in codes
    assert "_type" not in repaired and "modifications" not in repaired and "origineUE" not in repaired
    assert [a["acteSousTraitance"]["id"] for a in repaired["actesSousTraitance"]] == [1]
    assert [w.code for w in warnings] == ["acte_sous_traitance_incomplet"]
    assert warnings[0].severity == "warning" and warnings[0].detail["acteSousTraitance"]["id"] == 58696
    assert schema_findings("marche", repaired) == []


def test_all_actes_incomplete_removes_the_list_and_orphan_modifications(marche: dict[str, Any]) -> None:
    marche["actesSousTraitance"] = [
        {"acteSousTraitance": {"id": 7, "sousTraitant": {"typeIdentifiant": "SIRET", "id": "55204599900869"}}}
    ]
    marche["modificationsActesSousTraitance"] = [
        {
            "modificationActeSousTraitance": {
                "id": 7,
                "dateNotificationModificationSousTraitance": "2024-07-01",
                "datePublicationDonnees": "2024-07-02",
            }
        }
    ]
    repaired, _, warnings = repair_record("marche", marche)
    assert "actesSousTraitance" not in repaired and "modificationsActesSousTraitance" not in repaired
    assert {w.code for w in warnings} == {"acte_sous_traitance_incomplet", "modification_acte_orpheline"}
    assert schema_findings("marche", repaired) == []


def test_integral_floats_and_rounded_durations(marche: dict[str, Any]) -> None:
    marche["dureeMois"] = 6.0
    marche["offresRecues"] = 4.0
    marche["modifications"][0]["modification"]["dureeMois"] = 7.2
    repaired, repairs, _ = repair_record("marche", marche)
    assert repaired["dureeMois"] == 6 and isinstance(repaired["dureeMois"], int)
    assert repaired["modifications"][0]["modification"]["dureeMois"] == 8
    assert {"entier_normalise", "duree_arrondie"} <= {r.code for r in repairs}


def test_nothing_else_is_touched(marche: dict[str, Any], concession: dict[str, Any]) -> None:
    for kind, record in (("marche", marche), ("contrat-concession", concession)):
        repaired, repairs, warnings = repair_record(kind, record)
        assert repaired == record and repairs == [] and warnings == []


def test_hostile_shapes_do_not_raise(marche: dict[str, Any]) -> None:
    for value in (
        None,
        3,
        "x",
        [],
        {"actesSousTraitance": "x"},
        {"actesSousTraitance": [1, None, {"acteSousTraitance": 3}]},
        {"modifications": [None, {"modification": []}]},
        {"dureeMois": float("inf")},
    ):
        repair_record("marche", value)
    marche["actesSousTraitance"] = [{"acteSousTraitance": {"sousTraitant": {}}}]  # no id: left to the schema
    repaired, _, warnings = repair_record("marche", marche)
    assert repaired["actesSousTraitance"] == marche["actesSousTraitance"] and warnings == []
