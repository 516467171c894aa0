"""``regate demo --no-serve`` shows marchés publics end to end (issue 15): the Atexo simulator is reached
through the ``regate.demo`` entry point, the scheduled marchés function captures and normalises, the publish
reconcile publishes to the data.gouv.fr simulator, and every marchés URL printed answers — the DECP file byte
for byte what the portal holds."""

from __future__ import annotations

import io
import json
import re
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from rich.console import Console

from regate.storage import layout
from regate_local.datagouv_sim import DatagouvSimulator
from regate_local.runtime import demo
from regate_local.runtime.lambdas import LocalFunction
from regate_local.serve.server import http_api_event

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[3]


def declared_extension(name: str) -> Any:
    """The entry point as pyproject.toml declares it (the installed metadata may be another checkout's)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    value = project["entry-points"]["regate.demo"][name]
    return EntryPoint(name=name, value=value, group="regate.demo").load()


def test_demo_shows_marches_end_to_end(monkeypatch) -> None:
    monkeypatch.setattr(demo, "load_demo_extension", declared_extension)
    seen: dict[str, Any] = {}
    print_report = demo.print_report

    def checking_report(console, result, summary, urls, summary_marches=None) -> None:
        api = LocalFunction("api")
        seen["marches"], seen["urls"], seen["result"] = summary_marches, urls, result
        seen["answers"] = {}
        for url in urls.values():
            parts = urlsplit(url)
            if parts.path.startswith(
                ("/v1/marches", "/v1/mreport/marches", "/v1/budgets", "/v1/mreport/budgets")
            ):
                target = f"{parts.path}?{parts.query}" if parts.query else parts.path
                seen["answers"][url] = api.invoke(http_api_event("GET", target, {}))
        [datagouv] = portals
        seen["budget_files"] = [
            datagouv.file_bytes(r["id"])
            for d in datagouv.datasets.values()
            if d["extras"].get("regate:flux") == "budgets"
            for r in d["resources"]
        ]
        seen["budget_datasets"] = [
            d for d in datagouv.datasets.values() if d["extras"].get("regate:flux") == "budgets"
        ]
        seen["portal"] = {
            r["extras"]["regate:fichier"]: datagouv.file_bytes(r["id"])
            for d in datagouv.datasets.values()
            if d["extras"].get("regate:flux") == "marches"
            for r in d["resources"]
        }
        print_report(console, result, summary, urls, summary_marches)

    portals: list[DatagouvSimulator] = []

    class RecordedSimulator(DatagouvSimulator):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            portals.append(self)

    monkeypatch.setattr("regate_local.datagouv_sim.DatagouvSimulator", RecordedSimulator)
    monkeypatch.setattr(demo, "print_report", checking_report)
    out = io.StringIO()
    assert demo.run_demo(serve=False, console=Console(file=out, width=240)) == 0, out.getvalue()
    text = out.getvalue()

    m = seen["marches"]
    assert m.contracts > 0 and m.buyers >= 2 and m.files >= m.buyers and m.quarantined > 0
    assert seen["result"].stage("marches").ok and seen["result"].stage("marches").invocations == 1
    assert re.search(rf"Marchés publics.*{m.contracts} contrats de {m.buyers} acheteurs", text)
    assert f"{m.quarantined} en quarantaine (avec leurs raisons)" in text
    siret, annee = m.example
    urls = seen["urls"]
    assert urls["Fichier DECP publié / published DECP file"].endswith(f"/v1/marches/{siret}/{annee}.json")
    assert "/api/1/datasets/" in urls["Jeu DECP simulé data.gouv.fr / simulated DECP dataset"]
    for url in urls.values():
        assert url in text
    answers = seen["answers"]
    assert len(answers) == 8 and all(a["statusCode"] == 200 for a in answers.values()), answers
    # budgets end to end: the SCDL budget file is published and served byte for byte, its synthesis answers
    [budget_dataset] = seen["budget_datasets"]
    assert urls["Jeu budgets simulé data.gouv.fr / simulated budgets dataset"].endswith(
        f"/{budget_dataset['id']}/"
    )
    budget_csv = answers[urls["Fichier SCDL budget publié / published SCDL budget file"]]["body"]
    assert budget_csv.encode() in seen["budget_files"]  # the API serves the published bytes
    budget_rows = json.loads(answers[urls["Budgets (API) / budget lines"]]["body"])["data"]
    assert budget_rows
    assert json.loads(answers[urls["Synthèse du budget / budget summary"]]["body"])
    decp = answers[urls["Fichier DECP publié / published DECP file"]]["body"].encode()
    assert decp == seen["portal"][layout.decp_key(siret, annee)]
    listing = json.loads(answers[urls["Marchés publics (API) / public contracts"]]["body"])
    assert listing["data"] and all(row["acheteur_siret"] == siret for row in listing["data"])
    assert json.loads(answers[urls["Statistiques des marchés / contract stats"]]["body"])
    mreport = json.loads(answers[urls["Lignes mReport marchés / mReport rows (contracts)"]]["body"])["data"]
    [total] = [r["data"] for r in mreport if r["dataviz"] == "marches_nb_total"]
    assert int(total) > 0 and {r["dataid"] for r in mreport} == {siret[:9]}
