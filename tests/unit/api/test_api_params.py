"""Request parameter parsing: unknown names → 400, bad values → 422 with a French message."""

from __future__ import annotations

from datetime import date

import pytest

from regate.api.errors import ApiError
from regate.api.params import (
    CollectivitesParams,
    DeliberationsParams,
    MreportParams,
    NoParams,
    StatsParams,
    parse_params,
)


def test_defaults() -> None:
    params = parse_params(DeliberationsParams, {})
    assert params.siren == [] and params.sort == "-delib_date" and params.format == "json"
    assert params.limit is None and params.publie is None


def test_lists_repeated_or_comma_separated() -> None:
    params = parse_params(DeliberationsParams, {"siren": ["213502388,243500139", "212900195"]})
    assert params.siren == ["213502388", "243500139", "212900195"]
    fields = parse_params(DeliberationsParams, {"fields": ["delib_objet,siren,delib_objet"]})
    assert fields.fields == ["delib_objet", "siren"]


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("OUI", True), ("0", False), ("non", False)])
def test_publie_accepts_french_booleans(raw: str, expected: bool) -> None:
    assert parse_params(DeliberationsParams, {"publie": [raw]}).publie is expected


def test_typed_values() -> None:
    params = parse_params(
        DeliberationsParams,
        {"annee": ["2024"], "date_min": ["2024-01-31"], "matiere": ["7.10"], "limit": ["20"], "q": ["école"]},
    )
    assert params.annee == 2024 and params.date_min == date(2024, 1, 31) and params.matiere == "7.10"
    assert params.limit == 20 and params.q == "école"


def test_unknown_parameter_is_400_listing_accepted_ones() -> None:
    with pytest.raises(ApiError) as caught:
        parse_params(DeliberationsParams, {"anne": ["2024"], "sirens": ["1"]})
    assert caught.value.status == 400
    assert "Paramètres inconnus : anne, sirens" in caught.value.message
    assert "annee" in caught.value.message
    with pytest.raises(ApiError) as caught:
        parse_params(NoParams, {"x": [""]})
    assert caught.value.status == 400 and "aucun" in caught.value.message


@pytest.mark.parametrize(
    ("model", "raw", "name", "fragment"),
    [
        (DeliberationsParams, {"siren": ["21350238"]}, "siren", "9 chiffres"),
        (DeliberationsParams, {"siren": [",".join(str(100000000 + i) for i in range(101))]}, "siren", "100"),
        (DeliberationsParams, {"annee": ["deux mille"]}, "annee", "nombre entier"),
        (DeliberationsParams, {"annee": ["3000"]}, "annee", "maximum 2100"),
        (DeliberationsParams, {"date_max": ["2024-02-30"]}, "date_max", "AAAA-MM-JJ"),
        (DeliberationsParams, {"date_max": ["1700000000"]}, "date_max", "AAAA-MM-JJ"),
        (DeliberationsParams, {"matiere": ["7."]}, "matiere", "7.5"),
        (DeliberationsParams, {"q": ["x" * 201]}, "q", "200"),
        (DeliberationsParams, {"sort": ["objet"]}, "sort", "parmi"),
        (DeliberationsParams, {"limit": ["-1"]}, "limit", "minimum 1"),
        (DeliberationsParams, {"limit": ["1.5"]}, "limit", "entier"),
        (DeliberationsParams, {"q": ["a", "b"]}, "q", "une seule valeur"),
        (StatsParams, {"group": ["semaine"]}, "group", "matiere"),
        (StatsParams, {"nature": ["8"]}, "nature", "maximum 7"),
        (CollectivitesParams, {"dep": ["3"]}, "dep", "département"),
        (MreportParams, {"dataid": ["rennes"]}, "dataid", "SIREN"),
    ],
)
def test_invalid_values_are_422(model: type, raw: dict[str, list[str]], name: str, fragment: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_params(model, raw)
    assert caught.value.status == 422
    assert caught.value.details == {"parametre": name}
    assert fragment in caught.value.message, caught.value.message
    assert caught.value.body()["erreur"]["code"] == 422
