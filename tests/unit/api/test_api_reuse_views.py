"""Pure views for reuse clients: mReport's number formatting rule, shared points, ignored parameters."""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import Field

from regate.api.errors import ApiError
from regate.api.params import (
    IGNORED_PARAMETERS,
    ApiParams,
    CollectivitesParams,
    DeliberationsParams,
    GeojsonParams,
    MreportParams,
    NoParams,
    StatsParams,
    parse_params,
)
from regate.api.reports import (
    feature_collection,
    mreport_reformats,
    mreport_text,
    page_url,
    spread_shared_points,
)

BASE = "https://api.example.org"
#: (value, does mReport print it as a French number?) — JavaScript ``isNaN`` after the first "," → "."
FORMAT_CASES = [
    ("5.3", True),
    ("7.10", True),
    ("2025", True),
    ("", True),  # Number("") is 0: an empty cell shows "0"
    ("1,5", True),
    (" 12 ", True),
    ("\u00a07\u202f", True),  # NBSP and narrow NBSP are trimmed by Number()
    ("\ufeff3", True),
    ("0x1F", True),
    ("0b101", True),
    ("1e3", True),
    ("-5", True),
    ("+.5", True),
    ("Infinity", True),
    ("-Infinity", True),
    ("2024-05-01", False),
    ("7.1.2", False),
    ("1,5,2", False),  # only the first comma is replaced
    ("abc", False),
    ("<span>2025</span>", False),
    ("5.3\u200b", False),  # a zero-width space is not trimmed
    ("1_000", False),
    ("+0x10", False),  # no sign on hex literals
    ("12 345", False),
    ("infinity", False),
    ("٣", False),  # Arabic-Indic digit: not a JS digit
]


@pytest.mark.parametrize(("value", "formats"), FORMAT_CASES)
def test_mreport_number_rule(value: str, formats: bool) -> None:
    assert mreport_reformats(value) is formats


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed (the oracle is optional)")
def test_mreport_number_rule_agrees_with_javascript() -> None:
    """The same cases evaluated by a real JavaScript engine: ``!isNaN(v.replace(",", "."))``."""
    values = [v for v, _ in FORMAT_CASES] + [mreport_text(v) for v, _ in FORMAT_CASES]
    script = (
        "const vs = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(vs.map(v => !isNaN(v.replace(',', '.')))));"
    )
    out = subprocess.run(
        ["node", "-e", script],
        input=json.dumps(values),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    verdicts = json.loads(out.stdout)
    assert verdicts == [mreport_reformats(v) for v in values]
    # and what we send for labels is never reformatted
    assert not any(verdicts[len(FORMAT_CASES) :])
    # plus a few thousand random number-looking strings
    rng = random.Random(10)
    alphabet = "0123456789+-.,eExXbBoOaAfF _\t\u00a0\u200bInity"
    fuzz = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))) for _ in range(5000)]
    out = subprocess.run(
        ["node", "-e", script], input=json.dumps(fuzz), capture_output=True, text=True, check=True, timeout=30
    )
    assert json.loads(out.stdout) == [mreport_reformats(v) for v in fuzz]


def test_mreport_text_wraps_only_what_mreport_would_reformat() -> None:
    assert mreport_text("5.3") == "<span>5.3</span>"
    assert mreport_text("2025") == "<span>2025</span>"
    assert mreport_text(None) == "<span></span>"
    assert mreport_text("2024-05-01") == "2024-05-01"
    assert mreport_text("<b>x</b> & co") == "&lt;b&gt;x&lt;/b&gt; &amp; co"
    assert mreport_text("=1+1") == "=1+1"


