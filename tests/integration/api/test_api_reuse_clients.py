"""What mReport (json mode) and mViewer (geojson layer) get from the API, checked the way they read it.

mReport groups rows dataid → dataviz → dataset in input order (datasets in JS key order), formats any
figure or table value that JavaScript takes for a number, inserts table cells as HTML; mViewer draws
one marker per feature at its coordinates. The scenario is the shared one, with Rennes Métropole
seated in Rennes' town hall and a fixed clock.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import OrderedDict
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from api_scenario import EPCI, RENNES, Client, FakeDirectory

from regate.api.app import ApiServices, build_services
from regate.api.reports import MOIS, mreport_reformats, page_url
from regate.clock import FakeClock
from regate_local.sampledata import Acte, write_partitions

pytestmark = pytest.mark.integration

HALL = (-1.67494, 48.093066)  # Rennes' town hall
TODAY = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)  # only 2024 of the chart's two years has data


class SharedHallDirectory(FakeDirectory):
    """Rennes Métropole at Rennes' town hall, as in the reference data for many EPCI."""

    def __init__(self) -> None:
        super().__init__()
        self.entries[EPCI] = self.entries[EPCI].model_copy(update={"lon": HALL[0], "lat": HALL[1]})


def _services(env: tuple[Any, Any, Any], now: datetime = TODAY, **updates: Any) -> ApiServices:
    settings, client, _ = env
    services = build_services(
        settings.model_copy(update=updates), client, directory=SharedHallDirectory(), list_ttl_seconds=0
    )
    services.clock = FakeClock(now)
    return services


@pytest.fixture(scope="module")
def reuse(shared_env: tuple[Any, Any, Any]) -> Client:
    return Client(_services(shared_env))


def _mreport(client: Client, query: str = "") -> list[dict[str, str]]:
    return client.json(f"/v1/mreport/deliberations?dataid={RENNES}{query}")["data"]


def _group(rows: list[dict[str, str]]) -> dict[str, dict[str, dict[str, list[str]]]]:
    """mReport's grouping: dataviz → dataset (JS key order: integer-like names first) → data/label."""
    vizs: dict[str, dict[str, dict[str, list[str]]]] = {}
    for row in rows:
        datasets = vizs.setdefault(row["dataviz"], OrderedDict())
        entry = datasets.setdefault(row["dataset"], {"data": [], "label": []})
        entry["data"].append(row["data"])
        entry["label"].append(row["label"])
    for name, datasets in vizs.items():
        ordered = sorted(datasets, key=lambda k: (0, int(k)) if k.isdigit() else (1, 0))
        vizs[name] = OrderedDict((k, datasets[k]) for k in ordered)
    return vizs


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def shown(cell: str) -> str:
    """What a browser shows for a table cell mReport inserted as HTML."""
    parser = _Text()
    parser.feed(cell)
    parser.close()
    return "".join(parser.parts)


# ---------------------------------------------------------------------------------------- mReport
def test_latest_deliberations_newest_first(reuse: Client) -> None:
    table = _group(_mreport(reuse))["delib_dernieres"]
    assert list(table) == ["1", "2", "3"]  # Date, Objet, Matière columns
    dates = [shown(d) for d in table["1"]["data"]]
    assert dates[0] == "2024-12-16" and dates[-1] == "2023-01-20"  # across years, not year by year
    assert dates == sorted(dates, reverse=True) and len(dates) == 8
    assert shown(table["2"]["data"][0]) == "Budget primitif 2025"


