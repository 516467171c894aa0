"""The API's reader of the compacted datasets: manifest parsing (hostile input refused), year pruning,
counts eligibility, the absent-module shortcut for DuckDB."""

from __future__ import annotations

import json
import sys
from datetime import date

import pytest

from regate.api.lake import counts_answer, parse_manifest, skip_absent_optional_imports, years_for
from regate.api.query import Filtres
from regate.storage import layout


def _entry(dataset: str, annee: int, etag: str = "e1") -> dict:
    return {"key": layout.lake_key(dataset, annee), "etag": etag, "size": 10}


def test_manifest_parsed() -> None:
    body = json.dumps(
        {
            "format": 1,
            "annees": {"2024": {"actes": _entry("actes", 2024), "comptes": _entry("comptes", 2024)}},
        }
    ).encode()
    years = parse_manifest(body)
    assert years is not None and list(years) == [2024]
    assert years[2024].actes.key == layout.lake_key("actes", 2024) and years[2024].nationaux is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"annees": []}',
        b'{"annees": {"20x4": {}}}',
        json.dumps(
            {
                "annees": {
                    "2024": {
                        "actes": {
                            "key": "public/actes/siren=1/annee=2024/data.parquet",
                            "etag": "e",
                            "size": 1,
                        }
                    }
                }
            }
        ).encode(),
        json.dumps({"annees": {"2024": {"actes": _entry("actes", 2023)}}}).encode(),  # key of another year
        json.dumps({"annees": {"2024": {"actes": {"key": layout.lake_key("actes", 2024)}}}}).encode(),
    ],
)
def test_hostile_manifest_is_refused(body: bytes) -> None:
    assert parse_manifest(body) is None


def test_year_pruning_and_counts_eligibility() -> None:
    years = [2022, 2023, 2024]
    assert years_for(Filtres(), years) == years
    assert years_for(Filtres(annee=2023), years) == [2023]
    assert years_for(Filtres(date_min=date(2023, 5, 1)), years) == [2023, 2024]
    assert years_for(Filtres(date_max=date(2022, 5, 1)), years) == [2022]
    assert counts_answer(Filtres(sirens=("213502388",), natures=(1,), matiere="7"))
    assert not counts_answer(Filtres(tokens=("budget",)))
    assert not counts_answer(Filtres(date_min=date(2024, 1, 2)))
    assert not counts_answer(Filtres(sirens=("213502388",)), national=True)
    assert counts_answer(Filtres(annee=2024), national=True)


def test_absent_optional_module_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    name = "regate_module_that_does_not_exist"
    monkeypatch.delitem(sys.modules, name, raising=False)
    assert skip_absent_optional_imports((name, "json")) == [name]  # json is installed: left alone
    with pytest.raises(ImportError):
        __import__(name)
    assert sys.modules["json"] is json
    monkeypatch.delitem(sys.modules, name)
