"""Business rules the schema does not encode (format prose + the consolidation's exclusions)."""

from __future__ import annotations

import copy
import random
from datetime import date
from typing import Any

import pytest

from regate.flux.marches.rules import parse_iso_date, rule_findings

TODAY = date(2025, 6, 1)


def codes(kind: str, record: Any) -> dict[str, str]:
    return {f.code: f.severity for f in rule_findings(kind, record, TODAY)}


def test_valid_records_have_no_findings(marche: dict[str, Any], concession: dict[str, Any]) -> None:
    assert rule_findings("marche", marche, TODAY) == []
    assert rule_findings("contrat-concession", concession, TODAY) == []


@pytest.mark.parametrize(
    "value",
    [
        "le 2024-01-15 !",
        "2024-1-15",
        "2024-02-30",
        "2024-13-01",
        "20240115",
        "2024-01-15T10:00:00",
        " 2024-01-15",
    ],
)
def test_dates_are_checked_anchored_and_as_calendar_dates(marche: dict[str, Any], value: str) -> None:
    marche["modifications"][0]["modification"]["datePublicationDonneesModification"] = value
    findings = rule_findings("marche", marche, TODAY)
    assert [(f.code, f.path) for f in findings if f.severity == "error"] == [
        ("date_invalide", "modifications[0].modification.datePublicationDonneesModification")
    ]


def test_parse_iso_date() -> None:
    assert parse_iso_date("2024-02-29") == date(2024, 2, 29)
    assert parse_iso_date("2023-02-29") is None and parse_iso_date(20240101) is None


def test_implausible_year_and_future_notification(marche: dict[str, Any]) -> None:
    marche["datePublicationDonnees"] = "1899-01-01"
    assert codes("marche", marche)["date_hors_plage"] == "error"
    marche["datePublicationDonnees"] = "2024-06-01"
    marche["dateNotification"] = "2025-07-01"
    assert codes("marche", marche)["date_future"] == "error"


def test_publication_before_notification_is_a_warning(marche: dict[str, Any]) -> None:
    marche["datePublicationDonnees"] = "2024-05-01"
    assert codes("marche", marche) == {"publication_avant_notification": "warning"}


def test_origine_ue_at_least_origine_france(marche: dict[str, Any]) -> None:
    marche["origineUE"], marche["origineFrance"] = 0.2, 0.5
    assert codes("marche", marche)["origine_ue_inferieure_france"] == "error"
    marche["origineUE"] = 0.5
    assert "origine_ue_inferieure_france" not in codes("marche", marche)
    del marche["origineUE"]
    assert codes("marche", marche)["origine_ue_manquante"] == "warning"


def test_taux_avance(marche: dict[str, Any]) -> None:
    marche["tauxAvance"] = 0
    assert codes("marche", marche) == {"taux_avance_inconnu": "warning"}  # 0 = "avance, taux inconnu"
    del marche["tauxAvance"]
    assert codes("marche", marche) == {"taux_avance_inconnu": "warning"}
    marche["attributionAvance"], marche["tauxAvance"] = False, 0.2
    assert codes("marche", marche) == {"taux_avance_sans_avance": "error"}
    marche["tauxAvance"] = 0.0
    assert codes("marche", marche) == {}


def _mod(ident: int, day: str) -> dict[str, Any]:
    return {
        "modification": {
            "id": ident,
            "dateNotificationModification": day,
            "datePublicationDonneesModification": day,
        }
    }


def test_modification_ids_unique_and_increasing_with_dates(marche: dict[str, Any]) -> None:
    marche["modifications"] = [_mod(1, "2024-07-01"), _mod(2, "2024-08-01"), _mod(3, "2024-08-01")]
    assert codes("marche", marche) == {}
    marche["modifications"] = [
        _mod(2, "2024-08-01"),
        _mod(1, "2024-07-01"),
    ]  # listed out of order, consistent
    assert codes("marche", marche) == {}
    marche["modifications"] = [_mod(1, "2024-09-01"), _mod(2, "2024-07-01")]
    assert codes("marche", marche) == {"ids_non_croissants": "error"}
    marche["modifications"] = [_mod(1, "2024-07-01"), _mod(1, "2024-08-01")]
    assert codes("marche", marche)["id_duplique"] == "error"
    marche["modifications"] = [_mod(1, "2024-01-01")]
    assert codes("marche", marche) == {"acte_anterieur_au_contrat": "warning"}


