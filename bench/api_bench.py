"""API benchmark: latency of typical requests through the resolver vs. the same query run directly in
DuckDB on the same local files, warm and cold; plus import time and package size of the API function.

    python -m bench api                 # 1 000 000 acts (1 000 collectivités × 5 years × 200)
    python -m bench api --acts=200000   # smaller run

The dataset is generated (vectorised, deterministic) with exactly ``PUBLIC_ACTES_SCHEMA`` and uploaded to
a moto S3 server on loopback; requests are API Gateway v2 events resolved by the real resolver.
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
YEARS = (2020, 2021, 2022, 2023, 2024)
PER_PARTITION = 200


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def _partition_table(c: int, siren: str, year: int, rng: Any) -> Any:
    """One partition as an Arrow table (vectorised: 1M rows take seconds, not minutes)."""
    import datetime as dt

    import numpy as np
    import pyarrow as pa

    from regate.storage.datasets import PUBLIC_ACTES_SCHEMA
    from regate_local.sampledata import MATIERES, NATURE_LIBELLES, OBJETS

    n = PER_PARTITION
    idx = np.arange(n)
    matiere = rng.integers(0, len(MATIERES), n)
    nature = np.where(rng.random(n) < 0.7, 1, rng.choice([2, 4, 5, 6], n)).astype(np.int8)
    published = rng.random(n) < 0.8
    days = rng.integers(0, 365, n)
    start = dt.date(year, 1, 1).toordinal()
    dates = [dt.date.fromordinal(start + int(d)) for d in days]
    objet = rng.integers(0, len(OBJETS), n)
    acte_ids = [f"{siren}-{year}-{i:06d}" for i in idx]
    doc_ids = [f"d{c:05d}{year}{i:06d}" if p else None for i, p in zip(idx, published, strict=True)]
    base = "https://regate.example.org/v1/documents/"
    columns = {
        "acte_id": acte_ids,
        "siren": [siren] * n,
        "annee": [year] * n,
        "nature": nature,
        "nature_libelle": [NATURE_LIBELLES[int(v)] for v in nature],
        "nature_autre_detail": [None] * n,
        "classification_code": [MATIERES[m][0] for m in matiere],
        "coll_nom": [f"Commune n°{c}"] * n,
        "coll_siret": [f"{siren}00018"] * n,
        "delib_id": [f"D{year}_{i:05d}" for i in idx],
        "delib_date": dates,
        "delib_matiere_code": [MATIERES[m][0] for m in matiere],
        "delib_matiere_nom": [MATIERES[m][1] for m in matiere],
        "delib_objet": [f"{OBJETS[o]} n°{i}" for o, i in zip(objet, idx, strict=True)],
        "budget_annee": [None] * n,
        "budget_nom": [None] * n,
        "pref_id": ["PREF035"] * n,
        "pref_date": [d + dt.timedelta(days=3) for d in dates],
        "vote_effectif": [23] * n,
        "vote_reel": [20] * n,
        "vote_pour": [18] * n,
        "vote_contre": [1] * n,
        "vote_abstention": [1] * n,
        "delib_url": [base + d if d else None for d in doc_ids],
        "decision": ["publier" if p else "metadonnees" for p in published],
        "documents_publics": published,
        "document_id": doc_ids,
        "annexes": [None] * n,
    }
    return pa.table(columns, schema=PUBLIC_ACTES_SCHEMA)


def generate(store: Any, n_collectivites: int) -> list[str]:
    """Write ``n_collectivites × len(YEARS)`` partitions; returns the SIRENs."""
    import numpy as np
    import pyarrow.parquet as pq

    from regate.storage import layout
    from regate_local.sampledata import siren_with_luhn

    rng = np.random.default_rng(7)
    sirens = [siren_with_luhn(f"21{c:06d}") for c in range(n_collectivites)]

    def one(item: tuple[int, str, int]) -> None:
        c, siren, year = item
        buffer = io.BytesIO()
        pq.write_table(
            _partition_table(c, siren, year, np.random.default_rng(c * 10_000 + year)),
            buffer,
            compression="zstd",
        )
        store.client.put_object(
            Bucket=store.bucket,
            Key=layout.actes_parquet_key(siren, year, public=True),
            Body=buffer.getvalue(),
        )

    del rng
    items = [(c, s, y) for c, s in enumerate(sirens) for y in YEARS]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, items))
    return sirens


def _requests(siren: str) -> list[tuple[str, str, list[Any]]]:
    """(name, API target, direct DuckDB SQL + params over the same files)."""
    base = "FROM read_parquet(?, hive_partitioning=false)"
    order = "ORDER BY delib_date DESC, acte_id DESC"
    folded = "strip_accents(lower(delib_objet))"
    summary = "SELECT siren, annee, nature, count(*), max(delib_date)"
    return [
        (
            "1 collectivité × 1 an",
            f"/v1/deliberations?siren={siren}&annee=2024",
            [f"SELECT * {base} WHERE nature = 1 AND siren = ? AND annee = 2024 {order} LIMIT 51", siren],
        ),
        (
            "plein texte national",
            "/v1/deliberations?q=subventions%20associations",
            [
                f"SELECT * {base} WHERE nature = 1 AND contains({folded}, 'subventions') AND "
                f"contains({folded}, 'associations') {order} LIMIT 51"
            ],
        ),
        (
            "matière 7, 2024",
            "/v1/deliberations?matiere=7&annee=2024&limit=100",
            [
                f"SELECT * {base} WHERE nature = 1 AND annee = 2024 AND (delib_matiere_code = '7' OR "
                f"starts_with(delib_matiere_code, '7.')) {order} LIMIT 101"
            ],
        ),
        (
            "stats par matière",
            "/v1/stats?group=matiere",
            [
                f"SELECT delib_matiere_code, min(delib_matiere_nom), count(*) {base} "
                "WHERE nature = 1 GROUP BY 1"
            ],
        ),
        (
            "geojson 2024",
            "/v1/collectivites.geojson?annee=2024",
            [f"{summary} {base} WHERE annee = 2024 GROUP BY ALL"],
        ),
        (
            "mreport 1 collectivité",
            f"/v1/mreport/deliberations?dataid={siren}",
            [f"{summary} {base} WHERE siren = ? GROUP BY ALL", siren],
        ),
        (
            "CSV 1 collectivité",
            f"/v1/exports/deliberations.csv?siren={siren}",
            [f"SELECT * {base} WHERE nature = 1 AND siren = ? {order}", siren],
        ),
    ]


def _files_for(target: str, dataset: Any, siren: str) -> list[str]:
    snapshot = dataset.snapshot()
    parts = list(snapshot.partitions)
    if siren in target:
        parts = [p for p in parts if p.siren == siren]
    if "annee=2024" in target:
        parts = [p for p in parts if p.annee == 2024]
    return dataset.local_files(parts)


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def import_time() -> float:
    """Median wall time (ms) of ``import api_handler`` in a fresh interpreter."""
    code = "import time; t = time.perf_counter(); import api_handler; print((time.perf_counter() - t) * 1000)"
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true"}
    runs = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO_ROOT / "functions" / "api",
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(runs)


def installed_size_mb(requirements: list[str]) -> tuple[float, dict[str, float]]:
    """Unzipped size of the runtime dependencies as installed here (RECORD of each distribution,
    recursively) — the same files ``pip install --target`` would put in the Lambda package."""
    import re
    from importlib import metadata

    seen: dict[str, float] = {}

    def visit(requirement: str) -> None:
        name = re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        if name in seen or (";" in requirement and "extra ==" in requirement):
            return
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            return
        total = 0
        for file in dist.files or []:
            path = Path(dist.locate_file(file))
            if path.is_file() and "__pycache__" not in path.parts:
                total += path.stat().st_size
        seen[name] = total / 1e6
        extras = re.findall(r"\[([^\]]+)\]", requirement)
        wanted = {e.strip() for group in extras for e in group.split(",")}
        for sub in dist.requires or []:
            marker = sub.split(";", 1)[1] if ";" in sub else ""
            extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)", marker)
            if extra and extra.group(1) not in wanted:
                continue
            if "python_version" in marker or "sys_platform" in marker or "platform" in marker:
                continue
            visit(sub.split(";", 1)[0])

    for requirement in requirements:
        visit(requirement)
    return sum(seen.values()), seen


def runtime_requirements() -> list[str]:
    """What the deployed API function carries: the shared layer's requirements plus its own
    (``functions/api/requirements.txt``: duckdb); pyarrow is not needed by the API."""
    requirements: list[str] = []
    for path in (REPO_ROOT / "layers/shared/requirements.txt", REPO_ROOT / "functions/api/requirements.txt"):
        if path.exists():
            lines = path.read_text().splitlines()
            requirements += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return requirements


def main(argv: list[str]) -> None:
    acts = 1_000_000
    reps = 10
    for arg in argv:
        if arg.startswith("--acts="):
            acts = int(arg.split("=", 1)[1])
        if arg.startswith("--reps="):
            reps = int(arg.split("=", 1)[1])
    n_coll = max(1, acts // (PER_PARTITION * len(YEARS)))

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    from regate.api.app import build_services, create_app
    from regate.api.collectivites import EmptyDirectory
    from regate.settings import Settings
    from regate.storage import ObjectStore, make_s3_client
    from regate_local.serve.server import http_api_event

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    cache_root = Path(tempfile.mkdtemp(prefix="regate-api-bench-"))
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
    sirens = generate(store, n_coll)
    print(
        f"dataset: {n_coll * len(YEARS) * PER_PARTITION:,} acts, {n_coll * len(YEARS):,} partitions "
        f"generated + uploaded in {time.perf_counter() - started:.1f} s"
    )
    siren = sirens[len(sirens) // 2]

    import duckdb

    def resolver_call(app: Any, target: str) -> None:
        response = app.resolve(http_api_event("GET", target, {}), {})
        assert response["statusCode"] == 200, response

    # ---- cold: a new container (empty /tmp cache, new DuckDB connection) per request
    print("\ncold (new container: empty partition cache, first listing, new DuckDB)")
    print(f"{'request':<26}{'resolver ms':>14}{'direct DuckDB ms':>18}{'ratio':>8}")
    for i, (name, target, sql) in enumerate(_requests(siren)):
        cold_settings = settings.model_copy(update={"api_cache_dir": str(cache_root / f"cold{i}")})
        services = build_services(cold_settings, client, directory=EmptyDirectory())
        app = create_app(services)
        resolver_ms = _timed(lambda app=app, target=target: resolver_call(app, target))
        files = _files_for(target, services.query.dataset, siren)
        con = duckdb.connect()
        direct_ms = _timed(
            lambda con=con, sql=sql, files=files: con.execute(sql[0], [files, *sql[1:]]).fetchall()
        )
        print(f"{name:<26}{resolver_ms:>14.0f}{direct_ms:>18.0f}{resolver_ms / direct_ms:>8.1f}")

    # ---- warm: one container, caches filled, repeated requests
    services = build_services(settings, client, directory=EmptyDirectory())
    app = create_app(services)
    con = duckdb.connect()
    con.execute("SET parquet_metadata_cache = true")
    print(f"\nwarm ({reps} runs each, listing TTL {services.query.dataset.list_ttl_seconds:.0f} s)")
    print(f"{'request':<26}{'p50':>8}{'p95':>8}{'direct p50':>12}{'direct p95':>12}{'ratio p50':>11}")
    for name, target, sql in _requests(siren):
        resolver_call(app, target)  # fill the cache
        files = _files_for(target, services.query.dataset, siren)
        con.execute(sql[0], [files, *sql[1:]]).fetchall()
        api_runs = [_timed(lambda target=target: resolver_call(app, target)) for _ in range(reps)]
        direct_runs = [
            _timed(lambda sql=sql, files=files: con.execute(sql[0], [files, *sql[1:]]).fetchall())
            for _ in range(reps)
        ]
        p50, p95 = statistics.median(api_runs), _percentile(api_runs, 95)
        d50, d95 = statistics.median(direct_runs), _percentile(direct_runs, 95)
        print(f"{name:<26}{p50:>8.0f}{p95:>8.0f}{d50:>12.0f}{d95:>12.0f}{p50 / d50:>11.1f}")

    print(f"\nimport api_handler (fresh interpreter, median of 3): {import_time():.0f} ms")
    total, sizes = installed_size_mb(runtime_requirements())
    biggest = ", ".join(f"{k} {v:.0f}" for k, v in sorted(sizes.items(), key=lambda kv: -kv[1])[:6])
    print(
        f"API function package (shared layer + function requirements, unzipped): {total:.0f} MB "
        f"(limit 250 MB); largest: {biggest}"
    )
    server.stop()
