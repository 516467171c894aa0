"""The capture Lambda handler on real AWS event shapes: schedule → pull, S3 / SQS events → push ingest."""

from __future__ import annotations

import json
import shutil

import pytest
from capture_events import load_event
from capture_sim_fixtures import ENTITE, FLUX
from pydantic import SecretStr

from regate.storage import layout

pytestmark = pytest.mark.integration


@pytest.fixture()
def handler_settings(settings, sim_url):
    from regate_local.pastell_sim import DEMO_LOGIN, DEMO_PASSWORD

    return settings.model_copy(
        update={
            "pastell_url": sim_url,
            "pastell_user": DEMO_LOGIN,
            "pastell_password": SecretStr(DEMO_PASSWORD),
            "pastell_flux": (FLUX,),
            "http_backoff_base_seconds": 0.0,
            "http_max_attempts": 2,
        }
    )


@pytest.fixture()
def depot_in_inbox(sim, tmp_path, raw_store):
    id_d = sorted(d.id_d for d in sim.platform.documents.values() if d.id_e == ENTITE and d.type == FLUX
                  and any(h.action == "acquiter-tdt" for h in d.history))[0]  # fmt: skip
    path = sim.write_depot_zip(ENTITE, id_d, tmp_path / "depot")
    shutil.copy(path, tmp_path / "Zp00001.zip")
    raw_store.client.put_object(
        Bucket=raw_store.bucket, Key="inbox/Zp00001.zip", Body=(tmp_path / "Zp00001.zip").read_bytes()
    )
    raw_store.client.put_object(Bucket=raw_store.bucket, Key="inbox/broken.zip", Body=b"not a zip at all")


def test_scheduler_input_runs_a_narrowed_backfill(handler_settings, clock, raw_store):
    from capture_handler import handle

    result = handle(load_event("capture/scheduler_backfill_input.json"), None, handler_settings, clock)
    assert result["stage"] == "capture" and result["captured"] == 8 and result["errors"] == 0
    assert raw_store.get_json(layout.run_report_key("capture"))["captured"]


def test_scheduled_rule_event_runs_the_incremental_capture(handler_settings, clock, raw_store):
    from capture_handler import handle

    first = handle(load_event("capture/scheduled_event.json"), None, handler_settings, clock)
    assert first["errors"] == 0 and first["captured"] > 0
    assert raw_store.get_json(layout.watermark_key(ENTITE, FLUX)) is not None


def test_bad_scheduler_input_is_refused(handler_settings, clock):
    from capture_handler import handle

    with pytest.raises(ValueError, match="extra"):
        handle({"sinse": "2024-01-01"}, None, handler_settings, clock)
    with pytest.raises(ValueError, match="Pastell timestamp"):
        handle({"since": "01/01/2024"}, None, handler_settings, clock)


def test_eventbridge_object_created_ingests_the_zip(handler_settings, clock, raw_store, depot_in_inbox):
    from capture_handler import handle

    event = load_event("capture/s3_object_created_eventbridge.json", bucket=raw_store.bucket)
    result = handle(event, None, handler_settings, clock)
    assert result["ingested"][0]["outcome"] == "captured"
    assert raw_store.exists(layout.document_detail_key(ENTITE, "Zp00001"))


def test_sqs_batch_reports_only_the_unreadable_message_and_redelivery_is_a_no_op(
    handler_settings, clock, raw_store, depot_in_inbox
):
    from capture_handler import handle

    batch = load_event("capture/sqs_batch_object_created.json", bucket=raw_store.bucket)
    result = handle(batch, None, handler_settings, clock)
    assert result == {"batchItemFailures": [{"itemIdentifier": "9d8f7e6a-5b4c-4d3e-8f2a-1b0c9d8e7f6a"}]}
    assert raw_store.exists(layout.document_detail_key(ENTITE, "Zp00001"))
    assert raw_store.get_json("inbox-rejected/broken.reason.json")["code"] == "zip_invalide"

    detail_key = layout.document_detail_key(ENTITE, "Zp00001")
    versions = raw_store.list_versions(detail_key)
    duplicate = load_event("capture/sqs_redelivered_duplicate.json", bucket=raw_store.bucket)
    assert handle(duplicate, None, handler_settings, clock) == {"batchItemFailures": []}
    assert raw_store.list_versions(detail_key) == versions


def test_objects_outside_the_inbox_are_ignored(handler_settings, clock, raw_store):
    from capture_handler import handle

    event = load_event("capture/s3_object_created_eventbridge.json", bucket=raw_store.bucket)
    event["detail"]["object"]["key"] = "pastell/13/abc/detail.json"
    assert handle(event, None, handler_settings, clock)["ingested"][0]["outcome"] == "ignored"
    json.dumps(event)


def test_malformed_s3_event_is_a_clear_error(handler_settings, clock, raw_store):
    from capture_handler import handle

    event = load_event("capture/s3_object_created_eventbridge.json", bucket=raw_store.bucket)
    del event["detail"]["object"]
    with pytest.raises(ValueError, match="object"):
        handle(event, None, handler_settings, clock)
