"""Marchés publics throughput: DECP records validated (repair + JSON Schema 2.0.4 + business rules + dedup)
and written (per buyer-year and national files), per second.

``python -m bench marches`` (flags: ``--quick`` = 1 run and a smaller corpus). The corpus is what the
Atexo SDM simulator exports for 7 Breton buyers over 2024 (SDM defects on: ``_type``, empty arrays, incomplete
sub-contracting acts), one raw answer per buyer-month, as the capture stores them. Medians of the runs; CPU
time (``time.process_time``, robust on a shared machine) and wall time.

Also measured side by side, on the same records: ``Draft7Validator`` on the schema file as shipped vs on the
same schema with its ``$ref`` inlined (what the normaliser uses; identical verdicts, checked by a unit test).
The floor of the whole is the per-record schema validation.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime

from regate.clock import FakeClock
from regate.flux.marches import schema
from regate.flux.marches.normalize import RawAnswer, normalize_documents
from regate.flux.marches.repairs import repair_record
from regate.flux.marches.writer import buyer_year_files, national_files
from regate.storage import layout
from regate_local.atexo_sim import AtexoSimulator
from regate_local.atexo_sim.generator import render

TODAY = date(2025, 3, 1)


def corpus(per_month: int) -> list[RawAnswer]:
    sim = AtexoSimulator(clock=FakeClock(datetime(2025, 3, 1, 8, tzinfo=UTC)), per_month=per_month)
    answers = []
    for buyer in sim.buyers:
        for month in range(1, 13):
            last = (date(2024, month + 1, 1) if month < 12 else date(2025, 1, 1)).toordinal() - 1
            body = render(sim.records(buyer.siren, date(2024, month, 1), date.fromordinal(last)), sim.defects)
            key = layout.profil_export_key("bench", buyer.siren, 2024, month)
            answers.append(RawAnswer(key=key, body=body, plateforme="bench", siren=buyer.siren))
    return answers


def _median(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    cpu, wall = [], []
    for _ in range(runs):
        c, w = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return statistics.median(cpu), statistics.median(wall)


def _line(label: str, count: int, timing: tuple[float, float], unit: str = "records/s") -> str:
    cpu, wall = timing
    return (
        f"{label:<34}: CPU {cpu:7.3f} s {count / cpu:9,.0f} {unit} | "
        f"wall {wall:7.3f} s {count / wall:9,.0f} {unit}"
    )


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    runs = 1 if quick else 5
    answers = corpus(per_month=4 if quick else 12)
    normalized = normalize_documents(answers, TODAY)
    records = len(normalized.results)
    summary = normalized.summary()
    assert summary["quarantaine"] == 0 and summary["documents_rejetes"] == 0, summary
    size = sum(len(a.body) for a in answers)
    print(f"corpus: {len(answers)} answers, {records} records, {size / 1e6:.1f} MB, median of {runs}")

    print(
        _line(
            "validate (normalize_documents)",
            records,
            _median(lambda: normalize_documents(answers, TODAY), runs),
        )
    )
    print(
        _line(
            "write (buyer-year + national)",
            records,
            _median(lambda: (buyer_year_files(normalized), national_files(normalized)), runs),
        )
    )

    repaired = [(r.kind, repair_record(r.kind, r.received)[0]) for r in normalized.results]

    def run(validator):
        return lambda: [list(validator.iter_errors(schema.wrap(k, rec))) for k, rec in repaired]

    # alternated runs of the same work (same records, same schema, two validator set-ups)
    reference, inlined = [], []
    for _ in range(runs):
        reference.append(_median(run(schema.reference_validator()), 1))
        inlined.append(_median(run(schema.validator()), 1))
    ref = (statistics.median(t[0] for t in reference), statistics.median(t[1] for t in reference))
    inl = (statistics.median(t[0] for t in inlined), statistics.median(t[1] for t in inlined))
    print(_line("schema only, file as shipped", records, ref))
    print(_line("schema only, $ref inlined", records, inl))
    print(f"ratio shipped / inlined: CPU {ref[0] / inl[0]:.2f}x, wall {ref[1] / inl[1]:.2f}x")
