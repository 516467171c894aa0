"""API benchmark on the compacted read datasets (``public/lake/``): every request through the real resolver,
against its physical floor — the very SQL the resolver sent (recorded by ``ActesQuery.recorder``) replayed
directly in DuckDB on the same local files — warm and cold; plus import time and package size.

    python -m bench api                                  # 1 000 000 acts over 35 000 collectivités
    python -m bench api --acts=200000 --collectivites=7000 --reps=40

The dataset is generated year by year (vectorised, deterministic, exactly ``PUBLIC_ACTES_SCHEMA``) and turned
into compacted files by the read step's own functions (``regate.normalize.lake.compact`` / ``counts`` /
``write_manifest``, same writer options), uploaded to a moto S3 server on loopback — the bench does not
upload one partition per (SIREN, year) (175 000 objects at this size; the step's incremental rebuild is
measured by the normaliser bench). Requests are API Gateway v2 events resolved by the real resolver.

Warm: one container, caches filled; for each request the resolver and the replay alternate, ``--reps``
times each; medians, p95. Cold: a new container (empty cache, new DuckDB, first manifest GET), each run in
a fresh cache directory; its floor downloads the same objects from the same S3 and replays the same SQL on
a new connection. Objects read = S3 GETs/LISTs of the cold request. Peak RSS of this process at the end.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
YEARS = (2020, 2021, 2022, 2023, 2024)


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def sirens_of(n_collectivites: int) -> list[str]:
    from regate_local.sampledata import siren_with_luhn

    return [siren_with_luhn(f"2{c:07d}") for c in range(n_collectivites)]


def year_table(year: int, n_rows: int, sirens: list[str]) -> Any:
    """One year of public acts for the nation, as an Arrow table (vectorised: 200 000 rows in ~1 s)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from regate.storage.datasets import PUBLIC_ACTES_SCHEMA
    from regate_local.sampledata import MATIERES, NATURE_LIBELLES, OBJETS

    rng = np.random.default_rng(year)
    n = n_rows
    coll = rng.integers(0, len(sirens), n)
    siren = pa.array(sirens).take(pa.array(coll))
    matiere = rng.integers(0, len(MATIERES), n)
    nature = np.where(rng.random(n) < 0.7, 1, rng.choice([2, 4, 5, 6], n)).astype(np.int8)
    published = rng.random(n) < 0.8
    day = np.datetime64(f"{year}-01-01") + rng.integers(0, 365, n).astype("timedelta64[D]")
    dates = pa.array(day.astype("datetime64[D]"), type=pa.date32())
    objet = rng.integers(0, len(OBJETS), n)
    idx = np.arange(n)
    acte_ids = [f"{year}-{i:07d}" for i in idx]
    doc_ids = [f"d{year}{i:07d}" if p else None for i, p in zip(idx, published, strict=True)]
    base = "https://regate.example.org/v1/documents/"
    codes = pa.array([m[0] for m in MATIERES]).take(pa.array(matiere))
    noms = pa.array([m[1] for m in MATIERES]).take(pa.array(matiere))
    columns = {
        "acte_id": acte_ids,
        "siren": siren,
        "annee": pa.array(np.full(n, year, dtype=np.int32)),
        "nature": nature,
        "nature_libelle": [NATURE_LIBELLES[int(v)] for v in nature],
        "nature_autre_detail": pa.nulls(n, pa.string()),
        "classification_code": codes,
        "coll_nom": pc.binary_join_element_wise("Commune n°", siren, ""),
        "coll_siret": pc.binary_join_element_wise(siren, "00018", ""),
        "delib_id": [f"D{year}_{i:07d}" for i in idx],
        "delib_date": dates,
        "delib_matiere_code": codes,
        "delib_matiere_nom": noms,
        "delib_objet": [f"{OBJETS[o]} n°{i}" for o, i in zip(objet, idx, strict=True)],
        "budget_annee": pa.nulls(n, pa.string()),
        "budget_nom": pa.nulls(n, pa.string()),
        "pref_id": pa.array(["PREF035"] * n),
        "pref_date": pa.array((day + np.timedelta64(3, "D")).astype("datetime64[D]"), type=pa.date32()),
        "vote_effectif": pa.array(np.full(n, 23, dtype=np.int32)),
        "vote_reel": pa.array(np.full(n, 20, dtype=np.int32)),
        "vote_pour": pa.array(np.full(n, 18, dtype=np.int32)),
        "vote_contre": pa.array(np.full(n, 1, dtype=np.int32)),
        "vote_abstention": pa.array(np.full(n, 1, dtype=np.int32)),
        "delib_url": [base + d if d else None for d in doc_ids],
        "decision": ["publier" if p else "metadonnees" for p in published],
        "documents_publics": published,
        "document_id": doc_ids,
        "annexes": pa.nulls(n, pa.string()),
    }
    return pa.table(columns, schema=PUBLIC_ACTES_SCHEMA)


