"""Lambda: publish to data.gouv.fr.

Two triggers:

* an EventBridge Scheduler event → full reconciliation (every file, every dirty marker), then the
  marchés (DECP) and the budgets (SCDL budget) files;
* an SQS batch of EventBridge S3 "Object Created" events for ``_state/dirty/{siren}/{annee}`` in the
  curated bucket → publish those partitions; records whose partition failed (or that are malformed)
  are returned in ``batchItemFailures`` so SQS redelivers only them (then the DLQ).

A bad API key raises: the whole batch goes back to the queue and nothing was changed.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from regate.datagouv.events import PublishTrigger, parse_publish_event, partition_failures
from regate.datagouv.run import collectivite_describer, run_publish

logger = Logger(service="regate-publish")
tracer = Tracer(service="regate-publish")


@lru_cache(maxsize=1)
def _dependencies() -> tuple[Any, Any, Any]:
    """Settings, curated store and options, built once per cold start."""
    from regate.datagouv.publisher import PublishOptions
    from regate.settings import get_settings
    from regate.storage import ObjectStore, make_s3_client

    settings = get_settings()
    return (
        settings,
        ObjectStore(make_s3_client(settings), settings.curated_bucket),
        PublishOptions.from_settings(settings),
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from regate.datagouv.client import DatagouvClient

    settings, curated, options = _dependencies()
    trigger: PublishTrigger = parse_publish_event(event, settings.curated_bucket)
    for bad in trigger.rejected:
        logger.error(
            "unusable publish event record", extra={"sqs_message_id": bad.message_id, "reason": bad.reason}
        )
    if not trigger.full and not trigger.records:  # nothing usable: only the rejected records to report
        return {"batchItemFailures": [{"itemIdentifier": bad.message_id} for bad in trigger.rejected]}
    client = DatagouvClient.from_settings(settings)
    partitions = None if trigger.full else trigger.partitions()
    describe = collectivite_describer(curated, settings) if options.mode == "collectivite" else None
    report = run_publish(curated, client, options, partitions=partitions, describe=describe)
    logger.info(
        "publish run",
        extra={"run_report": report.model_dump(mode="json", exclude={"planned_calls"})},
    )
    if trigger.full:
        from regate.flux.marches.publication import publish_marches, today_paris

        marches = publish_marches(curated, client, options, today_paris(), describe=describe)
        logger.info("publish marches run", extra={"run_report": marches.model_dump(mode="json")})
        from regate.flux.budgets.publication import publish_budgets

        budgets = publish_budgets(curated, client, options, describe=describe)
        logger.info(
            "publish budgets run",
            extra={"run_report": budgets.model_dump(mode="json", exclude={"planned_calls"})},
        )
        return {
            "full": True,
            "failed": len(report.failed),
            "marches_failed": len(marches.failed),
            "budgets_failed": len(budgets.failed),
        }
    return {"batchItemFailures": partition_failures(trigger, report)}
