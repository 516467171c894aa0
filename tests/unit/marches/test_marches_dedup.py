"""Deduplication as the official consolidation does it (identity, latest max date wins, ties: last read)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from regate.flux.marches.dedup import deduplicate, identity, max_date


@dataclass
class Item:
    kind: str
    record: dict[str, Any]


def test_identity_ignores_titulaire_order_and_cents(marche: dict[str, Any]) -> None:
    other = copy.deepcopy(marche)
    marche["titulaires"].append({"titulaire": {"typeIdentifiant": "SIRET", "id": "55204599900869"}})
    other["titulaires"].insert(0, {"titulaire": {"typeIdentifiant": "SIRET", "id": "55204599900869"}})
    other["montant"] = marche["montant"] + 0.4
    assert identity("marche", marche) == identity("marche", other)
    other["montant"] += 1
    assert identity("marche", marche) != identity("marche", other)


def test_max_date_takes_modifications_and_floor(marche: dict[str, Any]) -> None:
    assert max_date(marche) == "2024-09-20"
    marche.pop("modifications")
    marche["datePublicationDonnees"] = "2023-05-01"
    assert max_date(marche) == "2024-01-01"


def test_updated_record_wins_whatever_the_order(marche: dict[str, Any]) -> None:
    older = copy.deepcopy(marche)
    older.pop("modifications")
    newer = marche
    for order in ([older, newer], [newer, older]):
        items = [Item("marche", r) for r in order]
        result = deduplicate(items)
        assert [items[i].record for i in result.kept] == [newer]
        assert len(result.duplicates) == 1 and result.concurrent == []


def test_exact_duplicates_tie_keeps_the_last(marche: dict[str, Any]) -> None:
    items = [Item("marche", copy.deepcopy(marche)) for _ in range(3)]
    result = deduplicate(items)
    assert result.kept == [2] and sorted(d.dropped for d in result.duplicates) == [0, 1]


def test_corrected_amount_keeps_both_and_reports_them(marche: dict[str, Any]) -> None:
    corrected = copy.deepcopy(marche)
    corrected["montant"] = 97450.0
    result = deduplicate([Item("marche", marche), Item("marche", corrected)])
    assert result.kept == [0, 1] and result.duplicates == []
    assert result.concurrent == [(("marche", "21350238800019", "RES2024T0500001"), [0, 1])]


def test_concessions_and_marches_do_not_collide(marche: dict[str, Any], concession: dict[str, Any]) -> None:
    concession["id"] = marche["id"]
    result = deduplicate([Item("marche", marche), Item("contrat-concession", concession)])
    assert result.kept == [0, 1]
    twin = copy.deepcopy(concession)
    twin["concessionnaires"].append({"concessionnaire": {"typeIdentifiant": "SIRET", "id": "99999999999999"}})
    assert identity("contrat-concession", concession) == identity("contrat-concession", twin)
