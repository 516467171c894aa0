"""Normaliser benchmark: acts/s of the per-act normalisation, rows/s of the partition build, and the peak
memory of a streaming rebuild of 1 000 000 acts.

The 1M-act rebuild is built from records directly (generated in memory, one (siren, year) partition at a
time, exactly the shape ``rebuild_partition`` receives), not through S3: moto would measure moto. What is
measured is the curated build (SCDL CSV with validation + both Parquet files) and that memory stays bounded
by the largest partition, not by the number of acts.

    python -m bench normalize                 # 1 000 000 acts (≈ 1–3 min)
    python -m bench normalize --acts=100000   # quicker
"""

from __future__ import annotations

import copy
import gc
import json
import resource
import statistics
import time
import tracemalloc
from functools import partial
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "normalize" / "pull_deliberation.json"


def _raw_docs(n: int):
    from regate.capture.envelope import RawDocument

    base = json.loads(FIXTURE.read_text(encoding="utf-8"))
    docs = []
    for i in range(n):
        doc = copy.deepcopy(base)
        doc["capture"]["id_d"] = f"B{i:07d}"
        doc["detail"]["data"]["numero_de_lacte"] = f"DEL{i:07d}"
        doc["detail"]["data"]["objet"] = f"Objet n°{i} — l’été, 5 € œ"
        docs.append(RawDocument.model_validate(doc))
    return docs


FLUX_DEFINITION = FIXTURE.with_name("flux_deliberations_studio_megalis.json")


def _normalise(docs, checks: bool = True):
    """What the pipeline does per act, minus S3: parse, decide (the flux's own code table), record, and the
    fail-closed checks (bounds before the record, schema row checks after) unless ``checks`` is False."""
    from regate.actes.model import acte_from_raw
    from regate.normalize.decision import code_table_from_flux_definition, decide
    from regate.normalize.parquet import row_problem
    from regate.normalize.records import acte_bounds_problem, build_record

    table = code_table_from_flux_definition(json.loads(FLUX_DEFINITION.read_text(encoding="utf-8")))
    out = []
    for raw in docs:
        acte = acte_from_raw(raw)
        if checks and acte_bounds_problem(acte, 1900, 2100) is not None:
            continue
        decision = decide(
            siren=acte.siren,
            id_d=acte.id_d,
            numero=acte.numero,
            nature=acte.nature,
            publication_open_data=acte.publication_open_data,
            code_table=table,
        )
        record = build_record(
            acte,
            decision,
            coll_nom="Ville de Rennes",
            coll_siret="21350238800019",
            public_base_url="https://regate.example.org",
            raw_version="v1",
        )
        if checks and row_problem(record.row, 1900, 2100) is not None:
            continue
        out.append(record)
    return out


def _checks_overhead(docs, rounds: int = 5) -> tuple[float, float]:
    """Median seconds of the per-act work without and with the fail-closed checks, runs alternated."""
    without, with_checks = [], []
    for _ in range(rounds):
        for checks, sink in ((False, without), (True, with_checks)):
            started = time.perf_counter()
            _normalise(docs, checks=checks)
            sink.append(time.perf_counter() - started)
    return statistics.median(without), statistics.median(with_checks)


def _build_partition(records) -> int:
    from regate.normalize.parquet import actes_table, parquet_bytes
    from regate.scdl.deliberations import ScdlDeliberationRow, write_deliberations_csv

    rows = [ScdlDeliberationRow.model_validate(r.scdl) for r in records if r.scdl is not None]
    size = len(write_deliberations_csv(rows))
    size += len(parquet_bytes(actes_table(records, public=False)))
    size += len(parquet_bytes(actes_table(records, public=True)))
    return size


def _partition_records(template, siren_index: int, n: int):
    """``n`` records of one partition, derived from a real normalised record (cheap to generate)."""
    siren = f"{200000000 + siren_index:09d}"
    records = []
    for i in range(n):
        record = template.model_copy(deep=False)
        row = dict(template.row)
        row.update(
            acte_id=f"{siren_index:06d}{i:06d}",
            siren=siren,
            delib_id=f"DEL{i:06d}",
            delib_objet=f"Objet {i} de {siren} — l’été €",
            id_d=f"P{i:06d}",
            delib_date=f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
        )
        scdl = dict(template.scdl)
        row["pref_date"] = row["delib_date"]
        scdl.update(
            DELIB_ID=row["delib_id"],
            DELIB_OBJET=row["delib_objet"],
            DELIB_DATE=row["delib_date"],
            PREF_DATE=row["delib_date"],
        )
        record.row, record.scdl = row, scdl
        records.append(record)
    return records


def _median_time(function, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str]) -> None:
    acts = 1_000_000
    per_partition = 1000
    for arg in argv:
        if arg.startswith("--acts="):
            acts = int(arg.split("=", 1)[1])
        if arg.startswith("--per-partition="):
            per_partition = int(arg.split("=", 1)[1])

    docs = _raw_docs(2000)
    t_norm = _median_time(partial(_normalise, docs), repeat=3)
    records = _normalise(docs)
    t_build = _median_time(partial(_build_partition, records), repeat=5)
    acts_per_s, rows_per_s = len(docs) / t_norm, len(records) / t_build
    assert all(r.scdl is not None and r.documents for r in records), "the benchmark acts are published"
    print(f"per-act normalisation (parse + decide + record + one-row SCDL check): {acts_per_s:,.0f} acts/s")
    bare, checked = _checks_overhead(docs[:1000])
    print(
        f"fail-closed checks (bounds + schema row checks): {(checked - bare) / 1000 * 1e6:,.0f} µs/act, "
        f"{checked / bare:.2f}× the per-act work without them (same 1000 acts, alternated, medians of 5)"
    )
    print(f"partition build (CSV + validation + 2 Parquet), {len(records)} rows: {rows_per_s:,.0f} rows/s")
    print(f"medians of 3 and 5 runs; ratio build/normalise = {rows_per_s / acts_per_s:.1f}×")

    template = records[0]
    del docs, records
    gc.collect()
    partitions = max(1, acts // per_partition)
    # 1) traced Python memory on a few partitions (tracemalloc is slow: not on the whole run)
    tracemalloc.start()
    peaks = []
    for p in range(min(5, partitions)):
        tracemalloc.reset_peak()
        _build_partition(_partition_records(template, p, per_partition))
        peaks.append(tracemalloc.get_traced_memory()[1])
    tracemalloc.stop()
    # 2) the whole streaming rebuild, peak RSS (the OS view, includes Arrow buffers)
    gc.collect()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    total_bytes = 0
    for p in range(partitions):
        total_bytes += _build_partition(_partition_records(template, p, per_partition))
        if p == 9:
            rss_10 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    elapsed = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    done = partitions * per_partition
    print(
        f"streaming rebuild: {done:,} acts in {partitions} partitions of {per_partition}: {elapsed:.1f} s "
        f"({done / elapsed:,.0f} rows/s), {total_bytes / 1e6:,.0f} MB of CSV + Parquet produced"
    )
    print(
        f"traced Python peak per partition: median {statistics.median(peaks) / 1e6:.1f} MB "
        f"(first {len(peaks)})"
    )
    if partitions >= 10:
        print(
            f"peak RSS: {rss_before / 1024:.0f} MB before, {rss_10 / 1024:.0f} MB after 10 partitions, "
            f"{rss_after / 1024:.0f} MB after {partitions} "
            f"(ratio {rss_after / rss_10:.2f}×: bounded by a partition)"
        )
    else:
        print(f"peak RSS: {rss_before / 1024:.0f} MB before, {rss_after / 1024:.0f} MB after")
