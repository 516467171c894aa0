"""The shipped mViewer and mReport examples stay bound to what the API really serves."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from regate.api.reports import feature_collection, mreport_deliberations

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _rows() -> list[dict[str, str]]:
    summary = [
        {
            "siren": "213502388",
            "annee": y,
            "nature": 1,
            "nombre": 3,
            "derniere": date(y, 5, 1),
            "nom": "Rennes",
            "siret": None,
        }
        for y in (2023, 2024)
    ]
    latest = [
        {"delib_date": "2024-05-01", "delib_objet": "Budget", "delib_url": None, "delib_matiere_code": "7.1"}
    ]
    return mreport_deliberations(
        "213502388",
        "Rennes",
        summary,
        [{"cle": "2024-05", "nombre": 3}],
        [{"cle": "7", "nombre": 6}],
        latest,
        (-1.6, 48.1),
        "https://api.example.org",
        today=date(2024, 6, 1),
    )


def test_mreport_config_is_json_mode_on_the_api() -> None:
    config = json.loads((EXAMPLES / "mreport/deliberations/config.json").read_text())
    assert urlsplit(config["data_url"]).path == "/v1/mreport/deliberations"
    assert config["data_format"] == "json" and config["dataid"] == "dataid"
    assert config["data_other_parameters"] == []  # required in json mode, or the client throws


def test_every_report_element_gets_rows_and_every_row_has_an_element() -> None:
    html = (EXAMPLES / "mreport/deliberations/report.html").read_text()
    assert 'class="report container-fluid"' in html
    ids = set(re.findall(r'id="([^"]+)"', html))
    vizs = {r["dataviz"] for r in _rows()}
    assert ids == vizs
    for chart in re.findall(r'<div id="[^"]+" class="report-chart"[^>]*>', html, flags=re.S):
        assert "data-colors=" in chart
    for table in re.findall(r'<div id="[^"]+" class="report-table"[^>]*>', html):
        assert "data-label=" in table


def test_mviewer_app_and_template() -> None:
    root = ET.parse(EXAMPLES / "mviewer/apps/regate_deliberations.xml").getroot()
    assert root.find("application") is not None
    assert len([b for b in root.iter("baselayer") if b.get("visible") == "true"]) == 1
    layer = next(root.iter("layer"))
    assert layer.get("type") == "geojson" and layer.get("legendurl") == "false"
    assert urlsplit(layer.get("url")).path == "/v1/collectivites.geojson"
    template = (EXAMPLES / "mviewer/apps/templates/deliberations.mst").read_text()
    assert template.startswith("{{#features}}") and '<li id="{{feature_ol_uid}}" class="item">' in template
    fc = feature_collection(
        [
            {
                "siren": "213502388",
                "annee": 2024,
                "nature": 1,
                "nombre": 3,
                "derniere": date(2024, 5, 1),
                "nom": "Rennes",
                "siret": None,
            }
        ],
        [],
        _Dir(),
        "https://api.example.org",
    )
    properties = set(fc["features"][0]["properties"]) | {
        "feature_ol_uid",
        "features",
        "date",
        "objet",
        "url",
        "matiere",
    }
    used = set(re.findall(r"{{[#^/]?(\w+)}}", template)) | set(
        re.findall(r"{{(\w+)}}", layer.get("tooltipcontent"))
    )
    assert used <= properties, used - properties


class _Dir:
    def describe(self, siren: str, pastell_denomination: str | None = None) -> object:
        from types import SimpleNamespace

        return SimpleNamespace(
            nom="Rennes",
            lon=-1.6,
            lat=48.1,
            kind="commune",
            code_insee="35238",
            departement="35",
            siret=None,
            population=None,
            epci_siren=None,
            epci_nom=None,
        )


def _marches_rows() -> list[dict[str, str]]:
    from regate.flux.marches import report

    return report.rows(
        "213502388",
        "Rennes",
        months=[{"cle": "2024-05", "nombre": 3, "montant_total": 1.0}],
        procedures=[{"cle": "Procédure adaptée", "nombre": 3}],
        cpv=[{"cle": "45", "nombre": 3}],
        latest=[{"date_notification": date(2024, 5, 1), "objet": "Voirie", "procedure": "Procédure adaptée"}],
        files=[("21350238800019", 2024)],
        base_url="https://api.example.org",
        today=date(2024, 6, 1),
    )


def test_marches_report_config_and_elements_match_the_rows() -> None:
    config = json.loads((EXAMPLES / "mreport/marches/config.json").read_text())
    assert urlsplit(config["data_url"]).path == "/v1/mreport/marches"
    assert config["data_format"] == "json" and config["dataid"] == "dataid"
    assert config["data_other_parameters"] == []
    html = (EXAMPLES / "mreport/marches/report.html").read_text()
    assert 'class="report container-fluid"' in html
    assert set(re.findall(r'id="([^"]+)"', html)) == {r["dataviz"] for r in _marches_rows()}
    for chart in re.findall(r'<div id="[^"]+" class="report-chart"[^>]*>', html, flags=re.S):
        assert "data-colors=" in chart
    for element in re.findall(r'<div id="([^"]+)" class="report-table" data-label="([^"]+)"', html):
        columns = {r["dataset"] for r in _marches_rows() if r["dataviz"] == element[0]}
        assert len(element[1].split(",")) == len(columns), element


def _budgets_rows() -> list[dict[str, str]]:
    from regate.flux.budgets import report
    from regate.flux.budgets.api import Poste, Synthese, SyntheseEtape, TotalSection

    poste = Poste(code="011", libelle="Charges à caractère général", montant=1200.5)
    etape = SyntheseEtape(
        etape="BP",
        natdec="budget primitif",
        montant="mt_prev",
        documents=1,
        sections=[
            TotalSection(section="fonctionnement", recettes=2000, depenses=1200.5, solde=799.5),
            TotalSection(section="investissement", recettes=0, depenses=0, solde=0),
        ],
        recettes_par_chapitre=[Poste(code="73", libelle="Impôts et taxes", montant=2000)],
        depenses_par_chapitre=[poste],
        recettes_par_fonction=[],
        depenses_par_fonction=[],
        top_depenses=[Poste(code="6068", libelle="Autres matières", montant=1200.5)],
    )
    body = Synthese(siren="213502388", annee=2025, budgets=[], etapes=[etape], fichier="x")
    return report.rows(
        "213502388", "Rennes", body, [(2025, "https://api.example.org/v1/budgets/213502388/2025.csv")]
    )


def test_budgets_report_config_and_elements_match_the_rows() -> None:
    config = json.loads((EXAMPLES / "mreport/budgets/config.json").read_text())
    assert urlsplit(config["data_url"]).path == "/v1/mreport/budgets"
    assert config["data_format"] == "json" and config["dataid"] == "dataid"
    assert config["data_other_parameters"] == []
    html = (EXAMPLES / "mreport/budgets/report.html").read_text()
    rows = _budgets_rows()
    assert set(re.findall(r'id="([^"]+)"', html)) == {r["dataviz"] for r in rows}
    for chart in re.findall(r'<div id="[^"]+" class="report-chart"[^>]*>', html, flags=re.S):
        assert "data-colors=" in chart
    for element in re.findall(r'<div id="([^"]+)" class="report-table" data-label="([^"]+)"', html):
        columns = {r["dataset"] for r in rows if r["dataviz"] == element[0]}
        assert len(element[1].split(",")) == len(columns), element
    sections = [r for r in rows if r["dataviz"] == "budgets_sections"]
    assert {r["dataset"] for r in sections} == {"1", "2"}  # recettes, dépenses: the chart's two labels
    assert all(isinstance(v, str) for r in rows for v in r.values())
