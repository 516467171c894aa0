"""Marchés Lambda: scheduled capture of the profils d'acheteur (Atexo SDM), then DECP normalisation.

EventBridge Scheduler → this function, input ``{}`` or ``{"since": "YYYY-MM-DD", "siren": [...]}``
(an operator sweep: re-read from ``since``, optionally for a few buyers). The work is in
:mod:`regate.flux.marches.stage`; publication is the publish function's scheduled reconcile. Outside
failures are in the result and the logs; a failed capture month is asked again next run.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from pydantic import BaseModel, ConfigDict, Field

from regate.clock import SystemClock
from regate.flux.marches.stage import run_marches
from regate.settings import get_settings

logger = Logger(service="regate-marches")
tracer = Tracer(service="regate-marches")


class ScheduledInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: date | None = None
    siren: list[str] = Field(default_factory=list, max_length=500)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    payload = event if isinstance(event, dict) else {}
    if "detail-type" in payload:  # a scheduled rule wraps the input in ``detail``
        payload = payload.get("detail") or {}
    options = ScheduledInput.model_validate(payload)
    run = run_marches(get_settings(), SystemClock(), since=options.since, sirens=tuple(options.siren))
    result = run.as_dict()
    (logger.info if run.ok else logger.warning)("marches run", extra={"run_report": result})
    return result