def test_monthly_chart_always_has_previous_and_current_year(reuse: Client, shared_env: Any) -> None:
    chart = _group(_mreport(reuse))["delib_par_mois"]
    assert list(chart) == ["2024", "2025"]  # previous, current: the legend "Année précédente, Année en cours"
    for dataset in chart.values():
        assert dataset["label"] == list(MOIS)
    assert chart["2024"]["data"] == ["0", "1", "1", "0", "1", "0", "0", "0", "0", "0", "2", "1"]
    assert chart["2025"]["data"] == ["0"] * 12  # no data this year: zero-filled, not missing
    # a collectivité with one year of data only (Rennes Métropole, 2024): still two datasets
    metro = reuse.json(f"/v1/mreport/deliberations?dataid={EPCI}")["data"]
    assert list(_group(metro)["delib_par_mois"]) == ["2024", "2025"]
    # the years follow the calendar (Europe/Paris: 31 December 23:30 UTC is already 1 January)
    new_year = Client(_services(shared_env, datetime(2023, 12, 31, 23, 30, tzinfo=UTC)))
    chart = _group(_mreport(new_year))["delib_par_mois"]
    assert list(chart) == ["2023", "2024"]
    assert chart["2023"]["data"][0] == "1" and chart["2023"]["data"][5] == "1"


def test_mreport_etag_changes_with_the_year(reuse: Client, shared_env: Any) -> None:
    target = f"/v1/mreport/deliberations?dataid={RENNES}"
    etag = reuse.get(target)["headers"]["ETag"]
    assert reuse.get(target, {"If-None-Match": etag})["statusCode"] == 304
    next_year = Client(_services(shared_env, datetime(2026, 1, 2, tzinfo=UTC)))
    assert next_year.get(target, {"If-None-Match": etag})["statusCode"] == 200


def test_labels_are_not_reformatted_as_numbers(reuse: Client) -> None:
    vizs = _group(_mreport(reuse))
    matieres = vizs["delib_dernieres"]["3"]["data"]
    assert matieres[0] == "<span>7.1</span>" and shown(matieres[0]) == "7.1"
    assert [shown(m) for m in matieres] == ["7.1", "7.10", "7.5", "7.5", "8.3", "1.1", "2.1", "5.2"]
    years = vizs["delib_fichiers"]["1"]["data"]
    assert [shown(y) for y in years] == ["2024", "2023"]
    # no table cell at all is one mReport would print as a number (the tables hold labels only)
    for name in ("delib_dernieres", "delib_fichiers"):
        for dataset in vizs[name].values():
            assert not [c for c in dataset["data"] if mreport_reformats(c)], name
    # the figures that are counts stay numbers, formatted by mReport on purpose ("6" → "6")
    assert vizs["delib_nb_annee"]["1"]["data"] == ["6"] and mreport_reformats("6")
    assert not mreport_reformats(vizs["delib_derniere_date"]["1"]["data"][0])
    # every value a string, rows in (dataviz, dataset, order) order, CSV mode the same rows
    rows = _mreport(reuse)
    assert all(isinstance(v, str) for r in rows for v in r.values())
    parsed = list(
        csv.DictReader(
            io.StringIO(reuse.get(f"/v1/mreport/deliberations?dataid={RENNES}&format=csv")["body"])
        )
    )
    assert parsed == rows


@pytest.mark.parametrize(
    "extra",
    ["&_=1733000000000", "&callback=jQuery37100_1733000000000&_=1733000000001", "&utm_source=newsletter"],
)
def test_cache_buster_and_callback_are_ignored(reuse: Client, extra: str) -> None:
    response = reuse.get(f"/v1/mreport/deliberations?dataid={RENNES}{extra}")
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"  # no JSONP wrapper
    assert json.loads(response["body"])["data"] == _mreport(reuse)
    for target in ("/v1/collectivites.geojson?annee=2024", "/v1/health", "/v1/stats?group=annee"):
        sep = "&" if "?" in target else "?"
        assert reuse.get(f"{target}{sep}{extra[1:]}")["statusCode"] == 200, target


def test_other_unknown_parameters_stay_400(reuse: Client) -> None:
    response = reuse.get(f"/v1/mreport/deliberations?dataid={RENNES}&_=1&annee=2024")
    assert response["statusCode"] == 400
    assert "annee" in json.loads(response["body"])["erreur"]["message"]


def test_jquery_style_request_over_http(server_url: str) -> None:
    """The request jQuery sends with ``cache: false`` (what a dashboard may do), through ``regate serve``."""
    response = requests.get(
        f"{server_url}/v1/mreport/deliberations",
        params={"dataid": RENNES, "_": "1733000000000"},
        headers={"Origin": "https://mreport.example.org", "X-Requested-With": "XMLHttpRequest"},
        timeout=30,
    )
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.json()["data"][0]["dataid"] == RENNES


