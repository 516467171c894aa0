"""The S3-triggered handler (redelivered, out-of-order, garbage) and the no-lost-update proof."""

from __future__ import annotations

import csv
import io
import json
import threading
from pathlib import Path

import pytest
from conftest import validata_errors  # type: ignore[import-not-found]

from regate.clock import FakeClock
from regate.normalize.pipeline import Normalizer
from regate.normalize.reports import RunReport
from regate.storage import ObjectStore, layout, make_s3_client

pytestmark = pytest.mark.integration
EVENTS = Path(__file__).resolve().parents[2] / "events" / "normalize"


def event(name: str, bucket: str) -> dict:
    return json.loads((EVENTS / name).read_text().replace("raw-bucket", bucket))


def handle(evt, settings, s3_client):
    from normalize_handler import handle as real_handle  # functions/normalize on pythonpath

    return real_handle(evt, None, settings, FakeClock(), s3_client=s3_client)


def scdl_ids(curated_store) -> list[str]:
    key = layout.scdl_deliberations_key("213502388", 2024)
    if not curated_store.exists(key):
        return []
    return [r["DELIB_ID"] for r in csv.DictReader(io.StringIO(curated_store.get_bytes(key).decode()))]


def test_normalize_handler_created_redelivered_out_of_order(
    seeder, settings, s3_client, curated_store, raw_store, rennes_config
):
    seeder.put("pull_deliberation.json")
    response = handle(event("sqs_batch_created.json", settings.raw_bucket), settings, s3_client)
    assert response == {"batchItemFailures": []}
    assert scdl_ids(curated_store) == ["DEL2024_012"]
    assert curated_store.exists(layout.scdl_deliberations_national_key(2024))
    before = curated_store.list_versions(layout.scdl_deliberations_key("213502388", 2024))
    assert handle(event("sqs_batch_redelivered.json", settings.raw_bucket), settings, s3_client) == {
        "batchItemFailures": []
    }
    assert curated_store.list_versions(layout.scdl_deliberations_key("213502388", 2024)) == before
    # the act is deleted from raw; a late "created" arrives after the "deleted": state follows raw
    raw_store.delete(layout.document_detail_key("12", "Xk3P9aQ"))
    handle(event("sqs_batch_out_of_order.json", settings.raw_bucket), settings, s3_client)
    assert scdl_ids(curated_store) == []
    assert list(curated_store.list_keys(layout.PUBLIC_DOCUMENTS_PREFIX)) == []
    # direct EventBridge event, other bucket ignored
    assert handle(event("object_created.json", "someone-else"), settings, s3_client) == {
        "batchItemFailures": []
    }


def test_normalize_handler_reports_garbage_as_partial_failure(
    seeder, settings, s3_client, curated_store, rennes_config
):
    seeder.put("pull_deliberation.json")
    response = handle(event("sqs_batch_with_garbage.json", settings.raw_bucket), settings, s3_client)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-bad"}]}
    assert scdl_ids(curated_store) == ["DEL2024_012"]


@pytest.mark.slow
def test_normalize_200_acts_parallel_workers_no_lost_update(
    seeder, settings, raw_store, curated_store, rennes_config, tmp_path
):
    n, workers = 200, 8
    ids = [f"C{i:04d}" for i in range(n)]
    for i, id_d in enumerate(ids):
        seeder.put(
            "pull_deliberation.json",
            id_d=id_d,
            data={
                "numero_de_lacte": f"DEL2024_{i:04d}",
                "date_de_lacte": f"2024-01-{1 + i % 15:02d}",
                "acte_unique_id": f"035-213502388-20240101-DEL2024_{i:04d}-DE",
            },
        )
    errors: list[BaseException] = []
    attempts: list[int] = []

    def worker(chunk: list[str]) -> None:
        try:
            client = make_s3_client(settings)  # each worker its own S3 client
            raw = ObjectStore(client, settings.raw_bucket)
            curated = ObjectStore(client, settings.curated_bucket)
            report = RunReport(mode="event")
            normalizer = Normalizer.from_stores(raw, curated, settings, report=report)
            for start in range(0, len(chunk), 5):  # SQS-like batches of 5: one partition rebuild per batch
                keys = [layout.document_detail_key("12", id_d) for id_d in chunk[start : start + 5]]
                normalizer.process_keys(keys, report)
            attempts.extend(p.attempts for p in report.partitions)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(ids[w::workers],)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = scdl_ids(curated_store)
    assert len(rows) == n and sorted(rows) == sorted(f"DEL2024_{i:04d}" for i in range(n))
    assert max(attempts) > 1  # the workers really raced (optimistic retries happened)
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(curated_store.get_bytes(layout.actes_parquet_key("213502388", 2024))))
    assert table.num_rows == n
    assert (
        validata_errors(curated_store.get_bytes(layout.scdl_deliberations_key("213502388", 2024)), tmp_path)
        == []
    )
