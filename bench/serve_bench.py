"""``regate serve`` benchmark: latency of a cheap request alone, behind a running export, and with 20
concurrent clients — the current server against the previous one, on the same resolver and data.

    python -m bench serve                  # 200 000 acts (200 collectivités × 5 years × 200)
    python -m bench serve --acts=50000 --runs=3

Both servers resolve the same API Gateway events with resolvers from the same ``create_app(services)``
(same listing cache, same DuckDB connection, same local Parquet files), so only the serving layer
differs. "previous" is the server this one replaced, rebuilt here for the comparison: stdlib
``ThreadingHTTPServer``, one resolution at a time under a global lock, headers and body in two writes,
no ``TCP_NODELAY``. The floor is the same request resolved in-process (no HTTP). Clients use one
kept-alive ``http.client`` connection each. Runs alternate previous/current; each figure is the median
over runs of the per-run median. The listing TTL is set long so that no request pays a re-listing
(that cost belongs to the lake, not to the server).
"""

from __future__ import annotations

import http.client
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.api_bench import PER_PARTITION, YEARS, generate

CLIENTS = 20


def _option(argv: list[str], name: str, default: int) -> int:
    for arg in argv:
        if arg.startswith(f"--{name}="):
            return int(arg.split("=", 1)[1])
    return default


# ------------------------------------------------------------------------- the previous server
def previous_server(factory: Callable[[], Any]) -> ThreadingHTTPServer:
    """The server before this change, for the comparison (see the module docstring)."""
    import base64

    from regate_local.serve.server import _LocalContext, http_api_event

    lock = threading.Lock()
    resolver = factory()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            event = http_api_event("GET", self.path, dict(self.headers.items()))
            with lock:
                result = resolver.resolve(event, _LocalContext())
            body = result.get("body") or ""
            payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
            self.send_response(int(result["statusCode"]))
            for name, value in (result.get("headers") or {}).items():
                self.send_header(name, str(value))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server


def current_server(factory: Callable[[], Any]) -> Any:
    from regate_local.serve.server import ServeLimits, make_server

    return make_server("127.0.0.1", 0, factory=factory, limits=ServeLimits())


# ------------------------------------------------------------------------------- the clients
def _get(conn: http.client.HTTPConnection, target: str) -> tuple[float, int, int]:
    started = time.perf_counter()
    conn.request("GET", target)
    response = conn.getresponse()
    body = response.read()
    return (time.perf_counter() - started) * 1000, response.status, len(body)


def _cheap_series(port: int, targets: list[str], count: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        _get(conn, targets[0])  # connect + warm
        times = []
        for i in range(count):
            ms, status, _ = _get(conn, targets[i % len(targets)])
            assert status == 200, status
            times.append(ms)
        return times
    finally:
        conn.close()


class ConstantAnswer:
    """A resolver answering 2 KB of JSON at once: what remains is the serving layer alone."""

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": "[" + "0," * 999 + "0]",
        }


