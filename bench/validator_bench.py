"""Validator throughput: our SCDL validator vs the official validata-table on the same file.

``python -m bench validator`` (flags: ``--quick`` = 1 run instead of 3 and 2 000 rows for validata;
``--no-validata``). Prints rows/s (median of the runs) for both and the ratio, measured side by side in one
run on one realistic délibérations file, then ours alone on 100 000 rows (Validata's per-file maximum).
Both CPU time (``time.process_time``, robust on a shared machine) and wall time are printed.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from regate.actes.nomenclature import NIVEAU2, matiere_nom
from regate.scdl.csvfile import write_csv
from regate.scdl.deliberations import SCDL_DELIBERATIONS_COLUMNS, ScdlDeliberationRow, deliberation_sort_key
from regate.scdl.validator import load_schema, validate_csv

_COLLECTIVITES = [
    ("Ville de Poitiers", "21860194600013"),
    ("Commune de Rennes", "21350238800019"),
    ("La Poste (établissement)", "35600000049837"),
]
_OBJETS = [
    "Attribution du marché de nettoyage des locaux",
    'Convention "Petites villes de demain", avenant n° 2',
    "Subvention à l’association Les Amis du Cœur de ville — 1 500 €",
    "Désignation des représentants au syndicat mixte, commission d'appel d'offres",
    "Tarifs 2024 de la restauration scolaire 🍽",
]


def realistic_rows(count: int, seed: int = 42) -> list[ScdlDeliberationRow]:
    """Valid, varied rows (every matière, votes on some rows, budgets, quotes/commas/emoji in objets)."""
    rnd = random.Random(seed)
    codes = list(NIVEAU2)
    start = date(2020, 1, 1)
    rows = []
    for k in range(count):
        nom, siret = _COLLECTIVITES[k % len(_COLLECTIVITES)]
        code = codes[k % len(codes)]
        delib_date = start + timedelta(days=rnd.randrange(1500))
        votes: dict[str, int | None] = {}
        if k % 3 == 0:
            pour, contre, abst = rnd.randrange(30), rnd.randrange(10), rnd.randrange(5)
            reel = pour + contre + abst
            votes = {
                "VOTE_EFFECTIF": reel + rnd.randrange(5),
                "VOTE_REEL": reel,
                "VOTE_POUR": pour,
                "VOTE_CONTRE": contre,
                "VOTE_ABSTENTION": abst,
            }
        budget = (
            {"BUDGET_ANNEE": f"{delib_date.year}", "BUDGET_NOM": "Budget principal"} if k % 4 == 0 else {}
        )
        rows.append(
            ScdlDeliberationRow(
                COLL_NOM=nom,
                COLL_SIRET=siret,
                DELIB_ID=f"DL{k:06d}",
                DELIB_DATE=delib_date,
                DELIB_MATIERE_CODE=code,
                DELIB_MATIERE_NOM=matiere_nom(code),
                DELIB_OBJET=rnd.choice(_OBJETS),
                PREF_ID="PREF086",
                PREF_DATE=delib_date + timedelta(days=rnd.randrange(10)),
                DELIB_URL=f"https://data.example.org/actes/DL{k:06d}.pdf" if k % 2 else None,
                **budget,
                **votes,
            )
        )
    return rows


def realistic_csv(count: int) -> bytes:
    rows = sorted(realistic_rows(count), key=deliberation_sort_key)
    return write_csv(SCDL_DELIBERATIONS_COLUMNS, [r.cells() for r in rows])


def _median_seconds(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median CPU seconds, median wall seconds) over ``runs`` calls."""
    cpu, wall = [], []
    for _ in range(runs):
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started_wall)
    return statistics.median(cpu), statistics.median(wall)


def _line(label: str, rows: int, timing: tuple[float, float]) -> str:
    cpu, wall = timing
    return (
        f"{label:<22}: CPU {cpu:8.3f} s {rows / cpu:10,.0f} rows/s | "
        f"wall {wall:8.3f} s {rows / wall:10,.0f} rows/s"
    )


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    runs = 1 if quick else 3
    rows_compared = 2_000 if quick else 10_000
    schema = load_schema("scdl/deliberations", "2.1.5")
    data = realistic_csv(rows_compared)

    ours_strict = _median_seconds(lambda: validate_csv(data, schema, strict=True), runs)
    ours_validata = _median_seconds(lambda: validate_csv(data, schema, strict=False), runs)
    assert validate_csv(data, schema).valid, "bench file must be valid (else we time error reporting)"
    print(f"file: {rows_compared} rows, {len(data) / 1e6:.2f} MB, median of {runs}")
    print(_line("regate strict", rows_compared, ours_strict))
    print(_line("regate validata-mode", rows_compared, ours_validata))

    if "--no-validata" not in argv:
        try:
            from validata_core import validate as validata_validate
        except ImportError:
            print("validata-table not installed: ratio skipped")
        else:
            schema_path = Path(__file__).parents[1] / "layers/shared/regate/scdl/schemas"
            descriptor = json.loads(
                (schema_path / "scdl_deliberations_2.1.5_schema.json").read_text(encoding="utf-8")
            )
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "deliberations.csv"
                path.write_bytes(data)
                report = validata_validate(str(path), descriptor)
                assert report.valid, "validata-table must agree the bench file is valid"
                theirs = _median_seconds(lambda: validata_validate(str(path), descriptor), runs)
            print(_line("validata-table", rows_compared, theirs))
            print(
                f"ratio validata-table / regate strict: CPU {theirs[0] / ours_strict[0]:.1f}x, "
                f"wall {theirs[1] / ours_strict[1]:.1f}x faster"
            )

    big_rows = 20_000 if quick else 100_000
    big = realistic_csv(big_rows)
    print(
        _line(f"regate strict {big_rows}", big_rows, _median_seconds(lambda: validate_csv(big, schema), runs))
    )
