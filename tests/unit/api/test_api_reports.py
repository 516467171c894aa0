"""Pure views: mReport rows, GeoJSON features, collectivités, and the OpenAPI document."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

from regate.api.collectivites import EmptyDirectory, describe, level_of
from regate.api.openapi import docs_page, openapi_document
from regate.api.reports import (
    collectivites,
    feature_collection,
    mreport_csv,
    mreport_deliberations,
    sort_rows,
)
from regate.api.routes import ROUTES

BASE = "https://api.example.org"


class Directory:
    def describe(self, siren: str, pastell_denomination: str | None = None) -> Any:
        if siren == "213502388":
            return SimpleNamespace(
                nom="Ville de Rennes",
                siret=None,
                code_insee="35238",
                kind="commune",
                population=1,
                lon=-1.67494,
                lat=48.093066,
                departement="35",
                epci_siren="243500139",
                epci_nom="Rennes Métropole",
            )
        if siren == "999999999":
            raise RuntimeError("directory bug")
        return SimpleNamespace(nom=None, lon="not a number", lat=1, kind="autre")


def summary_row(siren: str, annee: int, nature: int, nombre: int) -> dict[str, Any]:
    return {
        "siren": siren,
        "annee": annee,
        "nature": nature,
        "nombre": nombre,
        "nombre_documents": nombre,
        "derniere": date(annee, 6, 1),
        "nom": f"Nom {siren}",
        "siret": f"{siren}00011",
    }


def test_levels() -> None:
    assert [level_of(k) for k in ("commune", "epci", "departement", "region", "autre", None)] == [
        "Commune",
        "Intercommunalité",
        "Département",
        "Région",
        "Autres",
        "Autres",
    ]


def test_describe_tolerates_bad_directories() -> None:
    assert describe(Directory(), "999999999", "Fallback")["nom"] == "Fallback"
    assert describe(Directory(), "200000172", "X")["point"] is None  # unparsable longitude
    assert describe(EmptyDirectory(), "200000172", None)["nom"] == "200000172"


def test_mreport_rows_are_strings_sorted_and_escaped() -> None:
    rows = mreport_deliberations(
        "213502388",
        "Ville de Rennes",
        [
            summary_row("213502388", 2023, 1, 3),
            summary_row("213502388", 2024, 1, 12),
            summary_row("213502388", 2024, 2, 4),
        ],
        [{"cle": "2024-01", "nombre": 7}, {"cle": "2023-12", "nombre": 3}],
        [{"cle": "7", "nombre": 5}, {"cle": "1", "nombre": 9}, {"cle": "", "nombre": 1}],
        [
            {
                "delib_date": "2024-06-01",
                "delib_objet": "<script>alert(1)</script> & co",
                "delib_url": None,
                "delib_matiere_code": "7.1",
            }
        ],
        (-1.67494, 48.093066),
        BASE,
        today=date(2024, 6, 1),
    )
    assert all(isinstance(v, str) for r in rows for v in r.values())
    assert rows == sort_rows(list(reversed(rows)))
    figure = next(r for r in rows if r["dataviz"] == "delib_nb_annee")
    assert (figure["label"], figure["data"]) == ("Délibérations publiées en 2024", "12")
    matieres = [(r["label"], r["data"]) for r in rows if r["dataviz"] == "delib_par_matiere"]
    assert matieres == [("Commande publique", "9"), ("Finances locales", "5"), ("Non classé", "1")]
    months = [r for r in rows if r["dataviz"] == "delib_par_mois"]
    assert len(months) == 24 and months[0]["dataset"] == "2023" and months[11]["data"] == "3"
    assert [r["order"] for r in months[:12]] == [str(i) for i in range(1, 13)]  # numeric, not lexical
    objet = next(r for r in rows if r["dataviz"] == "delib_dernieres" and r["dataset"] == "2")["data"]
    assert "<script>" not in objet and "&lt;script&gt;" in objet
    assert mreport_csv(rows).decode().splitlines()[0] == "dataid,dataviz,dataset,order,label,data"


def test_mreport_dataset_order_follows_js_key_order() -> None:
    rows = [
        {"dataid": "1", "dataviz": "v", "dataset": d, "order": o, "label": "", "data": ""}
        for d, o in [("mairie", "1"), ("10", "2"), ("2", "10"), ("2", "9")]
    ]
    assert [(r["dataset"], r["order"]) for r in sort_rows(rows)] == [
        ("2", "9"),
        ("2", "10"),
        ("10", "2"),
        ("mairie", "1"),
    ]


def test_feature_collection_properties() -> None:
    summary = [
        summary_row("213502388", 2024, 1, 12),
        summary_row("213502388", 2024, 3, 2),
        summary_row("213502388", 2023, 2, 1),
        summary_row("200000172", 2024, 1, 1),
    ]
    latest = [
        {
            "siren": "213502388",
            "annee": 2024,
            "delib_date": "2024-06-01",
            "delib_objet": "Budget",
            "delib_matiere_code": "7.1",
            "delib_url": f"{BASE}/v1/documents/abc",
        }
    ]
    fc = feature_collection(summary, latest, Directory(), BASE)
    assert [f["id"] for f in fc["features"]] == ["213502388-2023", "213502388-2024"]
    props = fc["features"][1]["properties"]
    assert props["deliberation_publie"] == "OUI" and props["nb_delib_publie"] == 12
    assert props["nb_acte_indiv"] == 2 and props["nb_actes"] == 14 and props["level"] == "Commune"
    assert props["deliberations"][0]["url"].endswith("/v1/documents/abc")
    assert fc["features"][0]["properties"]["deliberation_publie"] == "NON"
    assert fc["features"][0]["geometry"]["coordinates"] == [-1.67494, 48.093066]
    assert feature_collection(summary, latest, Directory(), BASE, dep="29")["features"] == []


def test_collectivites_view() -> None:
    data = collectivites(
        [summary_row("213502388", 2024, 1, 12), summary_row("213502388", 2024, 2, 1)], Directory(), BASE
    )
    (rennes,) = data
    assert rennes["annees"] == {"2024": {"deliberations": 12, "actes": 13}}
    assert rennes["siret"] == "21350238800011"  # from the acts when the directory has none
    assert rennes["urls"]["mreport"] == f"{BASE}/v1/mreport/deliberations?dataid=213502388"


def test_openapi_document_validates_and_covers_every_route() -> None:
    from openapi_spec_validator import validate

    document = openapi_document(BASE)
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {r.path for r in ROUTES}
    params = {p["name"]: p for p in document["paths"]["/v1/deliberations"]["get"]["parameters"]}
    assert set(params) >= {
        "siren",
        "annee",
        "date_min",
        "date_max",
        "matiere",
        "q",
        "publie",
        "fields",
        "sort",
        "limit",
        "cursor",
        "format",
    }
    assert params["siren"]["schema"]["type"] == "array" and params["siren"]["explode"] is True
    assert "-delib_date" in params["sort"]["schema"]["enum"]
    html = docs_page(document)
    assert "/v1/mreport/{report}" in html and "<script" not in html
