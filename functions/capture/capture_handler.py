"""Capture Lambda: scheduled pull from Pastell, and push ingest of depot ZIPs landing in ``inbox/``.

Event shapes (dispatch only; the work is in :mod:`regate.capture`):

* EventBridge Scheduler / scheduled rule → pull capture. Optional input ``{"since", "entite", "flux"}`` either
  as the whole event (Scheduler ``Input``) or as ``detail`` of a ``Scheduled Event``;
* EventBridge S3 ``Object Created`` on ``inbox/*.zip`` → push ingest;
* SQS batch of such events (EventBridge → SQS, or S3 notifications → SQS) → push ingest with partial batch
  failure (``batchItemFailures``): one bad message never blocks or replays the others.

A pull run stops ``REGATE_PASTELL_RUN_MARGIN_SECONDS`` before the invocation's timeout with its report saved.
A hostile ZIP is rejected (``inbox-rejected/``), never an exception; an ingest whose storage failed raises
after the ingest report is saved, so the event is delivered again.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel, S3Model
from pydantic import BaseModel, ConfigDict, Field, field_validator

from regate.capture.push import DepotLimits, IngestResult
from regate.capture.runtime import (
    capture_from_settings,
    ingest_from_event,
    raw_store,
    save_ingest_report,
    started_now,
)
from regate.capture.watermark import parse_pastell_timestamp
from regate.clock import Clock, SystemClock
from regate.settings import Settings, get_settings

logger = Logger(service="regate-capture")
tracer = Tracer(service="regate-capture")


class ScheduledInput(BaseModel):
    """Optional input of a scheduled capture (backfill or narrowing)."""

    model_config = ConfigDict(extra="forbid")

    since: str | None = None
    entite: list[str] = Field(default_factory=list)
    flux: list[str] = Field(default_factory=list)
    reconcile: bool | None = None  # true: compare with a full listing now (deletions); default: on schedule

    @field_validator("since")
    @classmethod
    def _since(cls, value: str | None) -> str | None:
        if value is not None:
            parse_pastell_timestamp(value)  # "YYYY-MM-DD[ HH:MM:SS]", refused before any work
        return value


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context, get_settings(), SystemClock())


def handle(event: dict[str, Any], context: Any, settings: Settings, clock: Clock) -> dict[str, Any]:
    """Dispatch on the event shape; dependencies passed in so tests run the real path on moto."""
    if isinstance(event, dict) and isinstance(event.get("Records"), list):
        return _sqs_batch(event, context, settings, clock)
    if isinstance(event, dict) and event.get("source") == "aws.s3":
        parsed = parse(event=event, model=S3EventNotificationEventBridgeModel)
        started, results = started_now(clock), list[IngestResult]()
        item = _ingest(settings, clock, parsed.detail.bucket.name, parsed.detail.object.key, results)
        save_ingest_report(raw_store(settings), results, clock, started)
        if item["outcome"] == "error":
            raise RuntimeError(f"ingest of {item['key']} failed: {item['reason']} (delivered again)")
        return {"ingested": [item]}
    return _scheduled(event, context, settings, clock)


def _scheduled(event: Any, context: Any, settings: Settings, clock: Clock) -> dict[str, Any]:
    payload = event if isinstance(event, dict) else {}
    if payload.get("detail-type") == "Scheduled Event" or "detail-type" in payload:
        payload = payload.get("detail") or {}
    options = ScheduledInput.model_validate(payload)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    report = capture_from_settings(
        settings,
        since=options.since,
        entites=options.entite,
        flux=options.flux,
        clock=clock,
        remaining_seconds=remaining() / 1000 if callable(remaining) else None,
        reconcile=options.reconcile,
    )
    summary = report.summary()
    logger.info(
        "capture finished", extra={"summary": summary, "errors": [e.model_dump() for e in report.errors[:20]]}
    )
    return {"stage": "capture", **summary}


def _sqs_batch(event: dict[str, Any], context: Any, settings: Settings, clock: Clock) -> dict[str, Any]:
    processor = BatchProcessor(event_type=EventType.SQS)
    started, batch = started_now(clock), list[IngestResult]()

    def record_handler(record: SQSRecord) -> list[dict[str, Any]]:
        body = json.loads(record.body)
        results: list[dict[str, Any]] = []
        if isinstance(body, dict) and body.get("source") == "aws.s3":
            parsed = parse(event=body, model=S3EventNotificationEventBridgeModel)
            results.append(
                _ingest(settings, clock, parsed.detail.bucket.name, parsed.detail.object.key, batch)
            )
        elif isinstance(body, dict) and "Records" in body:
            for s3_record in parse(event=body, model=S3Model).Records:
                if s3_record.s3.object is None:
                    raise ValueError(f"S3 notification without an object: {record.body[:200]!r}")
                key = unquote_plus(s3_record.s3.object.key)  # S3 notifications URL-encode keys
                results.append(_ingest(settings, clock, s3_record.s3.bucket.name, key, batch))
        elif isinstance(body, dict) and body.get("Event") == "s3:TestEvent":
            logger.info("S3 test event ignored")
        else:
            raise ValueError(f"Unrecognised SQS message body: {record.body[:200]!r}")
        failed = [r["key"] for r in results if r["outcome"] == "error"]
        if failed:  # this message only is delivered again
            raise RuntimeError(f"ingest failed (storage) for {failed}")
        return results

    try:
        return dict(
            process_partial_response(
                event=event, record_handler=record_handler, processor=processor, context=context
            )
        )
    finally:
        save_ingest_report(raw_store(settings), batch, clock, started)


def _ingest(
    settings: Settings, clock: Clock, bucket: str, key: str, results: list[IngestResult]
) -> dict[str, Any]:
    limits = DepotLimits.from_settings(settings)
    result = ingest_from_event(raw_store(settings), bucket, key, clock, limits=limits)
    if result is None:
        logger.info(
            "object ignored (not an inbox ZIP of the raw bucket)", extra={"bucket": bucket, "key": key}
        )
        return {"key": key, "outcome": "ignored"}
    results.append(result)
    if result.outcome in ("rejected", "error"):
        logger.warning(
            f"depot ZIP {result.outcome}",
            extra={"key": key, "reason": result.reason, "detail": result.message},
        )
    else:
        logger.info("depot ZIP ingested", extra={"key": key, "outcome": result.outcome, "id_d": result.id_d})
    return {
        "key": key,
        "outcome": result.outcome,
        "reason": result.reason,
        "id_e": result.id_e,
        "id_d": result.id_d,
    }