def test_modification_of_unknown_acte(marche: dict[str, Any]) -> None:
    marche["modificationsActesSousTraitance"] = [
        {
            "modificationActeSousTraitance": {
                "id": 9,
                "dateNotificationModificationSousTraitance": "2024-07-01",
                "datePublicationDonnees": "2024-07-02",
            }
        }
    ]
    assert codes("marche", marche) == {"modification_acte_inconnu": "error"}
    marche["modificationsActesSousTraitance"][0]["modificationActeSousTraitance"]["id"] = 1
    assert codes("marche", marche) == {}


@pytest.mark.parametrize(
    ("type_id", "value", "ok"),
    [
        ("SIRET", "38103128500491", True),
        ("SIRET", "38103128500492", False),
        ("TAHITI", "A12345678", True),
        ("TAHITI", "A1234", False),
        ("RIDET", "1234567890", True),
        ("FRWF", "FRWF12345678901234", True),
        ("FRWF", "FR12", False),
        ("IREP", "12345AB", True),
        ("HORS-UE", "US123456", True),
        ("HORS-UE", "us1", False),
        ("TVA", "FR40303265045", True),
    ],
)
def test_holder_identifiers(marche: dict[str, Any], type_id: str, value: str, ok: bool) -> None:
    marche["titulaires"][0]["titulaire"] = {"typeIdentifiant": type_id, "id": value}
    found = codes("marche", marche)
    assert ("identifiant_invalide" not in found) is ok
    if not ok:
        assert found["identifiant_invalide"] == "error"


def test_tva_and_sous_traitants_are_warnings(marche: dict[str, Any]) -> None:
    marche["titulaires"][0]["titulaire"] = {"typeIdentifiant": "TVA", "id": "XX000"}
    assert codes("marche", marche) == {"identifiant_invalide": "warning"}
    marche["titulaires"][0]["titulaire"] = {"typeIdentifiant": "SIRET", "id": "38103128500491"}
    marche["actesSousTraitance"][0]["acteSousTraitance"]["sousTraitant"]["id"] = "214356"
    assert codes("marche", marche) == {"identifiant_invalide": "warning"}


def test_buyer_siret_checksum(marche: dict[str, Any], concession: dict[str, Any]) -> None:
    marche["acheteur"]["id"] = "21350238800018"
    concession["autoriteConcedante"]["id"] = "12345678901234"
    assert codes("marche", marche)["acheteur_siret_invalide"] == "error"
    assert codes("contrat-concession", concession)["acheteur_siret_invalide"] == "error"


def test_amounts_and_durations(marche: dict[str, Any], concession: dict[str, Any]) -> None:
    marche["montant"] = 3_500_000_000
    assert codes("marche", marche)["montant_excessif"] == "error"
    marche["montant"] = 999_999_988.0
    assert codes("marche", marche)["montant_suspect"] == "error"
    marche["montant"] = 123456789.5
    assert codes("marche", marche)["montant_suspect"] == "error"
    marche["montant"] = 250_000_000.0
    assert "montant_suspect" not in codes("marche", marche)
    marche["dureeMois"] = 181
    assert codes("marche", marche)["duree_excessive"] == "error"
    concession["dureeMois"] = 361
    assert codes("contrat-concession", concession)["duree_excessive"] == "error"
    concession["dureeMois"] = 360
    assert codes("contrat-concession", concession) == {}


def test_contradictory_considerations(marche: dict[str, Any]) -> None:
    marche["considerationsSociales"]["considerationSociale"] = [
        "Pas de considération sociale",
        "Clause sociale",
    ]
    assert codes("marche", marche) == {"considerations_contradictoires": "error"}


def test_discouraged_id_characters(marche: dict[str, Any]) -> None:
    marche["id"] = "2024;A&B"
    assert codes("marche", marche) == {"id_caracteres_deconseilles": "warning"}


def test_rules_never_raise_on_hostile_shapes(marche: dict[str, Any], concession: dict[str, Any]) -> None:
    rng = random.Random(11)
    junk = [None, 0, -1, 1e308, float("nan"), True, "x", [], [None], {}, {"id": None}, {"modification": "x"}]
    for base, kind in ((marche, "marche"), (concession, "contrat-concession")):
        keys = list(base)
        for _ in range(400):
            record = copy.deepcopy(base)
            for key in rng.sample(keys, 3):
                record[key] = rng.choice(junk)
            rule_findings(kind, record, TODAY)
    for value in junk:
        assert rule_findings("marche", value, TODAY) == [] or isinstance(value, dict)