# ---------------------------------------------------------------------------------------- mViewer
def _meters(a: list[float], b: tuple[float, float]) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def test_commune_and_epci_in_one_town_hall_get_two_markers(reuse: Client, shared_env: Any) -> None:
    body = reuse.json("/v1/collectivites.geojson?annee=2024&dep=35")
    features = {f["properties"]["siren"]: f for f in body["features"]}
    assert set(features) == {RENNES, EPCI}
    rennes, metro = features[RENNES], features[EPCI]
    assert rennes["geometry"]["coordinates"] == list(HALL) and rennes["properties"]["decalage_m"] == 0
    assert metro["geometry"]["coordinates"] != list(HALL)  # one marker each
    assert (
        metro["properties"]["decalage_m"] == 150
        and abs(_meters(metro["geometry"]["coordinates"], HALL) - 150) < 1
    )
    assert metro["geometry"]["coordinates"][1] > HALL[1]  # due north, documented
    assert reuse.json("/v1/collectivites.geojson?annee=2024&dep=35") == body  # deterministic
    # the exact position stays available
    listed = {c["siren"]: c for c in reuse.json("/v1/collectivites")["data"]}
    assert (listed[EPCI]["lon"], listed[EPCI]["lat"]) == HALL
    # REGATE_API_MAP_OFFSET_METERS=0: stacked as in the reference data
    stacked = Client(_services(shared_env, api_map_offset_meters=0))
    coords = {
        tuple(f["geometry"]["coordinates"])
        for f in stacked.json("/v1/collectivites.geojson?annee=2024")["features"]
    }
    assert coords == {HALL}


def test_features_carry_a_human_page_and_the_json(reuse: Client) -> None:
    body = reuse.json("/v1/collectivites.geojson")
    for feature in body["features"]:
        props = feature["properties"]
        assert props["url_page"] == page_url("https://regate.example.org", props["siren"])
        page = urlsplit(props["url_page"])
        html = reuse.get(page.path)
        assert html["statusCode"] == 200 and html["headers"]["Content-Type"].startswith("text/html")
        assert f"id='{page.fragment}'" in html["body"]  # the anchor exists on the page
        json_url = urlsplit(props["url_actes"])
        acts = reuse.json(f"{json_url.path}?{json_url.query}")
        assert acts["data"] and {a["siren"] for a in acts["data"]} == {props["siren"]}
    listed = reuse.json("/v1/collectivites")["data"]
    assert all(c["urls"]["page"] == page_url("https://regate.example.org", c["siren"]) for c in listed)


# --------------------------------------------------------------------------- formula-looking objets
FORMULAS = ["=1+1", '=HYPERLINK("https://evil.example/","x")', "+33 2 99", "-10 % cantine", "@SUM(A1:A2)"]


def test_formula_objets_stay_byte_for_byte_in_api_csv(fresh_env: tuple[Any, Any, Any]) -> None:
    settings, _, curated = fresh_env
    siren = "213500017"
    write_partitions(
        curated,
        [
            Acte(
                siren,
                date(2024, 1, 1 + i),
                objet,
                delib_id=f"F{i}",
                acte_id=f"f-{i}",
                base_url=settings.public_base_url,
            )
            for i, objet in enumerate(FORMULAS)
        ],
    )
    client = Client(_services(fresh_env))
    response = client.get(f"/v1/deliberations?siren={siren}&format=csv&sort=delib_date")
    assert response["statusCode"] == 200
    body = response["body"].encode()
    rows = list(csv.DictReader(io.StringIO(response["body"], newline="")))
    assert [r["DELIB_OBJET"] for r in rows] == FORMULAS
    for objet in FORMULAS:
        cell = '"' + objet.replace('"', '""') + '"' if "," in objet or '"' in objet else objet
        assert f",{cell},".encode() in body  # no quote, apostrophe or tab put before the formula
    # and the JSON is the same text
    data = client.json(f"/v1/deliberations?siren={siren}&sort=delib_date")["data"]
    assert [d["delib_objet"] for d in data] == FORMULAS
