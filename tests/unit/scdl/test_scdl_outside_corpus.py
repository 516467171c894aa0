"""Our Validata-mode verdicts on the "outside world" corpus (``fixtures/scdl/outside``, 150+ files written the
way spreadsheets and ERPs write them), against the verdicts validata-table 0.12.5 gave when it was built
(``null`` = it raised: we must say invalid). The live error-set comparison is the slow oracle test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regate.scdl.validator import validate_deliberations_csv

OUTSIDE = Path(__file__).resolve().parents[2] / "fixtures" / "scdl" / "outside"
INDEX = json.loads((OUTSIDE / "index.json").read_text(encoding="utf-8"))


def test_outside_corpus_is_large_and_varied() -> None:
    assert len(INDEX) >= 150
    assert {case["file"] for case in INDEX} == {p.name for p in OUTSIDE.glob("*.csv")}
    names = {case["case"] for case in INDEX}
    for family in ("enc_", "bom_", "sep_", "eol_", "title_", "blank_", "quote_", "excel_", "size_"):
        assert sum(name.startswith(family) for name in names) >= 5, family
    verdicts = [case["validata_valid"] for case in INDEX]
    assert True in verdicts and False in verdicts and None in verdicts


@pytest.mark.parametrize("case", INDEX, ids=[case["case"] for case in INDEX])
def test_validata_mode_matches_recorded_validata_verdict(case: dict) -> None:
    report = validate_deliberations_csv((OUTSIDE / case["file"]).read_bytes(), strict=False)
    assert report.valid == bool(case["validata_valid"]), [i.render() for i in report.errors[:5]]
    assert len(report.errors) <= 1000


@pytest.mark.parametrize("case", INDEX, ids=[case["case"] for case in INDEX])
def test_strict_mode_never_crashes_and_is_never_more_lenient(case: dict) -> None:
    data = (OUTSIDE / case["file"]).read_bytes()
    report = validate_deliberations_csv(data, strict=True)
    if not case["validata_valid"]:
        assert not report.valid
