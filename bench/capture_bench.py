"""Capture benchmark against the Pastell simulator (20 ms latency per call) and moto S3 on loopback.

Prints, side by side in one run: documents/s of a full capture with bounded concurrency vs one document at a
time (median of ``--runs`` runs each, fresh bucket every run) and their ratio; then the HTTP calls of an
incremental run with no change, by route (target: one listing call per entity, flux and listed state — the
harvested one and each of REGATE_PASTELL_TRANSITIONS — zero detail or file).

    .venv/bin/python -m bench capture [--runs=3] [--latency-ms=20] [--concurrency=8]
"""

from __future__ import annotations

import logging
import os
import statistics
import time
import uuid
from collections import Counter
from datetime import UTC, datetime

import requests


def _option(argv: list[str], name: str, default: int) -> int:
    for arg in argv:
        if arg.startswith(f"--{name}="):
            return int(arg.split("=", 1)[1])
    return default


def _route(path: str) -> str:
    parts = path.split("/")  # "", api, v2, entite, {id_e}, document, {id_d}, file, …
    if len(parts) >= 6 and parts[3] == "entite" and parts[5] == "document":
        return {6: "GET /entite/{id_e}/document (list)", 7: "GET …/document/{id_d} (detail)"}.get(
            len(parts), "GET …/file/{field}/{num} (file)"
        )
    if len(parts) >= 5 and parts[3] == "flux":
        return "GET /flux/{flux}"
    return "GET " + "/".join(parts[3:])


def main(argv: list[str]) -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from regate.capture.pull import CaptureOptions, run_capture
    from regate.clock import FakeClock
    from regate.http.retry import RetryingSession, RetryPolicy
    from regate.pastell.client import PastellAuth, PastellClient
    from regate.pastell.simulator import DEMO_LOGIN, DEMO_PASSWORD, PastellSimulator
    from regate.settings import Settings
    from regate.storage import ObjectStore, make_s3_client

    runs = _option(argv, "runs", 3)
    latency = _option(argv, "latency-ms", 20)
    concurrency = _option(argv, "concurrency", Settings().pastell_concurrency)
    moto = _MotoProcess()  # its own process: an in-process S3 would compete with the capture for the GIL
    settings = Settings(s3_endpoint_url=moto.url)
    s3 = make_s3_client(settings)
    sim = PastellSimulator(latency_ms=latency)
    clock = FakeClock(datetime(2026, 1, 10, 9, 0, tzinfo=UTC))

    def fresh_store() -> ObjectStore:
        bucket = f"bench-{uuid.uuid4().hex[:10]}"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": settings.s3_region})
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        return ObjectStore(s3, bucket)

    def client(url: str, pool: int) -> PastellClient:
        http = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=pool, pool_maxsize=pool)
        http.mount("http://", adapter)
        session = RetryingSession(RetryPolicy(max_attempts=3, backoff_base=0), http, clock)
        return PastellClient(url, PastellAuth(DEMO_LOGIN, DEMO_PASSWORD), session)

    options = CaptureOptions(flux=settings.pastell_flux, flux_sans_tdt=settings.pastell_flux_sans_tdt)
    try:
        with sim.serve() as server:
            results: dict[int, list[float]] = {concurrency: [], 1: []}
            documents = 0
            for _ in range(runs):
                for workers in (concurrency, 1):  # interleaved: both see the same machine state
                    store = fresh_store()
                    started = time.perf_counter()
                    report = run_capture(
                        client(server.url, workers), store, clock, _with(options, concurrency=workers)
                    )
                    elapsed = time.perf_counter() - started
                    documents = len(report.captured)
                    assert not report.errors, report.errors[:3]
                    results[workers].append(documents / elapsed)
            fast, slow = statistics.median(results[concurrency]), statistics.median(results[1])
            print(f"full capture: {documents} documents, latency {latency} ms/call, median of {runs} runs")
            print(f"  concurrency={concurrency:<3} {fast:8.1f} documents/s")
            print(f"  concurrency=1   {slow:8.1f} documents/s")
            print(f"  ratio           {fast / slow:8.2f}x")

            sim.reset_log()
            report = run_capture(client(server.url, concurrency), store, clock, options)
            calls = Counter(_route(entry.path) for entry in sim.request_log)
            total = sum(calls.values())
            print(f"incremental run, no change: {total} HTTP calls, captured={len(report.captured)}")
            for route, count in sorted(calls.items()):
                print(f"  {count:5d}  {route}")
    finally:
        moto.stop()


class _MotoProcess:
    """``moto_server`` in a child process on a free loopback port."""

    def __init__(self) -> None:
        import socket
        import subprocess
        import sys
        from pathlib import Path

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        executable = Path(sys.executable).with_name("moto_server")
        self.process = subprocess.Popen(
            [str(executable), "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(self.url + "/moto-api/", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("moto_server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _with(options, **changes):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(options, **changes)
