"""Oracle: our validator (Validata mode) vs the official validata-table, live, on every corpus file.

Same verdict, and the same set of (row, column, error type) once our codes are mapped to Validata's types
(Validata puts header errors on row ``None`` and row-level errors on field ``""``: normalised to 1 / None).
validata-table takes ~0.1–0.3 s a file, hence ``slow``; parametrised so xdist spreads the cases.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from regate.scdl.validator import validate_deliberations_csv

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "scdl"
CORPUS = FIXTURES / "corpus"
OUTSIDE = FIXTURES / "outside"  # files as spreadsheets and ERPs write them (make_outside_corpus.py)
SCHEMA = REPO / "layers" / "shared" / "regate" / "scdl" / "schemas" / "scdl_deliberations_2.1.5_schema.json"
INDEX = [
    {**case, "dir": directory}
    for directory in (CORPUS, OUTSIDE)
    for case in json.loads((directory / "index.json").read_text(encoding="utf-8"))
]

# our code → validata-table 0.12.5 error type
TO_VALIDATA_TYPE = {
    "french-siret-value": "custom-check-error",
    "nomenclature-actes-value": "custom-check-error",
    "duplicate-label": "error",
}


def validata_errors(path: Path) -> tuple[bool, set[tuple]] | None:
    """(valid, {(row, column, type)}) from validata-table, or None when it raises (e.g. empty file)."""
    validata_core = pytest.importorskip("validata_core")
    descriptor = json.loads(SCHEMA.read_text(encoding="utf-8"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            report = validata_core.validate(str(path), descriptor).to_dict()
        except Exception:
            return None
    found = {(e.get("rowNumber") or 1, e.get("fieldName") or None, e["type"]) for e in report["errors"]}
    assert len(report["errors"]) <= 1000  # frictionless' cap, which our Validata mode reproduces
    return bool(report["valid"]), found


@pytest.mark.slow
@pytest.mark.parametrize("case", INDEX, ids=[f"{case['dir'].name}/{case['case']}" for case in INDEX])
def test_same_verdict_and_errors_as_validata(case: dict) -> None:
    path = case["dir"] / case["file"]
    ours = validate_deliberations_csv(path.read_bytes(), strict=False)
    theirs = validata_errors(path)
    if theirs is None:  # validata-table raised: we must report the file invalid, not crash
        assert not ours.valid
        return
    valid, their_errors = theirs
    our_errors = {(i.row or 1, i.column, TO_VALIDATA_TYPE.get(i.code, i.code)) for i in ours.errors}
    assert ours.valid == valid
    assert our_errors == their_errors
    assert valid == case["validata_valid"], "validata-table changed its verdict: regenerate the index"


@pytest.mark.slow
def test_row_limit_reported_like_validata(tmp_path: Path) -> None:
    """validata caps files at 100 000 data rows with one `table-dimensions` error (validata-table: ~35 s)."""
    case = next(c for c in INDEX if c["case"] == "size_1_rows")
    header, row = (case["dir"] / case["file"]).read_text(encoding="utf-8").splitlines()[:2]
    path = tmp_path / "rows_100001.csv"
    path.write_text(header + "\n" + (row + "\n") * 100_001, encoding="utf-8")
    ours = validate_deliberations_csv(path.read_bytes(), strict=False)
    theirs = validata_errors(path)
    assert theirs is not None
    assert (ours.valid, {(i.row or 1, i.column, i.code) for i in ours.errors}) == theirs
    assert theirs == (False, {(1, None, "table-dimensions")})


MUTATION_TOKENS = [
    b"\r", b"\n", b"\r\n", b'"', b";", b",", b"\t", b"\xef\xbb\xbf", b"\xe9", b"\x00", b" ", b"'", b"|",
    b"\xc3", b"\xff\xfe", b"\x92", b";;;;;;;;;;;;;;;;", b"Titre\r\n",
]  # fmt: skip


def mutated_outside_files(seed: int, count: int) -> list[tuple[str, bytes]]:
    """Seeded byte-level mutations of small outside files (inserted separators, quotes, BOMs, bad bytes,
    deleted bytes, duplicated lines): the kind of damage hand edits and broken exports do."""
    import random

    rng = random.Random(seed)
    files = sorted(p for p in OUTSIDE.glob("*.csv") if p.stat().st_size < 20_000)
    out = []
    for k in range(count):
        source = rng.choice(files)
        data = bytearray(source.read_bytes())
        for _ in range(rng.randint(1, 6)):
            op, pos = rng.random(), rng.randrange(len(data) + 1)
            if op < 0.5:
                data[pos:pos] = rng.choice(MUTATION_TOKENS)
            elif op < 0.8:
                del data[pos : pos + rng.randint(1, 3)]
            else:
                lines = bytes(data).split(b"\r\n")
                i = rng.randrange(len(lines))
                data = bytearray(b"\r\n".join([*lines[:i], lines[i], *lines[i:]]))
        out.append((f"{k}-{source.stem}", bytes(data)))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("seed", [20261202])
def test_same_verdict_and_errors_on_mutated_files(seed: int, tmp_path: Path) -> None:
    disagreements = []
    for name, data in mutated_outside_files(seed, 150):
        path = tmp_path / f"{name}.csv"
        path.write_bytes(data)
        ours = validate_deliberations_csv(data, strict=False)
        theirs = validata_errors(path)
        if theirs is None:
            if ours.valid:
                disagreements.append((name, "validata-table raised, we said valid"))
            continue
        our_errors = {(i.row or 1, i.column, TO_VALIDATA_TYPE.get(i.code, i.code)) for i in ours.errors}
        if (ours.valid, our_errors) != theirs:
            disagreements.append((name, sorted(our_errors ^ theirs[1], key=str)[:4]))
    assert not disagreements
