"""Parameters, filters and cursors of the marchés API (pure: no S3, no DuckDB)."""

from __future__ import annotations

from datetime import date

import pytest

from regate.api.errors import ApiError
from regate.api.openapi import openapi_document
from regate.api.params import parse_params
from regate.api.routes import ROUTES_BY_ID
from regate.flux.marches.api import (
    MARCHE_FIELDS,
    Cursor,
    Filtres,
    MarchesParams,
    MarchesStatsParams,
    schema_enums,
)


def _parse(model, **raw: list[str]):
    return parse_params(model, raw)


def test_filters_bind_every_value_as_a_parameter() -> None:
    params = _parse(
        MarchesParams,
        acheteur=["21350238800019,212900195"],
        titulaire=["44306184100047"],
        annee=["2024"],
        cpv=["45"],
        montant_min=["1000"],
        montant_max=["2e5"],
        q=["Réfection d'une école"],
        procedure=["Procédure adaptée"],
    )
    filtres = Filtres.from_params(params)
    where, args = filtres.where(["t.parquet"])
    assert where.count("?") == len(args)
    assert "Réfection" not in where and "45" not in where  # user text only in the arguments
    assert args[:4] == ["212900195", "21350238800019", "212900195", "21350238800019"]
    assert args[4:6] == [["t.parquet"], "44306184100047"]
    assert "refection" in args and "ecole" in args and 200000.0 in args


def test_titulaire_filter_without_titulaires_table_matches_nothing() -> None:
    filtres = Filtres(titulaires=("44306184100047",))
    assert filtres.where([]) == ("FALSE", [])


@pytest.mark.parametrize(
    ("raw", "status", "name"),
    [
        ({"acheteur": ["2135023880001"]}, 422, "acheteur"),
        ({"acheteur": ["x" * 500]}, 422, "acheteur"),
        ({"titulaire": ["213502388"]}, 422, "titulaire"),
        ({"cpv": ["4 5"]}, 422, "cpv"),
        ({"cpv": ["123456789"]}, 422, "cpv"),
        ({"nature": ["Marché'); DROP TABLE x; --"]}, 422, "nature"),
        ({"montant_min": ["nan"]}, 422, "montant_min"),
        ({"montant_min": ["5"], "montant_max": ["4"]}, 422, "montant_max"),
        ({"fields": ["uid,../../etc"]}, 422, "fields"),
        ({"sort": ["objet; --"]}, 422, "sort"),
        ({"siren": ["213502388"]}, 400, None),
    ],
)
def test_hostile_values_are_refused_with_the_parameter_named(raw, status: int, name: str | None) -> None:
    with pytest.raises(ApiError) as caught:
        parse_params(MarchesParams, raw)
    assert caught.value.status == status
    if name:
        assert caught.value.details == {"parametre": name} and name in caught.value.message


def test_schema_values_are_accepted_and_listed() -> None:
    enums = schema_enums()
    assert "Procédure adaptée" in enums["procedure"] and "Délégation de service public" in enums["nature"]
    for value in enums["nature"]:
        assert _parse(MarchesStatsParams, nature=[value]).nature == value


def test_cursor_round_trip_and_tampering() -> None:
    filtres = Filtres(annee=2024)
    token = Cursor("-date", date(2024, 5, 2), "marche:x1", filtres.fingerprint()).encode()
    cursor = Cursor.decode(token, "-date", filtres)
    assert cursor.value == date(2024, 5, 2) and cursor.tie == "marche:x1"
    for bad, sort, f in (
        (token, "date", filtres),
        (token, "-date", Filtres(annee=2025)),
        (Cursor("montant", "1e9", "t", filtres.fingerprint()).encode(), "montant", filtres),
        ("bm90IGpzb24", "-date", filtres),
    ):
        with pytest.raises(ApiError) as caught:
            Cursor.decode(bad, sort, f)
        assert caught.value.status == 422


def test_openapi_documents_the_marches_routes() -> None:
    document = openapi_document("https://regate.example.org")
    get = document["paths"]["/v1/marches"]["get"]
    names = {p["name"] for p in get["parameters"]}
    assert {
        "acheteur",
        "titulaire",
        "annee",
        "nature",
        "procedure",
        "cpv",
        "montant_min",
        "montant_max",
    } <= names
    assert {"q", "fields", "sort", "cursor", "format"} <= names
    assert set(document["paths"]["/v1/marches/stats"]["get"]["responses"]) >= {"200", "400", "422"}
    assert ROUTES_BY_ID["marches_decp"].resolver_path == "/v1/marches/<siret>/<annee>.json"
    assert "titulaires" in MARCHE_FIELDS and "uid" in MARCHE_FIELDS
