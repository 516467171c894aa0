"""Normalize Lambda: S3 events on raw ``pastell/*/*/detail.json`` → records and partitions in curated.

Input: an SQS batch whose bodies are EventBridge S3 events (``Object Created`` / ``Object Deleted``), or
one such event directly. Other keys and buckets are ignored. Events are at-least-once and unordered: the
library reads the document's *current* state, so redeliveries and out-of-order events converge. Partial
batch failure (``batchItemFailures``): one bad message never replays the others. The national yearly
files of the touched years are rebuilt once per batch, after the per-act work.

Per batch: each message's document is normalised (record, public documents; a failure is that message's
failure), then each touched (siren, year) partition is rebuilt ONCE under the optimistic protocol of
:mod:`regate.normalize.partitions`, then the national files of the touched years.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel

from regate.clock import Clock, SystemClock
from regate.normalize.pipeline import DocumentOutcome, Normalizer, detail_key_ids
from regate.normalize.reports import RunReport
from regate.settings import Settings, get_settings
from regate.storage import ObjectStore, make_s3_client

logger = Logger(service="regate-normalize")
tracer = Tracer(service="regate-normalize")


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context, get_settings(), SystemClock())


def handle(
    event: dict[str, Any], context: Any, settings: Settings, clock: Clock, s3_client: Any | None = None
) -> dict[str, Any]:
    """Dispatch; dependencies are arguments so tests run the real path on moto."""
    client = s3_client or make_s3_client(settings)
    raw = ObjectStore(client, settings.raw_bucket)
    curated = ObjectStore(client, settings.curated_bucket)
    report = RunReport(mode="event")
    normalizer = Normalizer.from_stores(raw, curated, settings, clock=clock, report=report)
    outcomes: list[DocumentOutcome] = []

    def one(body: Any) -> dict[str, Any]:
        parsed = parse(event=body, model=S3EventNotificationEventBridgeModel)
        bucket, key = parsed.detail.bucket.name, unquote_plus(parsed.detail.object.key)
        ids = detail_key_ids(key)
        if bucket != settings.raw_bucket or ids is None:
            return {"key": key, "ignored": True}
        outcomes.append(normalizer.normalize_document(ids[0], ids[1], report))
        return {"key": key, "ignored": False}

    if isinstance(event, dict) and isinstance(event.get("Records"), list):
        processor = BatchProcessor(event_type=EventType.SQS)

        def record_handler(record: SQSRecord) -> dict[str, Any]:
            return one(json.loads(record.body))

        response = process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    else:
        one(event)
        response = {"batchItemFailures": []}
    # partitions once per batch, then national files; a failure here fails the batch (replays are idempotent)
    years = normalizer.complete(outcomes, report)
    for annee in sorted(years):
        normalizer.rebuild_national(annee, report)
    logger.info(
        "normalize batch",
        extra={
            "acts": report.acts_normalised,
            "withdrawn": len(report.withdrawn),
            "quarantined": [q.model_dump() for q in report.quarantined][:20],
            "failures": len(response.get("batchItemFailures", [])),
        },
    )
    return response
