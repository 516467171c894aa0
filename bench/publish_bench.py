"""Publication benchmark: the data.gouv.fr simulator and moto S3 on loopback, collectivité mode, hosted files.

Prints, side by side in one run (median of ``--runs``): a full reconciliation with nothing changed vs an
event-driven run for ONE changed partition (dirty marker), with their HTTP calls and write calls, and the
ratio of their durations. Also the cost of the first publication (creates everything) for reference.

    .venv/bin/python -m bench publish [--runs=3] [--collectivites=30]
"""

from __future__ import annotations

import logging
import os
import statistics
import time
import uuid
from pathlib import Path


def _option(argv: list[str], name: str, default: int) -> int:
    for arg in argv:
        if arg.startswith(f"--{name}="):
            return int(arg.split("=", 1)[1])
    return default


def main(argv: list[str]) -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    from regate.clock import FakeClock
    from regate.datagouv.client import DATAGOUV_RETRY_STATUSES, DatagouvClient
    from regate.datagouv.publisher import PublishOptions
    from regate.datagouv.run import run_publish
    from regate.http import RetryingSession, RetryPolicy
    from regate.settings import Settings
    from regate.storage import ObjectStore, layout, make_s3_client
    from regate_local.datagouv_sim import DEMO_API_KEY, DEMO_ORG_SLUG, DatagouvSimulator

    runs = _option(argv, "runs", 3)
    count = _option(argv, "collectivites", 30)
    fixtures = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "publish"
    base, changed = (
        (fixtures / "243500139-2024.csv").read_bytes(),
        (fixtures / "213502388-2024-v2.csv").read_bytes(),
    )

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    settings = Settings(s3_endpoint_url=f"http://{host}:{port}", recherche_entreprises_enabled=False)
    s3 = make_s3_client(settings)
    clock = FakeClock()
    sirens = [f"{200000000 + i * 7919:09d}" for i in range(count)]
    options = PublishOptions(mode="collectivite", org=DEMO_ORG_SLUG, opsn_siret="24350013900189")

    def client(url: str) -> DatagouvClient:
        policy = RetryPolicy(retry_statuses=DATAGOUV_RETRY_STATUSES)
        return DatagouvClient(url, DEMO_API_KEY, RetryingSession(policy, clock=clock))

    def timed(sim, curated: ObjectStore, url: str, partitions=None) -> tuple[float, int, int]:
        sim.reset_log()
        c = client(url)
        started = time.perf_counter()
        run_publish(curated, c, options, partitions=partitions, clock=clock)
        return time.perf_counter() - started, c.session.calls, len(sim.write_calls())

    first, full, event = [], [], []
    for _ in range(runs):
        sim = DatagouvSimulator()  # a fresh portal every run: the first publication really creates
        with sim.serve() as server:
            bucket = f"bench-publish-{uuid.uuid4().hex[:8]}"
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": settings.s3_region}
            )
            curated = ObjectStore(s3, bucket)
            for siren in sirens:
                for annee in (2023, 2024):
                    curated.put_if_changed(layout.scdl_deliberations_key(siren, annee), base, "text/csv")
            first.append(timed(sim, curated, server.url))
            full.append(timed(sim, curated, server.url))
            curated.put_if_changed(layout.scdl_deliberations_key(sirens[0], 2024), changed, "text/csv")
            curated.put_if_changed(layout.dirty_partition_key(sirens[0], 2024), b"", "text/plain")
            event.append(timed(sim, curated, server.url, partitions=[(sirens[0], 2024)]))
    moto.stop()

    def line(label: str, samples: list[tuple[float, int, int]]) -> float:
        median = statistics.median(s[0] for s in samples)
        calls, writes = samples[-1][1], samples[-1][2]
        print(f"{label:<40} {median * 1000:9.0f} ms   HTTP calls {calls:5d}   writes {writes:4d}")
        return median

    print(f"{count} collectivités × 2 years, {runs} run(s), medians:")
    line("first publication (creates everything)", first)
    full_median = line("full reconciliation, nothing changed", full)
    event_median = line("event-driven run, 1 changed partition", event)
    print(f"ratio full-reconcile / event-driven: {full_median / event_median:.1f}×")
