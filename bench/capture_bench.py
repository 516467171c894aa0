"""Capture benchmark: Pastell simulator at 20 ms per call, S3 stand-in that is not the bottleneck.

* **Pastell**: the simulator (default seed) in its own process (``regate sim pastell --latency-ms``), so
  its request handling does not compete with the capture for the GIL: it behaves like a remote platform
  that answers every call after ``--latency-ms``.
* **S3**: :class:`regate_local.s3_memory.MemoryS3`, in process — the boto3 calls the capture makes,
  answered from dicts under a lock (no HTTP, signing or XML; versioning, ETags, conditional puts and
  paginators kept, checked against moto by ``tests/integration/capture/test_capture_memory_s3_vs_moto.py``).
  A moto server on loopback costs milliseconds of Python per call on the same cores as the run: with
  it the ratio measured moto, not the capture code.

Prints documents/s of a full capture (fresh bucket each run) one document and one listing at a time vs
``--concurrency`` workers for both documents and listings, the median of ``--runs`` runs each, alternated
(which goes first flips every run: both see the same machine state), their ratio (goal ≥ 8× with 16
workers), S3 calls per document; then the HTTP calls of an incremental run with no change, by route
(target: one listing call per entity, flux and listed state, zero detail or file), counted client-side.

    .venv/bin/python -m bench capture [--runs=5] [--latency-ms=20] [--concurrency=16]
"""

from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

GOAL_RATIO = 8.0


def _option(argv: list[str], name: str, default: int) -> int:
    for arg in argv:
        if arg.startswith(f"--{name}="):
            return int(arg.split("=", 1)[1])
    return default


def _route(path: str) -> str:
    parts = path.split("?", 1)[0].split("/")  # "", api, v2, entite, {id_e}, document, {id_d}, file, …
    if len(parts) >= 6 and parts[3] == "entite" and parts[5] == "document":
        return {6: "GET /entite/{id_e}/document (list)", 7: "GET …/document/{id_d} (detail)"}.get(
            len(parts), "GET …/file/{field}/{num} (file)"
        )
    if len(parts) >= 5 and parts[3] == "flux":
        return "GET /flux/{flux}"
    return "GET " + "/".join(parts[3:])


class _CountingSession(requests.Session):
    """Counts the calls by route (the simulator runs in another process: its own log is out of reach)."""

    def __init__(self, calls: Counter[str]) -> None:
        super().__init__()
        self.calls = calls

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        self.calls[_route(requests.utils.urlparse(str(url)).path)] += 1
        return super().request(method, url, *args, **kwargs)


def main(argv: list[str]) -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from regate.capture.pull import CaptureOptions, run_capture
    from regate.clock import FakeClock
    from regate.http.retry import RetryingSession, RetryPolicy
    from regate.pastell.client import PastellAuth, PastellClient
    from regate.settings import Settings
    from regate.storage import ObjectStore
    from regate_local.pastell_sim import DEMO_LOGIN, DEMO_PASSWORD
    from regate_local.s3_memory import MemoryS3

    runs = _option(argv, "runs", 5)
    latency = _option(argv, "latency-ms", 20)
    concurrency = _option(argv, "concurrency", 16)
    settings = Settings()
    clock = FakeClock(datetime(2026, 1, 10, 9, 0, tzinfo=UTC))

    def fresh_store() -> tuple[ObjectStore, MemoryS3]:
        s3 = MemoryS3()
        s3.create_bucket(Bucket="bench-raw")
        return ObjectStore(s3, "bench-raw"), s3

    def client(url: str, pool: int, calls: Counter[str]) -> PastellClient:
        http = _CountingSession(calls)
        adapter = requests.adapters.HTTPAdapter(pool_connections=pool, pool_maxsize=pool)
        http.mount("http://", adapter)
        session = RetryingSession(RetryPolicy(max_attempts=3, backoff_base=0), http, clock)
        return PastellClient(url, PastellAuth(DEMO_LOGIN, DEMO_PASSWORD), session)

    base = CaptureOptions(flux=settings.pastell_flux, flux_sans_tdt=settings.pastell_flux_sans_tdt)
    sim = _SimulatorProcess(latency)
    try:
        results: dict[int, list[float]] = {concurrency: [], 1: []}
        s3_calls: dict[int, list[int]] = {concurrency: [], 1: []}
        documents = 0
        for run in range(runs):
            order = (concurrency, 1) if run % 2 == 0 else (1, concurrency)
            for workers in order:
                store, s3 = fresh_store()
                options = replace(base, concurrency=workers, listing_concurrency=workers)
                calls: Counter[str] = Counter()
                started = time.perf_counter()
                report = run_capture(client(sim.url, 2 * workers, calls), store, clock, options)
                elapsed = time.perf_counter() - started
                assert not report.errors, report.errors[:3]
                if documents:
                    assert len(report.captured) == documents, "runs must capture the same documents"
                documents = len(report.captured)
                results[workers].append(documents / elapsed)
                s3_calls[workers].append(sum(s3.calls.values()))
        fast, slow = statistics.median(results[concurrency]), statistics.median(results[1])
        ratio = fast / slow
        print(
            f"full capture: {documents} documents, {sum(calls.values())} Pastell calls per run, "
            f"Pastell simulator in its own process at {latency} ms/call, S3 = in-memory stand-in "
            f"(regate_local.s3_memory), median of {runs} alternated runs (shared, noisy machine)"
        )
        print(f"  workers=1   {slow:8.1f} documents/s   runs: {_fmt(results[1])}")
        print(f"  workers={concurrency:<3} {fast:8.1f} documents/s   runs: {_fmt(results[concurrency])}")
        verdict = "ok" if ratio >= GOAL_RATIO else "BELOW GOAL"
        print(f"  ratio       {ratio:8.2f}x (goal >= {GOAL_RATIO:.0f}x: {verdict})")
        print(f"  S3 calls    {statistics.median(s3_calls[1]) / documents:8.1f} per document")

        calls = Counter()
        report = run_capture(client(sim.url, 2 * concurrency, calls), store, clock, base)
        total = sum(calls.values())
        print(f"incremental run, no change: {total} HTTP calls, captured={len(report.captured)}")
        for route, count in sorted(calls.items()):
            print(f"  {count:5d}  {route}")
    finally:
        sim.stop()


def _fmt(values: list[float]) -> str:
    return " ".join(f"{v:.1f}" for v in values)


class _SimulatorProcess:
    """``regate sim pastell`` in a child process on a free loopback port (same code path as operators)."""

    def __init__(self, latency_ms: int) -> None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        executable = Path(sys.executable).with_name("regate")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.process = subprocess.Popen(
            [str(executable), "sim", "pastell", "--port", str(port), "--latency-ms", str(latency_ms)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                requests.get(self.url + "/api/v2/version", timeout=1)
                return
            except requests.ConnectionError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the Pastell simulator did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
