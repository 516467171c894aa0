"""The scheduled marchés stage (``regate.flux.marches.stage``) and its thin handler on moto and the Atexo
simulator: capture + normalisation in one run, a second run a no-op, outside failures reported, not raised."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import SecretStr, ValidationError

from regate.flux.marches.stage import run_marches
from regate.storage import layout
from regate_local.atexo_sim import DEMO_LOGIN, DEMO_PASSWORD, Defects
from regate_local.runtime.environment import export_settings
from regate_local.runtime.events import LocalLambdaContext
from regate_local.runtime.lambdas import load_handler_module

pytestmark = pytest.mark.integration


@pytest.fixture()
def marches_settings(settings, sim_factory, clock):
    clock.current = datetime(2024, 9, 10, 7, 30, tzinfo=UTC)
    sim, url = sim_factory(defects=Defects(invalid=0.2))
    return settings.model_copy(
        update={
            "atexo_url": url,
            "atexo_login": DEMO_LOGIN,
            "atexo_password": SecretStr(DEMO_PASSWORD),
            "atexo_sirens": tuple(b.siren for b in sim.buyers),
            "http_backoff_base_seconds": 0.01,
        }
    )


def test_capture_then_normalise_and_a_second_run_writes_nothing(
    marches_settings, clock, s3_client, curated_store, raw_store
) -> None:
    first = run_marches(marches_settings, clock, s3_client)
    assert first.ok and first.capture["captured"] > 0 and first.capture["error"] == 0
    assert first.normalized["publies"] > 0 and first.normalized["quarantaine"] > 0
    assert first.written > 0
    keys = list(curated_store.list_keys(layout.DECP_PREFIX))
    assert any(layout.parse_decp_key(k) == (layout.NATIONAL, 2024) for k in keys)
    assert list(curated_store.list_keys(layout.DECP_QUARANTINE_PREFIX))
    assert (
        raw_store.get_json(layout.run_report_key(layout.MARCHES_CAPTURE_STAGE))["stage"] == "capture-marches"
    )

    second = run_marches(marches_settings, clock, s3_client)
    assert second.ok and second.capture["captured"] == 0 and second.written == 0 and second.deleted == 0
    assert second.unchanged == first.written + first.unchanged


def test_bad_credentials_are_reported_and_what_is_stored_still_normalised(
    marches_settings, clock, s3_client
) -> None:
    run_marches(marches_settings, clock, s3_client)
    wrong = marches_settings.model_copy(update={"atexo_password": SecretStr("not-the-password")})
    run = run_marches(wrong, clock, s3_client)
    assert not run.ok and run.capture_fatal and "password" not in run.capture_fatal.lower()
    assert run.normalized["publies"] > 0 and run.written == 0  # the stored answers, unchanged
    assert run.as_dict()["ok"] is False


def test_no_buyer_configured_captures_nothing_and_never_calls_the_platform(
    settings, clock, s3_client
) -> None:
    run = run_marches(settings.model_copy(update={"atexo_url": ""}), clock, s3_client)
    assert run.ok and run.capture == {} and run.normalized["documents"] == 0 and run.written == 0


def test_handler_runs_the_stage_and_refuses_unknown_input(marches_settings, monkeypatch) -> None:
    export_settings(marches_settings)
    handler = load_handler_module("marches").handler
    context = LocalLambdaContext(function_name="regate-marches")
    result = handler({"detail-type": "Scheduled Event", "detail": {"since": "2024-08-01"}}, context)
    assert result["stage"] == "marches" and result["ok"] is True and result["capture"]["captured"] > 0
    with pytest.raises(ValidationError):
        handler({"since": "2024-08-01", "entite": ["1"]}, context)
    with pytest.raises(ValidationError):
        handler({"since": "not a date"}, context)