def _meters(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine distance between two (lon, lat) points."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def test_shared_points_are_spread_deterministically() -> None:
    hall = (-1.67494, 48.093066)
    points = [(*hall, "Autres", f"2{i:08d}") for i in range(9)]
    points += [
        (*hall, "Intercommunalité", "243500139"),
        (*hall, "Commune", "213502388"),
        (-1.5, 48.0, "Commune", "1"),
    ]
    out = spread_shared_points(points, 150)
    assert out == spread_shared_points(points, 150)  # deterministic
    assert out[10] == (*hall, 0)  # the commune keeps its town hall
    assert out[11] == (-1.5, 48.0, 0)  # alone: untouched
    assert out[9][2] == 150 and out[9][1] > hall[1]  # the EPCI first, due north
    assert abs(_meters(hall, out[9][:2]) - 150) < 1
    moved = [out[i] for i in range(10)]
    assert len({(lon, lat) for lon, lat, _ in moved}) == 10  # every marker distinct
    assert sorted(m for _, _, m in moved) == [150] * 8 + [300] * 2  # 8 per ring, then the next ring
    for lon, lat, m in moved:
        assert abs(_meters(hall, (lon, lat)) - m) < 1
    assert spread_shared_points(points, 0) == [(lon, lat, 0) for lon, lat, _, _ in points]


class _SharedHall:
    """A commune and its EPCI in the same town hall."""

    def describe(self, siren: str, pastell_denomination: str | None = None) -> Any:
        kind = "commune" if siren == "213502388" else "epci"
        return SimpleNamespace(
            nom=f"Nom {siren}",
            siret=None,
            code_insee=None,
            kind=kind,
            population=None,
            lon=-1.67494,
            lat=48.093066,
            departement="35",
            epci_siren=None,
            epci_nom=None,
        )


def _summary(siren: str, annee: int) -> dict[str, Any]:
    return {
        "siren": siren,
        "annee": annee,
        "nature": 1,
        "nombre": 1,
        "nombre_documents": 1,
        "derniere": date(annee, 6, 1),
        "nom": siren,
        "siret": None,
    }


def test_feature_collection_spreads_per_year_and_links_a_human_page() -> None:
    summary = [_summary("213502388", 2023), _summary("213502388", 2024), _summary("243500139", 2024)]
    fc = feature_collection(summary, [], _SharedHall(), BASE, offset_m=150)
    by_id = {f["id"]: f for f in fc["features"]}
    assert by_id["213502388-2023"]["geometry"]["coordinates"] == [-1.67494, 48.093066]  # alone in 2023
    assert by_id["213502388-2024"]["geometry"]["coordinates"] == [-1.67494, 48.093066]
    assert by_id["243500139-2024"]["geometry"]["coordinates"] != [-1.67494, 48.093066]
    assert [by_id[i]["properties"]["decalage_m"] for i in sorted(by_id)] == [0, 0, 150]
    for feature in fc["features"]:
        props = feature["properties"]
        assert props["url_page"] == page_url(BASE, props["siren"]) == f"{BASE}/v1/docs#deliberations"
        assert props["url_actes"].startswith(f"{BASE}/v1/deliberations?siren={props['siren']}")


@pytest.mark.parametrize(
    "model", [NoParams, DeliberationsParams, StatsParams, CollectivitesParams, GeojsonParams, MreportParams]
)
def test_parameters_added_by_clients_are_ignored(model: type[ApiParams]) -> None:
    raw = {name: ["1700000000000"] for name in IGNORED_PARAMETERS}
    raw["callback"] = ["jQuery3710_1700000000000"]
    raw["_"] = ["1", "2"]  # even repeated
    assert parse_params(model, raw) == parse_params(model, {})


def test_unknown_parameters_stay_400_next_to_ignored_ones() -> None:
    with pytest.raises(ApiError) as caught:
        parse_params(MreportParams, {"_": ["1"], "siren": ["213502388"], "callback": ["cb"]})
    assert caught.value.status == 400
    assert "siren" in caught.value.message and "callback" not in caught.value.message.split("acceptés")[0]


def test_a_model_declaring_an_ignored_name_keeps_it() -> None:
    class WithCallback(ApiParams):
        callback: str | None = Field(default=None)

    assert parse_params(WithCallback, {"callback": ["cb"]}).callback == "cb"
