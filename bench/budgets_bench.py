"""Budgets benchmark: TOTEM lines/s of reader → budget lines → SCDL CSV on a large generated file.

``python -m bench budgets`` (flags: ``--lines=N``, default 200 000; ``--quick`` = 20 000 lines, 1 run;
``--stage=CA`` …). One synthetic ISO-8859-1 document (CA, M14_COM_SUP3500, functional presentation,
operations) is generated once, then three variants run alternately (median of 3):

* ``lxml floor`` — the same filtered ``iterparse`` and element freeing, no Python per line: the floor;
* ``reader`` — ``TotemStream``: the raw lines;
* ``full`` — reader → ``BudgetLine`` (plan lookups, validated pydantic model) → CSV bytes (to a sink).

CPU time (``time.process_time``, robust on a shared machine) and wall time are printed, with the ratio
to the floor, and the peak RSS of the process (everything streams: it does not grow with the file).

Then the **API** figures (``--api-lines=N``, default 10 000 000 = national scale; ``--quick`` = 200 000;
``--no-api`` skips them): budget lines generated vectorised with exactly ``budget_lines_schema()`` into
``public/budgets/lignes/siren=…/annee=…/`` on a moto S3 server on loopback (1 000 lines per partition, two
exercices), then typical requests resolved by the real resolver — cold (new container: empty cache, first
listing, new DuckDB) and warm (p50/p95) — plus the process's peak RSS (no national table is held in memory).

Measured 2026-12-02 on the 2-core shared dev machine (other benches and tests running), loopback moto:

    python -c "from bench.budgets_bench import api_figures; api_figures(10_000_000, reps=5)"

    10 000 000 lines, 10 000 partitions (5 000 collectivités × 2 exercices), generated + uploaded in 275 s
                                  cold        warm p50 / p95
    one collectivité-year        664 ms        68 /  140 ms
    synthese                     414 ms       127 /  173 ms
    filters + cursor sort        255 ms        51 /   63 ms
    mreport dataid               463 ms        73 /  253 ms
    national year, chapter     139 s        33.5 / 38.4 s      (peak RSS 1 056 MB)

    at 1 000 000 lines (1 000 partitions): national year 4.4 s cold, 557 / 904 ms warm; the per-collectivité
    requests 12–41 ms warm.

Per-collectivité requests stay flat with the national size (partition pruning). A national request (no
``siren``) opens one file per collectivité: at 10 M lines it is far beyond an API Gateway answer (29 s).
The fix is a data product, not a query: a national Parquet per exercice, sorted by SIREN, written beside
``scdl/budgets/all/{annee}.csv`` and read for requests without ``siren`` (not built yet).
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
    totem_figures(argv)
    if "--no-api" not in argv:
        options = dict(a.lstrip("-").split("=", 1) for a in argv if "=" in a)
        api_lines = int(options.get("api-lines", 200_000 if "--quick" in argv else 10_000_000))
        api_figures(api_lines, reps=int(options.get("reps", 10)), national="--no-national" not in argv)


def totem_figures(argv: list[str]) -> None:
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


# ------------------------------------------------------------------------------------------------ API
API_YEARS = (2024, 2025)
PER_PARTITION = 1_000
_CHAPITRES = (("011", "fonctionnement", "dépense"), ("012", "fonctionnement", "dépense"),
              ("65", "fonctionnement", "dépense"), ("73", "fonctionnement", "recette"),
              ("74", "fonctionnement", "recette"), ("21", "investissement", "dépense"),
              ("16", "investissement", "recette"), ("10", "investissement", "recette"))  # fmt: skip
_ETAPES = ("BP", "DM", "CA")


def _budget_partition(index: int, siren: str, annee: int, rng: Any) -> Any:
    """One partition of ``PER_PARTITION`` lines, an Arrow table of ``budget_lines_schema()`` (vectorised)."""
    import datetime as dt
    from decimal import Decimal

    import numpy as np
    import pyarrow as pa

    from regate.flux.budgets.model import SCDL_NATDEC, Etape, budget_lines_schema

    n = PER_PARTITION
    schema = budget_lines_schema()
    chap = rng.integers(0, len(_CHAPITRES), n)
    etapes = np.array(_ETAPES)[rng.integers(0, len(_ETAPES), n)]
    cents = rng.integers(0, 50_000_000, n)
    amounts = pa.array([Decimal(int(c)) / 100 for c in cents], pa.decimal128(18, 2))
    siret = f"{siren}{index % 100000:05d}"
    column = {
        "siren": pa.array([siren] * n),
        "annee": pa.array([annee] * n, pa.int32()),
        "siret": pa.array([siret] * n),
        "nom": pa.array([f"COMMUNE {index}"] * n),
        "cod_bud": pa.array(["00"] * n),
        "etape": pa.array(etapes.tolist()),
        "natdec": pa.array([SCDL_NATDEC[Etape(e)] for e in etapes.tolist()]),
        "nomenclature": pa.array(["M57-M57_A"] * n),
        "plan_de_comptes": pa.array(["2024/M57/M57_A"] * n),
        "date_decision": pa.array([dt.date(annee, 3, 1)] * n, pa.date32()),
        "date_scellement": pa.array(
            [dt.datetime(annee, 3, 2, tzinfo=dt.UTC)] * n, pa.timestamp("us", tz="UTC")
        ),
        "document_id": pa.array([f"{index}.{e}" for e in etapes.tolist()]),
        "ligne": pa.array(np.arange(1, n + 1, dtype=np.int32)),
        "nature": pa.array([f"{_CHAPITRES[c][0]}{k % 90 + 10}" for k, c in enumerate(chap.tolist())]),
        "nature_label": pa.array(["Compte"] * n),
        "nature_label_source": pa.array(["plan"] * n),
        "contnat": pa.array([_CHAPITRES[c][0] for c in chap.tolist()]),
        "contnat_label": pa.array([f"Chapitre {_CHAPITRES[c][0]}" for c in chap.tolist()]),
        "contnat_source": pa.array(["plan"] * n),
        "fonction": pa.array([str(k % 9) for k in range(n)]),
        "fonction_label": pa.array(["Fonction"] * n),
        "operation": pa.nulls(n, pa.string()),
        "section": pa.array([_CHAPITRES[c][1] for c in chap.tolist()]),
        "opbudg": pa.array(["réel"] * n),
        "typopbudg": pa.nulls(n, pa.int8()),
        "codrd": pa.array([_CHAPITRES[c][2] for c in chap.tolist()]),
        "artspe": pa.nulls(n, pa.string()),
    }
    for name in (
        "mt_real",
        "mt_budg_prec",
        "mt_rar_prec",
        "mt_prop_nouv",
        "mt_prev",
        "cred_ouv",
        "mt_rar3112",
    ):
        column[name] = amounts
    column["montant"] = amounts
    return pa.Table.from_pydict({f.name: column[f.name] for f in schema}, schema=schema)


def _generate_budgets(store: Any, n_collectivites: int, national: bool = True) -> list[str]:
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    from regate.normalize.parquet import parquet_bytes
    from regate.storage import layout

    sirens = [f"2{i:08d}" for i in range(n_collectivites)]

    def one(item: tuple[int, str, int]) -> None:
        index, siren, annee = item
        table = _budget_partition(index, siren, annee, np.random.default_rng(index * 10 + annee))
        store.put_if_changed(layout.budgets_parquet_key(siren, annee, public=True), parquet_bytes(table))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, [(i, s, a) for i, s in enumerate(sirens) for a in API_YEARS]))
    if national:  # what the normaliser writes beside the national CSV (read for requests without siren)
        from regate.flux.budgets.chain import _national_parquet

        for annee in API_YEARS:
            keys = [layout.budgets_parquet_key(s, annee, public=True) for s in sirens]
            body = _national_parquet(store, keys)
            assert body is not None
            store.put_if_changed(layout.budgets_national_parquet_key(annee), body)
    return sirens


def api_figures(lines: int, reps: int = 10, national: bool = True) -> None:
    import logging
    import os

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    from regate.api.app import build_services, create_app
    from regate.api.collectivites import EmptyDirectory
    from regate.settings import Settings
    from regate.storage import ObjectStore, make_s3_client
    from regate_local.serve.server import http_api_event

    n_coll = max(1, lines // (PER_PARTITION * len(API_YEARS)))
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        cache_root = Path(tempfile.mkdtemp(prefix="regate-budgets-bench-"))
        settings = Settings(
            s3_endpoint_url=f"http://{host}:{port}",
            curated_bucket="bench-curated",
            raw_bucket="bench-raw",
            recherche_entreprises_enabled=False,
            api_cache_dir=str(cache_root / "warm"),
        )
        client = make_s3_client(settings)
        for bucket in (settings.raw_bucket, settings.curated_bucket):
            client.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": settings.s3_region}
            )
        store = ObjectStore(client, settings.curated_bucket)
        started = time.perf_counter()
        sirens = _generate_budgets(store, n_coll, national)
        total = n_coll * len(API_YEARS) * PER_PARTITION
        print(
            f"\nAPI dataset: {total:,} budget lines, {n_coll * len(API_YEARS):,} partitions "
            f"({n_coll:,} collectivités × {len(API_YEARS)} exercices) generated + uploaded in "
            f"{time.perf_counter() - started:.1f} s"
        )
        siren = sirens[len(sirens) // 2]
        requests = [
            ("one collectivité-year", f"/v1/budgets?siren={siren}&annee=2025&limit=50"),
            ("synthese", f"/v1/budgets/{siren}/2025/synthese"),
            (
                "filters + cursor sort",
                f"/v1/budgets?siren={siren}&etape=CA&section=fonctionnement&sort=-montant",
            ),
            ("mreport dataid", f"/v1/mreport/budgets?dataid={siren}"),
            ("national year, chapter", "/v1/budgets?annee=2025&chapitre=012&limit=50"),
        ]

        def call(app: Any, target: str) -> float:
            t0 = time.perf_counter()
            response = app.resolve(http_api_event("GET", target, {}), {})
            assert response["statusCode"] == 200, (target, response.get("body", "")[:300])
            return (time.perf_counter() - t0) * 1000

        print("cold (new container: empty partition cache, first listing, new DuckDB)")
        for i, (name, target) in enumerate(requests):
            cold = settings.model_copy(update={"api_cache_dir": str(cache_root / f"cold{i}")})
            app = create_app(build_services(cold, client, directory=EmptyDirectory()))
            print(f"  {name:<26}{call(app, target):>10.0f} ms")
        app = create_app(build_services(settings, client, directory=EmptyDirectory()))
        print(f"warm ({reps} runs each)")
        for name, target in requests:
            call(app, target)
            runs = sorted(call(app, target) for _ in range(reps))
            p95 = runs[min(len(runs) - 1, round(0.95 * (len(runs) - 1)))]
            print(f"  {name:<26} p50 {statistics.median(runs):>7.0f} ms   p95 {p95:>7.0f} ms")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of the bench process: {peak:.0f} MB")
    finally:
        server.stop()
