"""Budgets benchmark: TOTEM lines/s of reader → budget lines → SCDL CSV on a large generated file.

``python -m bench budgets`` (flags: ``--lines=N``, default 200 000; ``--quick`` = 20 000 lines, 1 run;
``--stage=CA`` …). One synthetic ISO-8859-1 document (CA, M14_COM_SUP3500, functional presentation,
operations) is generated once, then three variants run alternately (median of 3):

* ``lxml floor`` — the same filtered ``iterparse`` and element freeing, no Python per line: the floor;
* ``reader`` — ``TotemStream``: the raw lines;
* ``full`` — reader → ``BudgetLine`` (plan lookups, validated pydantic model) → CSV bytes (to a sink).

CPU time (``time.process_time``, robust on a shared machine) and wall time are printed, with the ratio
to the floor, and the peak RSS of the process (everything streams: it does not grow with the file).
"""

from __future__ import annotations

import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


class _Sink:
    """A binary stream that only counts bytes (the CSV is not kept in memory)."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)


def _floor(path: Path) -> int:
    from lxml import etree

    from regate.flux.budgets import totem

    count = 0
    events = etree.iterparse(
        str(path), events=("end",), tag=list(totem._EVENT_TAGS), **totem.SECURE_PARSER_OPTIONS
    )
    for _event, element in events:
        if element.tag.endswith("LigneBudget"):
            count += 1
        element.clear()
        parent = element.getparent()
        if parent is not None:
            while element.getprevious() is not None:
                del parent[0]
    return count


def _reader(path: Path) -> int:
    from regate.flux.budgets.totem import open_totem

    with path.open("rb") as handle:
        return sum(1 for _ in open_totem(handle))


def _full(path: Path) -> int:
    from regate.flux.budgets.convert import BudgetConverter
    from regate.flux.budgets.scdl import write_budget_csv_to
    from regate.flux.budgets.totem import open_totem

    with path.open("rb") as handle:
        stream = open_totem(handle)
        lines = iter(stream)
        first = next(lines)
        assert stream.metadata is not None
        converter = BudgetConverter(stream.metadata)

        def converted() -> Any:
            yield from converter.convert([first])
            yield from converter.convert(lines)

        written = write_budget_csv_to(_Sink(), converted())  # type: ignore[arg-type]
    assert not converter.rapport.lignes_rejetees, "bench file must convert cleanly"
    return written


def _timed(fn: Callable[[], int]) -> tuple[float, float, int]:
    cpu, wall = time.process_time(), time.perf_counter()
    count = fn()
    return time.process_time() - cpu, time.perf_counter() - wall, count


def main(argv: list[str]) -> None:
    from regate_local.budgets.totem_generator import generate_totem

    quick = "--quick" in argv
    options = dict(a.lstrip("-").split("=", 1) for a in argv if "=" in a)
    lines = int(options.get("lines", 20_000 if quick else 200_000))
    stage = options.get("stage", "CA")
    runs = 1 if quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench-totem.xml"
        started = time.perf_counter()
        summary = generate_totem(
            path,
            etape=stage,
            exercice=2024,
            nomenclature="M14-M14_COM_SUP3500",
            lignes=lines,
            seed=42,
            fonctions=True,
        )
        size = path.stat().st_size
        print(
            f"file: {summary.lignes} lines (+{summary.calculees} calculated), {size / 1e6:.1f} MB "
            f"ISO-8859-1, {stage}, generated in {time.perf_counter() - started:.1f} s; "
            f"median of {runs}, runs alternated"
        )
        variants: dict[str, Callable[[], int]] = {
            "lxml floor": lambda: _floor(path),
            "reader": lambda: _reader(path),
            "full (reader → rows → CSV)": lambda: _full(path),
        }
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
        for _ in range(runs):
            for name, fn in variants.items():
                cpu, wall, count = _timed(fn)
                expected = summary.lignes + summary.calculees if name == "lxml floor" else summary.lignes
                assert count == expected, (name, count, expected)
                samples[name].append((cpu, wall))
        medians = {
            name: (statistics.median(c for c, _ in values), statistics.median(w for _, w in values))
            for name, values in samples.items()
        }
        floor_cpu = medians["lxml floor"][0]
        for name, (cpu, wall) in medians.items():
            print(
                f"{name:28s} {summary.lignes / cpu:>10,.0f} lines/s CPU  "
                f"{summary.lignes / wall:>10,.0f} lines/s wall  ({cpu / floor_cpu:.1f}x the floor's CPU)"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the bench process: {peak:.0f} MB (file {size / 1e6:.0f} MB: streaming)")