def generate(store: Any, acts: int, n_collectivites: int, row_group_rows: int) -> tuple[list[str], dict]:
    """Compacted files of every year, built by the read step's functions, then the manifest."""
    from regate.normalize.lake import LakeResult, _parquet, compact, counts, national_counts, write_manifest
    from regate.storage import layout

    sirens = sirens_of(n_collectivites)
    sizes: dict[str, int] = {}
    for year in YEARS:
        table = compact([year_table(year, acts // len(YEARS), sirens)])
        by_siren = counts(table)
        for dataset, body in (
            ("actes", _parquet(table, row_group_rows)),
            ("comptes", _parquet(by_siren, row_group_rows)),
            ("comptes_nationaux", _parquet(national_counts(by_siren), row_group_rows)),
        ):
            key = layout.lake_key(dataset, year)
            store.client.put_object(Bucket=store.bucket, Key=key, Body=body)
            sizes[key] = len(body)
        del table
    write_manifest(store, LakeResult())
    return sirens, sizes


def _requests(siren: str) -> list[tuple[str, str]]:
    return [
        ("collectivité × année", f"/v1/deliberations?siren={siren}&annee=2024"),
        ("page nationale filtrée", "/v1/deliberations?matiere=7&annee=2024&limit=100"),
        ("stats par matière", "/v1/stats?group=matiere"),
        ("mReport collectivité", f"/v1/mreport/deliberations?dataid={siren}"),
        ("GeoJSON d'une année", "/v1/collectivites.geojson?annee=2024"),
        ("plein texte national", "/v1/deliberations?q=subventions%20associations"),
    ]


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


def _options(argv: list[str]) -> tuple[int, int, int, int]:
    """``--acts``, ``--collectivites``, ``--reps``, ``--row-group-rows`` (defaults: the issue's size)."""
    values = {"--acts": 1_000_000, "--collectivites": 35_000, "--reps": 30, "--row-group-rows": 2048}
    for arg in argv:
        name, _, value = arg.partition("=")
        if name in values:
            values[name] = int(value)
    return values["--acts"], values["--collectivites"], values["--reps"], values["--row-group-rows"]


def _report(warm: dict, cold: dict, reps: int) -> None:
    """The table: warm p50/p95 and their floors, cold figures with S3 calls, cold start, RSS, package."""
    import_ms = import_time()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\nwarm: {reps} alternated runs each; floor = the recorded SQL replayed in DuckDB on the same files"
    )
    header = f"{'request':<24}{'p50 ms':>8}{'p95 ms':>8}{'floor p50':>10}{'floor p95':>10}{'p95 ratio':>10}"
    print(header + f"{'goal':>14}")
    for name, (p50, p95, f50, f95) in warm.items():
        goal = "" if name == "plein texte national" else ("PASS" if p95 <= 1.3 * f95 and p95 < 50 else "MISS")
        print(f"{name:<24}{p50:>8.1f}{p95:>8.1f}{f50:>10.1f}{f95:>10.1f}{p95 / f95:>10.2f}{goal:>14}")
    print(
        "\ncold: new container (empty cache, manifest GET, downloads, new DuckDB); "
        "floor = same downloads + same SQL on a new connection"
    )
    print(f"{'request':<24}{'API ms':>8}{'floor ms':>10}{'ratio':>8}{'S3 calls':>10}")
    for name, (api_ms, floor_ms, objects) in cold.items():
        print(f"{name:<24}{api_ms:>8.0f}{floor_ms:>10.0f}{api_ms / floor_ms:>8.2f}{objects:>10}")
    first = cold["collectivité × année"][0]
    verdict = "PASS" if import_ms + first < 1500 else "MISS"
    print(
        f"\ncold start = import api_handler {import_ms:.0f} ms (fresh interpreter, median of 3) + first "
        f"collectivité-year query {first:.0f} ms = {import_ms + first:.0f} ms (goal < 1 500 ms: {verdict})"
    )
    print(f"peak RSS of the bench process (generation included): {peak_mb:.0f} MB")
    total, package = installed_size_mb(runtime_requirements())
    biggest = ", ".join(f"{k} {v:.0f}" for k, v in sorted(package.items(), key=lambda kv: -kv[1])[:6])
    print(
        f"API function package (shared layer + function requirements, unzipped): {total:.0f} MB "
        f"(limit 250 MB); largest: {biggest}"
    )


def main(argv: list[str]) -> None:
    acts, n_coll, reps, row_group_rows = _options(argv)

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    import duckdb
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
    calls = {"n": 0}
    client.meta.events.register("before-call.s3", lambda **_: calls.__setitem__("n", calls["n"] + 1))
    for bucket in (settings.raw_bucket, settings.curated_bucket):
        client.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": settings.s3_region}
        )
    store = ObjectStore(client, settings.curated_bucket)
    started = time.perf_counter()
    sirens, sizes = generate(store, acts, n_coll, row_group_rows)
    total_mb = sum(sizes.values()) / 1e6
    print(
        f"dataset: {acts:,} acts over {n_coll:,} collectivités × {len(YEARS)} years → {len(sizes)} compacted "
        f"files ({total_mb:.1f} MB, row groups of {row_group_rows} rows), built + uploaded in "
        f"{time.perf_counter() - started:.1f} s"
    )
    siren = sirens[len(sirens) // 2]

    def resolve(app: Any, target: str) -> None:
        response = app.resolve(http_api_event("GET", target, {}), {})
        assert response["statusCode"] == 200, (target, response["statusCode"], str(response)[:300])

    def recorded(services: Any, app: Any, target: str) -> list[tuple[str, list[Any]]]:
        services.query.recorder = []
        resolve(app, target)
        sent, services.query.recorder = services.query.recorder, None
        return sent

    def replay(con: Any, sent: list[tuple[str, list[Any]]]) -> None:
        for sql, params in sent:
            con.execute(sql, params).fetchall()

    def remap(sent: list[tuple[str, list[Any]]], mapping: dict[str, str]) -> list[tuple[str, list[Any]]]:
        def one(v: Any) -> Any:
            return [mapping.get(x, x) for x in v] if isinstance(v, list) else v

        return [(sql, [one(p) for p in params]) for sql, params in sent]

    # ---- cold: a new container per request (empty cache, first manifest GET, new DuckDB)
    cold: dict[str, tuple[float, float, int]] = {}
    for i, (name, target) in enumerate(_requests(siren)):
        cold_settings = settings.model_copy(update={"api_cache_dir": str(cache_root / f"cold{i}")})
        services = build_services(cold_settings, client, directory=EmptyDirectory())
        app = create_app(services)
        services.query.recorder = []
        calls["n"] = 0
        api_ms = _timed(lambda app=app, target=target: resolve(app, target))
        objects = calls["n"]
        sent, services.query.recorder = services.query.recorder, None
        files = {f for _sql, params in sent for p in params if isinstance(p, list) for f in p}
        lake_years = (services.query.lake.years() or {}).values()
        parts = [p for y in lake_years for p in (y.actes, y.comptes) if p is not None]
        wanted = {f: p.key for p in parts if (f := str(services.query.dataset._path(p))) in files}
        floor_dir = cache_root / f"floor{i}"
        floor_dir.mkdir()

        def floor(sent: Any = sent, wanted: dict = wanted, floor_dir: Path = floor_dir) -> None:
            mapping = {}
            for path, key in wanted.items():
                local = str(floor_dir / Path(path).name)
                client.download_file(settings.curated_bucket, key, local)
                mapping[path] = local
            con = duckdb.connect()
            replay(con, remap(sent, mapping))
            con.close()

        floor_ms = _timed(floor)
        cold[name] = (api_ms, floor_ms, objects)

    # ---- warm: one container, caches filled; resolver and replay alternate
    services = build_services(settings, client, directory=EmptyDirectory())
    app = create_app(services)
    con = duckdb.connect()
    con.execute("SET parquet_metadata_cache = true")
    warm: dict[str, tuple[float, float, float, float]] = {}
    for name, target in _requests(siren):
        sent = recorded(services, app, target)  # fills the cache; the SQL it sends
        replay(con, sent)
        api_runs: list[float] = []
        floor_runs: list[float] = []
        # full text scans every objet of the nation (not one of the goals): fewer runs
        for _ in range(max(5, reps // 5) if name == "plein texte national" else reps):
            api_runs.append(_timed(lambda target=target: resolve(app, target)))
            floor_runs.append(_timed(lambda sent=sent: replay(con, sent)))
        warm[name] = (
            statistics.median(api_runs),
            _percentile(api_runs, 95),
            statistics.median(floor_runs),
            _percentile(floor_runs, 95),
        )
    _report(warm, cold, reps)
    server.stop()
