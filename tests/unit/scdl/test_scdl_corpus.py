"""Our verdicts on the oracle corpus, against the verdicts recorded in ``corpus/index.json``.

``validata_valid`` was produced by validata-table 0.12.5 when the corpus was built (``null`` = it raised,
which we count as invalid); ``strict_valid`` is the intended verdict of our pipeline's strict mode. The live
comparison with validata-table (errors, not just verdicts) is the slow test in tests/integration/scdl.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regate.scdl.validator import validate_deliberations_csv

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "scdl" / "corpus"
INDEX = json.loads((CORPUS / "index.json").read_text(encoding="utf-8"))


def test_corpus_is_large_and_complete() -> None:
    assert len(INDEX) >= 60
    names = [case["case"] for case in INDEX]
    assert len(set(names)) == len(names)
    assert {case["file"] for case in INDEX} == {p.name for p in CORPUS.glob("*.csv")}
    assert any(case["validata_valid"] for case in INDEX) and any(not case["validata_valid"] for case in INDEX)
    # the divergent cases documented in the validator module exist
    divergent = {case["case"] for case in INDEX if bool(case["validata_valid"]) != case["strict_valid"]}
    assert {"date_not_padded", "missing_optional_column", "disordered_columns", "latin1_encoded"} <= divergent


@pytest.mark.parametrize("case", INDEX, ids=[case["case"] for case in INDEX])
def test_validata_mode_matches_recorded_validata_verdict(case: dict) -> None:
    report = validate_deliberations_csv((CORPUS / case["file"]).read_bytes(), strict=False)
    assert report.valid == bool(case["validata_valid"]), [i.render() for i in report.errors]


@pytest.mark.parametrize("case", INDEX, ids=[case["case"] for case in INDEX])
def test_strict_mode_matches_intended_verdict(case: dict) -> None:
    report = validate_deliberations_csv((CORPUS / case["file"]).read_bytes(), strict=True)
    assert report.valid == case["strict_valid"], [i.render() for i in report.errors]
