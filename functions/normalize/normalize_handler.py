"""Normalize Lambda: S3 events → records and partitions in curated (kinds: :mod:`regate.normalize.events`).

Input: an SQS batch whose bodies are EventBridge S3 events — raw ``pastell/*/*/detail.json`` (an act),
raw ``pastell-flux/*.json`` (a flux definition) or curated ``config/*.csv`` (an operator file: takedowns are
applied within minutes) — or one such event directly — or ``{"regate": "read-step"}`` from the schedule
(national files and compacted datasets of the years whose burst of changes is over,
``REGATE_LAKE_DEBOUNCE_SECONDS``). Other keys and buckets are ignored. Partial batch
failure: one bad message never replays the others. An operator file or flux definition that cannot be read
is replaced by its last good version and counted in the ``RefusedInputFiles`` metric (alarmed).
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from regate.clock import Clock, SystemClock
from regate.normalize.events import EventBatch, classify_event
from regate.normalize.pipeline import Normalizer
from regate.normalize.reports import RunReport
from regate.settings import Settings, get_settings
from regate.storage import ObjectStore, make_s3_client

#: ``{"regate": "read-step"}``: the scheduled event of the debounced read step (infra/template.yaml)
READ_STEP = "read-step"
logger = Logger(service="regate-normalize")
tracer = Tracer(service="regate-normalize")
metrics = Metrics(namespace="Regate", service="regate-normalize")


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context, get_settings(), SystemClock())


def handle(
    event: dict[str, Any], context: Any, settings: Settings, clock: Clock, s3_client: Any | None = None
) -> dict[str, Any]:
    """Dispatch; dependencies are arguments so tests run the real path on moto."""
    client = s3_client or make_s3_client(settings)
    raw, curated = ObjectStore(client, settings.raw_bucket), ObjectStore(client, settings.curated_bucket)
    report = RunReport(mode="event")
    normalizer = Normalizer.from_stores(raw, curated, settings, clock=clock, report=report)
    if isinstance(event, dict) and event.get("regate") == READ_STEP:  # the scheduled, debounced read step
        years = normalizer.run_read_step(report)
        logger.info("read step", extra={"years": years, "files_written": len(report.files_written)})
        return {"years": years}
    batch = EventBatch(normalizer, report, settings.operator_file_max_versions)

    def one(body: Any) -> dict[str, Any]:
        target = classify_event(body, settings.raw_bucket, settings.curated_bucket)
        batch.add(target)
        return {"key": target.key, "kind": target.kind}

    if isinstance(event, dict) and isinstance(event.get("Records"), list):
        processor = BatchProcessor(event_type=EventType.SQS)
        response: dict[str, Any] = dict(
            process_partial_response(
                event=event,
                record_handler=lambda record: one(json.loads(record.body)),
                processor=processor,
                context=context,
            )
        )
    else:
        one(event)
        response = {"batchItemFailures": []}
    batch.finish()  # a failure here fails the batch (replays are idempotent)
    refused = normalizer.refused_inputs()
    if refused:
        logger.error("refused input files", extra={"errors": [e.model_dump() for e in report.errors][:20]})
        metrics.add_metric(name="RefusedInputFiles", unit=MetricUnit.Count, value=len(refused))
        metrics.flush_metrics()
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
