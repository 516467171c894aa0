"""Budgets API: parameters, the shared cursor on the budgets' sorts, bound SQL, the pure synthesis."""

from __future__ import annotations

import typing

import pytest

from regate.api.errors import ApiError
from regate.api.params import parse_params
from regate.api.query import Cursor as ApiCursor
from regate.flux.budgets.api import (
    BudgetsParams,
    Cursor,
    EtapeParam,
    Filtres,
    SyntheseParams,
    synthese,
)
from regate.flux.budgets.model import Etape


def test_etape_parameter_is_the_stage_enum() -> None:
    assert set(typing.get_args(EtapeParam)) == {e.value for e in Etape}


def test_params_normalise_and_refuse() -> None:
    p = parse_params(BudgetsParams, {"etape": ["ca"], "sens": ["Depense"], "chapitre": ["011,012"]})
    assert (p.etape, p.sens, p.chapitre) == ("CA", "dépense", ["011", "012"])
    for bad in ({"sens": ["autre"]}, {"etape": ["XX"]}, {"siren": ["12"]}, {"fields": ["nope"]},
                {"chapitre": ["0'1"]}, {"fonction": ["8 OR 1=1"]}, {"siret": ["123"]}):  # fmt: skip
        with pytest.raises(ApiError):
            parse_params(BudgetsParams, bad)
    assert parse_params(SyntheseParams, {"etape": ["bp"]}).etape == "BP"


def test_where_binds_every_value() -> None:
    f = Filtres(
        sirens=("213502388",), annee=2025, etape="BP", sens="dépense", chapitres=("011",), fonction="8"
    )
    where, args = f.where()
    assert "213502388" not in where and "'" not in where  # values are parameters, SIRENs select partitions
    assert args == ["011", 2025, "BP", "dépense", "8"]
    assert Filtres().where() == ("TRUE", [])


def test_cursor_is_the_api_cursor_on_the_budget_sorts() -> None:
    assert issubclass(Cursor, ApiCursor) and "ligne" in Cursor.tie_sql
    f = Filtres(annee=2025)
    token = Cursor("-montant", 1234.5, "213502388:2025:13.d:000000001", f.fingerprint()).encode()
    back = Cursor.decode(token, "-montant", f)
    assert back.value == 1234.5 and back.tie.endswith("000000001")
    clause, args = back.keyset()
    assert "CAST(montant AS DOUBLE) <" in clause and args == [1234.5, 1234.5, back.tie]
    assert Cursor.order_by("annee").startswith("annee ASC")
    for bad, sort, filtres in (
        (Cursor("montant", "1e9", "t", f.fingerprint()).encode(), "montant", f),  # not a number
        (Cursor("annee", 2025.5, "t", f.fingerprint()).encode(), "annee", f),  # not an integer
        (token, "montant", f),  # another sort
        (token, "-montant", Filtres(annee=2024)),  # other filters
        ("!!!", "-montant", f),
    ):
        with pytest.raises(ApiError) as caught:
            Cursor.decode(bad, sort, filtres)
        assert caught.value.status == 422


def test_synthese_is_per_stage_with_the_stage_column() -> None:
    def agg(etape: str, codrd: str, code: str, montant: float) -> dict:
        return {
            "etape": etape,
            "codrd": codrd,
            "code": code,
            "libelle": code,
            "montant": montant,
            "documents": 1,
        }

    chapitres = [agg("DM", "dépense", "011", 5.0), agg("BP", "dépense", "011", 10.0),
                 agg("BP", "dépense", "012", 30.0), agg("BP", "recette", "73", 50.0)]  # fmt: skip
    sections = [agg("BP", "dépense", "fonctionnement", 40.0), agg("BP", "recette", "fonctionnement", 50.0),
                agg("DM", "dépense", "fonctionnement", 5.0)]  # fmt: skip
    body = synthese("213502388", 2025, [], chapitres, sections, [], [], "u")
    assert [e.etape for e in body.etapes] == ["BP", "DM"]  # the budget's order in the year
    bp, dm = body.etapes
    assert (bp.montant, dm.montant) == ("mt_prev", "mt_prop_nouv")
    assert [p.code for p in bp.depenses_par_chapitre] == ["012", "011"]  # largest first
    fonctionnement = bp.sections[0]
    assert (fonctionnement.recettes, fonctionnement.depenses, fonctionnement.solde) == (50.0, 40.0, 10.0)
    assert bp.sections[1].section == "investissement" and bp.sections[1].recettes == 0