def measure_overhead(server: Any, count: int) -> float:
    """Median latency of a constant answer on one kept-alive connection (Nagle + delayed ACK show here)."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        return statistics.median(_cheap_series(server.server_address[1], ["/v1/constant"], count))
    finally:
        server.shutdown()
        server.server_close()


def measure(server: Any, cheap: list[str], export: str, count: int) -> dict[str, float]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        alone = _cheap_series(port, cheap, count)

        stop = threading.Event()
        exports: list[float] = []

        def exporter() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            while not stop.is_set():
                ms, status, size = _get(conn, export)
                assert status == 200 and size > 0, (status, size)
                exports.append(ms)
            conn.close()

        background = threading.Thread(target=exporter, daemon=True)
        background.start()
        time.sleep(0.2)  # the first export is under way
        behind = _cheap_series(port, cheap, max(20, count // 4))
        stop.set()
        background.join()

        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            started = time.perf_counter()
            series = list(
                pool.map(lambda _: _cheap_series(port, cheap, max(10, count // 10)), range(CLIENTS))
            )
            wall = time.perf_counter() - started
        together = [ms for s in series for ms in s]
        return {
            "alone": statistics.median(alone),
            "behind": statistics.median(behind),
            "export": statistics.median(exports) if exports else float("nan"),
            "clients": statistics.median(together),
            "throughput": len(together) / wall,
        }
    finally:
        server.shutdown()
        server.server_close()


def main(argv: list[str]) -> None:
    acts = _option(argv, "acts", 200_000)
    runs = _option(argv, "runs", 3)
    count = _option(argv, "requests", 200)
    n_coll = max(2, acts // (PER_PARTITION * len(YEARS)))

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    from regate.api.app import build_services, create_app
    from regate.api.collectivites import EmptyDirectory
    from regate.settings import Settings
    from regate.storage import ObjectStore, make_s3_client
    from regate_local.serve.server import _LocalContext, http_api_event

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    settings = Settings(
        s3_endpoint_url=f"http://{host}:{port}",
        curated_bucket="bench-curated",
        raw_bucket="bench-raw",
        recherche_entreprises_enabled=False,
        api_cache_dir=str(Path(tempfile.mkdtemp(prefix="regate-serve-bench-")) / "cache"),
        api_inline_export_max_bytes=1_000_000_000,  # the export is computed and sent every time
    )
    client = make_s3_client(settings)
    for bucket in (settings.raw_bucket, settings.curated_bucket):
        client.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": settings.s3_region}
        )
    sirens = generate(ObjectStore(client, settings.curated_bucket), n_coll)
    services = build_services(settings, client, directory=EmptyDirectory(), list_ttl_seconds=3600)
    cheap = [f"/v1/deliberations?siren={s}&annee=2024&limit=5" for s in sirens[:8]]
    export = "/v1/exports/deliberations.csv?annee=2024&q=n"  # not a fixed export: computed each time
    factory = lambda: create_app(services)  # noqa: E731

    app = factory()
    for target in cheap:  # warm: listings, partition downloads, DuckDB
        app.resolve(http_api_event("GET", target, {}), _LocalContext())
    app.resolve(http_api_event("GET", export, {}), _LocalContext())

    def floor_run() -> float:
        return statistics.median(
            _timed_ms(lambda t=target: app.resolve(http_api_event("GET", t, {}), _LocalContext()))
            for target in cheap * max(1, count // len(cheap))
        )

    print(
        f"dataset: {n_coll * len(YEARS) * PER_PARTITION:,} acts in {n_coll * len(YEARS)} partitions; "
        f"cheap request: one collectivité-year page; export: {export} (CSV, inline)"
    )
    results: dict[str, list[dict[str, float]]] = {"previous": [], "current": []}
    floors: list[float] = []
    for _ in range(runs):
        floors.append(floor_run())
        results["previous"].append(measure(previous_server(factory), cheap, export, count))
        results["current"].append(measure(current_server(factory), cheap, export, count))
        for name, make in (("previous", previous_server), ("current", current_server)):
            results[name][-1]["overhead"] = measure_overhead(make(ConstantAnswer), count)

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    floor = statistics.median(floors)

    print(f"\nmedians over {runs} alternated runs; floor = the cheap request in-process: {floor:.1f} ms")
    print(f"{'':<44}{'previous':>10}{'current':>10}{'ratio':>8}{'cur/floor':>11}")
    before, after = med("previous", "overhead"), med("current", "overhead")
    label = "serving layer alone, constant answer (ms)"
    print(f"{label:<44}{before:>10.2f}{after:>10.2f}{before / after:>8.0f}")
    rows = [
        ("cheap request alone (ms)", "alone"),
        ("cheap request while an export runs (ms)", "behind"),
        (f"{CLIENTS} concurrent clients, per request (ms)", "clients"),
    ]
    for label, key in rows:
        before, after = med("previous", key), med("current", key)
        print(f"{label:<44}{before:>10.1f}{after:>10.1f}{before / after:>8.1f}{after / floor:>11.1f}")
    before, after = med("previous", "throughput"), med("current", "throughput")
    label = f"{CLIENTS} concurrent clients, requests/s"
    print(f"{label:<44}{before:>10.0f}{after:>10.0f}{after / before:>8.1f}")
    before, after = med("previous", "export"), med("current", "export")
    print(f"{'the export itself (ms)':<44}{before:>10.0f}{after:>10.0f}")
    moto.stop()


def _timed_ms(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000
