"""Publish triggers: an EventBridge Scheduler event, or an SQS batch of S3 "Object Created" events.

Parsing is done with the powertools parser models (the outside contract); every record that cannot be
used (bad JSON, another bucket, a key that is not a dirty marker) is kept as ``rejected`` so the handler
reports it as a batch item failure: it goes back to SQS and then to the DLQ, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from aws_lambda_powertools.utilities.parser.models import (
    EventBridgeModel,
    S3EventNotificationEventBridgeModel,
    SqsModel,
)
from pydantic import ValidationError

from regate.datagouv.publisher import PublishReport
from regate.datagouv.run import parse_dirty_key


@dataclass(frozen=True)
class DirtyRecord:
    message_id: str
    siren: str
    annee: int


@dataclass(frozen=True)
class RejectedRecord:
    message_id: str
    reason: str


@dataclass
class PublishTrigger:
    full: bool
    records: list[DirtyRecord] = field(default_factory=list)
    rejected: list[RejectedRecord] = field(default_factory=list)

    def partitions(self) -> list[tuple[str, int]]:
        """Distinct partitions (redeliveries and duplicates collapse; order does not matter)."""
        return sorted({(r.siren, r.annee) for r in self.records})


class UnsupportedEvent(ValueError):
    """Neither a schedule nor an SQS batch: the invocation is misconfigured."""


def parse_publish_event(event: Any, curated_bucket: str) -> PublishTrigger:
    if isinstance(event, dict) and "Records" in event:
        return _parse_sqs(event, curated_bucket)
    if event == {}:  # EventBridge Scheduler with no Input configured
        return PublishTrigger(full=True)
    try:
        scheduled = EventBridgeModel.model_validate(event)
    except ValidationError as exc:
        raise UnsupportedEvent(
            f"not an SQS batch nor a scheduled event: {exc.error_count()} error(s)"
        ) from exc
    if scheduled.source not in ("aws.scheduler", "aws.events") or scheduled.detail_type != "Scheduled Event":
        raise UnsupportedEvent(f"unexpected EventBridge event {scheduled.source!r}/{scheduled.detail_type!r}")
    return PublishTrigger(full=True)


def _parse_sqs(event: dict[str, Any], curated_bucket: str) -> PublishTrigger:
    try:
        batch = SqsModel.model_validate(event)
    except ValidationError as exc:
        raise UnsupportedEvent(f"malformed SQS batch: {exc.error_count()} error(s)") from exc
    trigger = PublishTrigger(full=False)
    for record in batch.Records:
        try:
            s3_event = S3EventNotificationEventBridgeModel.model_validate_json(
                cast(str, record.body)
            )  # raw SQS JSON: a str
        except ValidationError as exc:
            trigger.rejected.append(RejectedRecord(record.messageId, f"not an S3 EventBridge event: {exc}"))
            continue
        if s3_event.detail_type != "Object Created":
            trigger.rejected.append(RejectedRecord(record.messageId, f"unexpected {s3_event.detail_type!r}"))
            continue
        if s3_event.detail.bucket.name != curated_bucket:
            trigger.rejected.append(
                RejectedRecord(
                    record.messageId, f"bucket {s3_event.detail.bucket.name!r} is not the curated one"
                )
            )
            continue
        parsed = parse_dirty_key(s3_event.detail.object.key)
        if parsed is None:
            trigger.rejected.append(
                RejectedRecord(record.messageId, f"key {s3_event.detail.object.key!r} is not a dirty marker")
            )
            continue
        trigger.records.append(DirtyRecord(record.messageId, parsed[0], parsed[1]))
    return trigger


def partition_failures(trigger: PublishTrigger, report: PublishReport) -> list[dict[str, str]]:
    """SQS partial batch response: rejected records and records whose partition failed."""
    failed_ids = [r.message_id for r in trigger.rejected]
    for record in trigger.records:
        for failure in report.failed:
            if failure.annee == record.annee and (report.mode == "opsn" or failure.siren == record.siren):
                failed_ids.append(record.message_id)
                break
    return [{"itemIdentifier": message_id} for message_id in dict.fromkeys(failed_ids)]
