"""Capture → normalise → publish through the real handlers, with S3 events delivered as production does.

Production wiring (infra/template.yaml) reproduced here:

* EventBridge Scheduler → capture handler (pull);
* S3 ``Object Created`` on raw ``inbox/*.zip`` → EventBridge rule → capture handler (push), one event
  per call;
* S3 ``Object Created``/``Object Deleted`` on raw ``pastell/*/*/detail.json`` → EventBridge → SQS → normalize
  handler in batches of 10 (partial batch failures are redelivered, like SQS, up to ``max_receives``);
* S3 ``Object Created``/``Object Deleted`` on curated ``config/*.csv`` (operator files: takedowns),
  ``config/decisions/…`` and ``config/collectivites/*.json`` (back-office decisions) and raw
  ``pastell-flux/*.json`` (flux definitions) → EventBridge → the same queue → normalize handler;
* S3 ``Object Created`` on curated ``_state/dirty/*`` → EventBridge → SQS → publish handler, then the
  scheduled reconcile.

``duplicate``/``shuffle`` reproduce at-least-once, unordered delivery on purpose.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from regate_local.runtime.bus import BucketWatcher, batches, delivery_order, matching
from regate_local.runtime.events import eventbridge_s3_event, scheduler_event, sqs_batch
from regate_local.runtime.lambdas import LocalFunction

SQS_BATCH_SIZE = 10
#: curated keys that decide publication: operator files and back-office objects (write API)
DECISION_INPUT_PATTERNS = (
    "config/collectivites.csv",
    "config/overrides.csv",
    "config/decisions/*.json",
    "config/collectivites/*.json",
)


@dataclass
class StageOutcome:
    name: str
    invocations: int = 0
    events: int = 0
    failures: list[str] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class ChainResult:
    stages: list[StageOutcome]

    @property
    def ok(self) -> bool:
        return all(stage.ok for stage in self.stages)

    def stage(self, name: str) -> StageOutcome:
        return next(s for s in self.stages if s.name == name)


class LocalChain:
    """The three pipeline functions wired to bucket watchers (see module docstring)."""

    def __init__(
        self,
        s3_client: Any,
        raw_bucket: str,
        curated_bucket: str,
        duplicate: bool = False,
        shuffle: bool = False,
        seed: int = 0,
        max_receives: int = 3,
    ) -> None:
        self.raw = BucketWatcher(s3_client, raw_bucket)
        self.curated = BucketWatcher(s3_client, curated_bucket)
        self.duplicate = duplicate
        self.shuffle = shuffle
        self.rng = random.Random(seed)
        self.max_receives = max_receives
        self.capture = LocalFunction("capture")
        self.normalize = LocalFunction("normalize")
        self.publish = LocalFunction("publish")

    def _order(self, items: list[Any]) -> list[Any]:
        return delivery_order(items, self.duplicate, self.shuffle, self.rng)

    # ------------------------------------------------------------------------------- stages
    def run_capture(self, payload: dict[str, Any] | None = None) -> StageOutcome:
        outcome = StageOutcome("capture")
        result = self.capture.invoke(scheduler_event(payload))
        outcome.invocations += 1
        outcome.results.append(result)
        if isinstance(result, dict) and result.get("errors"):
            outcome.failures.append(f"capture reported {result['errors']} error(s)")
        return outcome

    def deliver_inbox(self) -> StageOutcome:
        outcome = StageOutcome("ingest")
        events = [eventbridge_s3_event(c) for c in matching(self.raw.poll("inbox/"), ["inbox/*.zip"])]
        events = [e for e in events if e["detail-type"] == "Object Created"]
        for event in self._order(events):
            result = self.capture.invoke(event)
            outcome.invocations += 1
            outcome.events += 1
            outcome.results.append(result)
            for item in (result or {}).get("ingested", []):
                if item.get("outcome") == "rejected":
                    outcome.failures.append(f"{item.get('key')}: {item.get('reason')}")
        return outcome

    def deliver_raw_changes(self) -> StageOutcome:
        changes = matching(self.raw.poll("pastell/"), ["pastell/*/*/detail.json"])
        return self._through_queue("normalize", self.normalize, [eventbridge_s3_event(c) for c in changes])

    def deliver_decision_inputs(self) -> StageOutcome:
        """Operator files and flux definitions changed: the acts they decide are re-normalised."""
        changes = matching(self.curated.poll("config/"), DECISION_INPUT_PATTERNS)
        changes += matching(self.raw.poll("pastell-flux/"), ["pastell-flux/*.json"])
        events = [eventbridge_s3_event(c) for c in changes]
        return self._through_queue("normalize-config", self.normalize, events)

    def deliver_dirty_partitions(self) -> StageOutcome:
        changes = [
            c
            for c in matching(self.curated.poll("_state/dirty/"), ["_state/dirty/*"])
            if c.kind == "Object Created"
        ]
        return self._through_queue("publish", self.publish, [eventbridge_s3_event(c) for c in changes])

    def run_publish_reconcile(self) -> StageOutcome:
        outcome = StageOutcome("publish-schedule")
        result = self.publish.invoke(scheduler_event({}))
        outcome.invocations += 1
        outcome.results.append(result)
        failed = (result or {}).get("failed") if isinstance(result, dict) else None
        if failed:
            outcome.failures.append(f"publication failed for {failed}")
        marches_failed = (result or {}).get("marches_failed") if isinstance(result, dict) else None
        if marches_failed:
            outcome.failures.append(f"marchés publication failed for {marches_failed} file(s)")
        return outcome

    def _through_queue(
        self, name: str, function: LocalFunction, events: list[dict[str, Any]]
    ) -> StageOutcome:
        """SQS semantics: batches of 10; failed items are received again, up to ``max_receives``."""
        outcome = StageOutcome(name, events=len(events))
        pending = self._order(events)
        for receive in range(1, self.max_receives + 1):
            retry: list[dict[str, Any]] = []
            for batch in batches(pending, SQS_BATCH_SIZE):
                sqs_event = sqs_batch(batch, queue=f"regate-{name}")
                result = function.invoke(sqs_event)
                outcome.invocations += 1
                outcome.results.append(result)
                failed_ids = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
                for record, body in zip(sqs_event["Records"], batch, strict=True):
                    if record["messageId"] in failed_ids:
                        retry.append(body)
            if not retry:
                return outcome
            pending = retry
            if receive == self.max_receives:
                outcome.failures.extend(
                    f"{e['detail']['object']['key']}: still failing after {receive} receives (→ DLQ)"
                    for e in retry
                )
        return outcome

    def run(self, inbox_first: bool = False) -> ChainResult:
        """One pass: capture (pull), depot ZIPs (push), normalise (acts, then decision inputs), publish."""
        stages: list[StageOutcome] = []
        if inbox_first:
            stages.append(self.deliver_inbox())
            stages.append(self.run_capture())
        else:
            stages.append(self.run_capture())
            stages.append(self.deliver_inbox())
        stages.append(self.deliver_raw_changes())
        stages.append(self.deliver_decision_inputs())
        stages.append(self.deliver_dirty_partitions())
        stages.append(self.run_publish_reconcile())
        return ChainResult(stages)
