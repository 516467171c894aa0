"""Event shapes exactly as AWS delivers them, built locally so the real handlers see production input.

* EventBridge S3 ``Object Created`` / ``Object Deleted`` (S3 → EventBridge, ``EventBridgeEnabled``);
* an SQS batch wrapping EventBridge events (rule target = SQS queue → Lambda event source mapping);
* an EventBridge Scheduler invocation (the schedule's ``Input``, by default ``{}``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from regate.clock import utc_iso

REGION = "eu-west-3"
ACCOUNT = "000000000000"


@dataclass(frozen=True)
class ObjectChange:
    """One change observed on a bucket (a new version or a delete marker)."""

    bucket: str
    key: str
    kind: Literal["Object Created", "Object Deleted"]
    version_id: str | None
    etag: str | None
    size: int
    when: datetime

    @property
    def sequencer(self) -> str:
        return hashlib.sha1(f"{self.key}:{self.version_id}".encode()).hexdigest()[:16].upper()


def eventbridge_s3_event(change: ObjectChange) -> dict[str, Any]:
    """The EventBridge event S3 emits for ``change`` (shape of the AWS documentation)."""
    obj: dict[str, Any] = {"key": change.key, "sequencer": change.sequencer}
    if change.version_id:
        obj["version-id"] = change.version_id
    if change.kind == "Object Created":
        obj.update({"size": change.size, "etag": (change.etag or "").strip('"')})
        detail: dict[str, Any] = {"reason": "PutObject"}
    else:
        detail = {"reason": "DeleteObject", "deletion-type": "Delete Marker Created"}
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{change.bucket}/{change.key}/{change.version_id}")),
        "detail-type": change.kind,
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": utc_iso(change.when),
        "region": REGION,
        "resources": [f"arn:aws:s3:::{change.bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": change.bucket},
            "object": obj,
            "request-id": change.sequencer,
            "requester": ACCOUNT,
            **detail,
        },
    }


def sqs_batch(bodies: list[dict[str, Any]], queue: str = "regate-local") -> dict[str, Any]:
    """An SQS → Lambda event whose messages carry ``bodies`` (JSON), as an event source mapping sends."""
    records = []
    for body in bodies:
        text = json.dumps(body)
        message_id = str(uuid.uuid4())
        records.append(
            {
                "messageId": message_id,
                "receiptHandle": f"local-{message_id}",
                "body": text,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "0",
                    "SenderId": ACCOUNT,
                    "ApproximateFirstReceiveTimestamp": "0",
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(text.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
                "awsRegion": REGION,
            }
        )
    return {"Records": records}


def scheduler_event(payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """EventBridge Scheduler delivers the schedule's ``Input`` as the event (``{}`` by default)."""
    return dict(payload or {})


@dataclass
class LocalLambdaContext:
    """The attributes of a Lambda context that powertools and handlers read."""

    function_name: str
    memory_limit_in_mb: int = 1024
    aws_request_id: str = ""
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    def __post_init__(self) -> None:
        self.aws_request_id = self.aws_request_id or str(uuid.uuid4())

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000
