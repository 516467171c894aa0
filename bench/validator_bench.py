"""Validator speed and memory: our SCDL validator vs the official validata-table on the SAME file.

``python -m bench validator`` (flags: ``--quick`` = 10 000 rows, regate 3 runs, validata-table 1 run;
``--no-validata``). On one realistic, valid délibérations file of 100 000 rows (Validata's per-file maximum):

(a) in-process rows/s of regate (strict and Validata mode) vs ``validata_core.validate``;
(b) whole process, start-up included: ``regate validate FILE`` as a subprocess vs
    ``python -c "from validata_core import validate; …"`` (the ``validata`` CLI of 0.12.5 is broken);
The engine is the default (``REGATE_VALIDATOR_ENGINE``, ``auto``: pyarrow on a file this size); the
in-process table also times the pure-Python engine for reference.
(c) peak memory of one validation in a fresh subprocess: RSS high-water mark minus RSS before reading
    the file (its bytes included).

Runs are alternated (round-robin) and medians printed; validata-table takes ~33 s per 100 000 rows, so it runs
3 times (1 with ``--quick``) and regate 5 (3). Ratios in-process use CPU time (robust on a shared machine),
whole process uses wall time. Ends with one table: measure, value, goal, PASS/MISS.
"""

from __future__ import annotations

import json
import os
import random
import resource
import statistics
import subprocess
import sys
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


def _schema_path() -> Path:
    return (
        Path(__file__).parents[1] / "layers/shared/regate/scdl/schemas/scdl_deliberations_2.1.5_schema.json"
    )


_VALIDATA_PROCESS = (
    "import json, sys\n"
    "from validata_core import validate\n"
    "report = validate(sys.argv[1], json.loads(open(sys.argv[2], encoding='utf-8').read()))\n"
    "sys.exit(0 if report.valid else 1)\n"
)

# Peak memory of one validation in a fresh interpreter: RSS high-water mark (VmHWM) minus RSS (VmRSS)
# just before the file is read, i.e. after imports and schema loading. Counts the file's bytes themselves.
# Then the tracemalloc peak of a second validation (Python allocations only, no allocator slack).
# Peak memory of one validation in a fresh interpreter: RSS high-water mark (VmHWM) minus RSS (VmRSS)
# just before the file is read, i.e. after imports, schema loading and one warm-up validation of the file's
# first ~300 kB with the engine the whole file will use (so pyarrow's import, ~60 MB of shared libraries,
# and its allocator's first arenas are start-up, not reading; the warm-up's own growth is printed apart).
# Counts the file's bytes themselves.
# Then the tracemalloc peak of a second validation (Python allocations only, no allocator slack).
_MEMORY_PROCESS = (
    "import sys\n"
    "from pathlib import Path\n"
    "from regate.scdl import validator\n"
    "from regate.scdl.validator import load_schema, validate_csv\n"
    "def status(key):\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith(key):\n"
    "            return int(line.split()[1]) * 1024\n"
    "schema = load_schema('scdl/deliberations', '2.1.5')\n"
    "strict = sys.argv[2] == 'strict'\n"
    "size = Path(sys.argv[1]).stat().st_size\n"
    "engine = 'native' if validator._native_wanted(None, size) else 'python'\n"
    "head = Path(sys.argv[1]).read_bytes()[:300_000]\n"
    "head = head[: head.rfind(b'\\n') + 1]\n"
    "start = status('VmRSS')\n"
    "validate_csv(head, schema, strict=strict, engine=engine)\n"
    "before = status('VmRSS')\n"
    "report = validate_csv(Path(sys.argv[1]).read_bytes(), schema, strict=strict)\n"
    "assert report.valid\n"
    "peak_rss = status('VmHWM') - before\n"
    "import tracemalloc\n"
    "tracemalloc.start()\n"
    "validate_csv(Path(sys.argv[1]).read_bytes(), schema, strict=strict)\n"
    "print(engine, before - start, peak_rss, tracemalloc.get_traced_memory()[1])\n"
)


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    started_cpu, started_wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - started_cpu, time.perf_counter() - started_wall


