"""Publish triggers: schedule, SQS batches (redelivered, out of order, malformed), partial failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regate.datagouv.events import UnsupportedEvent, parse_publish_event, partition_failures
from regate.datagouv.publisher import Failure, PublishReport
from regate.datagouv.run import parse_dirty_key

EVENTS = Path(__file__).resolve().parents[2] / "events"

BUCKET = "CURATED_BUCKET"


def load(name: str) -> dict:
    return json.loads((EVENTS / "publish" / name).read_text())


def test_publish_scheduled_event_is_a_full_reconcile() -> None:
    assert parse_publish_event(load("scheduled.json"), BUCKET).full
    assert parse_publish_event({}, BUCKET).full


def test_publish_sqs_batch_gives_partitions() -> None:
    trigger = parse_publish_event(load("sqs_dirty_batch.json"), BUCKET)
    assert not trigger.full and not trigger.rejected
    assert trigger.partitions() == [("213502388", 2024), ("243500139", 2024)]


def test_publish_redelivered_and_duplicate_records_collapse() -> None:
    trigger = parse_publish_event(load("sqs_redelivered.json"), BUCKET)
    assert len(trigger.records) == 2
    assert trigger.partitions() == [("213502388", 2024)]


def test_publish_out_of_order_records_are_all_served() -> None:
    trigger = parse_publish_event(load("sqs_out_of_order.json"), BUCKET)
    assert trigger.partitions() == [("213502388", 2023), ("213502388", 2024)]


def test_publish_malformed_records_are_rejected_not_dropped() -> None:
    trigger = parse_publish_event(load("sqs_malformed.json"), BUCKET)
    assert [r.message_id for r in trigger.records] == ["m-7"]
    assert sorted(r.message_id for r in trigger.rejected) == ["m-10", "m-11", "m-8", "m-9"]
    report = PublishReport(started_at="x", mode="collectivite", resource_kind="hosted")
    failures = partition_failures(trigger, report)
    assert sorted(f["itemIdentifier"] for f in failures) == ["m-10", "m-11", "m-8", "m-9"]


def test_publish_failed_partition_is_reported_per_record() -> None:
    trigger = parse_publish_event(load("sqs_dirty_batch.json"), BUCKET)
    report = PublishReport(started_at="x", mode="collectivite", resource_kind="hosted")
    report.failed.append(Failure(siren="243500139", annee=2024, reason="HTTP 502"))
    assert partition_failures(trigger, report) == [{"itemIdentifier": "m-2"}]
    national = PublishReport(started_at="x", mode="opsn", resource_kind="hosted")
    national.failed.append(Failure(siren=None, annee=2024, reason="HTTP 502"))
    assert len(partition_failures(trigger, national)) == 2  # both feed the national 2024 file


@pytest.mark.parametrize(
    "event",
    [
        {"Records": "nope"},
        {"version": "0", "source": "aws.s3"},
        {**load("scheduled.json"), "detail-type": "Object Created", "source": "aws.s3"},
        [],
    ],
)
def test_publish_unsupported_events_raise(event: object) -> None:
    with pytest.raises(UnsupportedEvent):
        parse_publish_event(event, BUCKET)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("_state/dirty/213502388/2024", ("213502388", 2024)),
        ("_state/dirty/213502388/24", None),
        ("_state/dirty/213502388/2024/x", None),
        ("_state/dirty/../2024", None),
        ("scdl/deliberations/213502388/2024.csv", None),
    ],
)
def test_publish_parse_dirty_key(key: str, expected: tuple[str, int] | None) -> None:
    assert parse_dirty_key(key) == expected