def _process_env() -> dict[str, str]:
    """The caller's environment, bytecode caching on: an installed command runs from ``.pyc`` files."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _timed_process(command: list[str]) -> tuple[float, float]:
    """(CPU seconds of the child, wall seconds) of one whole process; it must exit 0 (file valid)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=False, env=_process_env())
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(
            f"{command[:3]} exited {done.returncode}: {done.stdout[-500:]!r} {done.stderr[-500:]!r}"
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def _alternated(
    candidates: dict[str, tuple[Callable[[], tuple[float, float]], int]],
) -> dict[str, tuple[float, float]]:
    """Round-robin the candidates (each up to its own run count); (median CPU, median wall) per name."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in candidates}
    for round_ in range(max(runs for _, runs in candidates.values())):
        for name, (fn, runs) in candidates.items():
            if round_ < runs:
                samples[name].append(fn())
    return {
        name: (statistics.median(c for c, _ in got), statistics.median(w for _, w in got))
        for name, got in samples.items()
    }


def _line(label: str, rows: int, timing: tuple[float, float], runs: int) -> str:
    cpu, wall = timing
    return (
        f"{label:<28}: CPU {cpu:8.3f} s {rows / cpu:10,.0f} rows/s | "
        f"wall {wall:8.3f} s {rows / wall:10,.0f} rows/s  (median of {runs})"
    )


def _verdict(value: float, goal: float, *, above: bool) -> str:
    return "PASS" if (value >= goal if above else value < goal) else "MISS"


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    with_validata = "--no-validata" not in argv
    rows = 10_000 if quick else 100_000
    our_runs = 3 if quick else 5
    their_runs = 1 if quick else 3
    schema = load_schema("scdl/deliberations", "2.1.5")
    data = realistic_csv(rows)
    assert validate_csv(data, schema, strict=True).valid, (
        "bench file must be valid (else we time error reporting)"
    )
    if with_validata:
        try:
            from validata_core import validate as validata_validate
        except ImportError:
            print("validata-table not installed: ratios skipped")
            with_validata = False
    print(
        f"file: {rows:,} rows, {len(data) / 1e6:.2f} MB; runs alternated, medians; regate {our_runs} runs, "
        f"validata-table {their_runs if with_validata else 0} (it takes ~33 s per 100 000 rows); "
        "CPU = process time (robust on a shared machine), wall = elapsed"
    )
    descriptor = json.loads(_schema_path().read_text(encoding="utf-8"))
    regate_exe = Path(sys.executable).with_name("regate")
    regate_cmd = [str(regate_exe)] if regate_exe.exists() else [sys.executable, "-m", "regate.cli.main"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "deliberations.csv"
        path.write_bytes(data)

        # (a) in-process
        candidates: dict[str, tuple[Callable[[], tuple[float, float]], int]] = {
            "regate strict": (
                lambda: _timed(lambda: validate_csv(path.read_bytes(), schema, strict=True)),
                our_runs,
            ),
            "regate validata-mode": (
                lambda: _timed(lambda: validate_csv(path.read_bytes(), schema, strict=False)),
                our_runs,
            ),
            "regate strict, python engine": (
                lambda: _timed(lambda: validate_csv(path.read_bytes(), schema, strict=True, engine="python")),
                our_runs,
            ),
        }
        if with_validata:
            report = validata_validate(str(path), descriptor)
            assert report.valid, "validata-table must agree the bench file is valid"
            candidates["validata-table"] = (
                lambda: _timed(lambda: validata_validate(str(path), descriptor)),
                their_runs,
            )
        inproc = _alternated(candidates)
        print("in-process:")
        for name, timing in inproc.items():
            print("  " + _line(name, rows, timing, candidates[name][1]))

        # (b) whole process, start-up included
        processes: dict[str, tuple[Callable[[], tuple[float, float]], int]] = {
            "regate validate FILE": (lambda: _timed_process([*regate_cmd, "validate", str(path)]), our_runs),
            "regate validate --validata": (
                lambda: _timed_process([*regate_cmd, "validate", "--validata", str(path)]),
                our_runs,
            ),
        }
        if with_validata:
            processes["validata-table (python -c)"] = (
                lambda: _timed_process(
                    [sys.executable, "-c", _VALIDATA_PROCESS, str(path), str(_schema_path())]
                ),
                their_runs,
            )
        small = Path(tmp) / "one_row.csv"
        small.write_bytes(realistic_csv(1))
        # untimed warm-up: writes the .pyc files, warms the page cache
        _timed_process([*regate_cmd, "validate", str(small)])
        startup = _alternated({"start": (lambda: _timed_process([*regate_cmd, "validate", str(small)]), 5)})
        print(
            f"start-up: `regate validate` on a 1-row file: wall {startup['start'][1] * 1000:.0f} ms, "
            f"CPU {startup['start'][0] * 1000:.0f} ms (median of 5, after one untimed warm-up)"
        )
        whole = _alternated(processes)
        print("whole process (the validata-table CLI is broken in 0.12.5: `python -c 'validate(...)'`):")
        for name, timing in whole.items():
            print("  " + _line(name, rows, timing, processes[name][1]))

        # (c) peak memory
        peaks, traced, warm, engines = {}, {}, {}, {}
        for mode in ("strict", "validata"):
            done = subprocess.run(
                [sys.executable, "-c", _MEMORY_PROCESS, str(path), mode],
                capture_output=True,
                text=True,
                check=True,
            )
            engines[mode], *figures = done.stdout.split()[-4:]
            warm[mode], peaks[mode], traced[mode] = (int(v) for v in figures)
        print(
            "peak memory (RSS high-water mark minus RSS before reading the file, fresh subprocess, "
            f"file bytes included): strict {peaks['strict'] / 1e6:.1f} MB, "
            f"validata-mode {peaks['validata'] / 1e6:.1f} MB; tracemalloc peak: strict "
            f"{traced['strict'] / 1e6:.1f} MB, validata-mode {traced['validata'] / 1e6:.1f} MB; engine "
            f"{engines['strict']}; RSS growth of the warm-up (after imports, not counted): "
            f"{warm['strict'] / 1e6:.1f} MB"
        )

    table: list[tuple[str, str, str, str]] = []
    if with_validata:
        sides = (
            (
                "in-process rows/s",
                inproc,
                inproc["validata-table"],
                ("regate validata-mode", "regate strict"),
                50,
            ),
            (
                "whole process",
                whole,
                whole["validata-table (python -c)"],
                ("regate validate --validata", "regate validate FILE"),
                30,
            ),
        )
        for kind, timings, theirs, names, goal in sides:
            for name in names:
                for clock, index in (("CPU", 0), ("wall", 1)):
                    ratio = theirs[index] / timings[name][index]
                    table.append(
                        (
                            f"{kind}, validata-table / {name} ({clock})",
                            f"{ratio:.1f}x",
                            f">= {goal}x",
                            _verdict(ratio, goal, above=True),
                        )
                    )
    for mode, peak in peaks.items():
        ratio = peak / len(data)
        table.append(
            (f"peak RSS delta {mode} / file size", f"{ratio:.2f}x", "< 2x", _verdict(ratio, 2, above=False))
        )
        ratio = traced[mode] / len(data)
        table.append(
            (f"tracemalloc peak {mode} / file size", f"{ratio:.2f}x", "< 2x", _verdict(ratio, 2, above=False))
        )
    print(f"\n{'measure (' + format(rows, ',') + ' rows)':<66} {'value':>8}  {'goal':<7} result")
    if quick:
        print("(--quick: the goals are stated for 100 000 rows; start-up weighs more on a small file)")
    for measure, value, goal, result in table:
        print(f"{measure:<66} {value:>8}  {goal:<7} {result}")
