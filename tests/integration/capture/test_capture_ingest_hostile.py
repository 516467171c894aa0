"""Push ingest of hostile depot ZIPs on moto: each shape rejected with its code, nothing half-written, the
batch goes on, the report is saved (fixtures: tests/fixtures/capture/hostile_zips/, built by the script
beside them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from regate.capture.push import ingest_guarded, ingest_inbox_object, ingest_local_file
from regate.capture.runtime import ingest_from_event
from regate.storage import layout

pytestmark = pytest.mark.integration

HOSTILE = Path(__file__).resolve().parents[2] / "fixtures" / "capture" / "hostile_zips"
EXPECTED: dict[str, str | None] = json.loads((HOSTILE / "expected.json").read_text())
REJECTED = sorted(name for name, code in EXPECTED.items() if code)
REGATE = str(Path(sys.executable).with_name("regate"))


def put_inbox(raw_store, name: str, body: bytes) -> str:
    key = layout.INBOX_PREFIX + name
    raw_store.client.put_object(Bucket=raw_store.bucket, Key=key, Body=body)
    return key


def written_outside_inbox(raw_store) -> list[str]:
    return sorted(
        k for k in raw_store.list_keys("") if not k.startswith(("inbox/", "inbox-rejected/", "_state/runs/"))
    )


def test_the_fixtures_are_what_the_script_builds(tmp_path):
    subprocess.run(
        [sys.executable, str(HOSTILE / "make_hostile_zips.py"), str(tmp_path)],
        check=True,
        capture_output=True,
    )
    built = sorted(p.name for p in tmp_path.iterdir())
    assert built == sorted([*EXPECTED, "expected.json"])
    for name in built:
        assert (tmp_path / name).read_bytes() == (HOSTILE / name).read_bytes(), name


@pytest.mark.parametrize("name", REJECTED)
def test_each_hostile_zip_is_rejected_with_its_code_and_nothing_written(raw_store, clock, name):
    body = (HOSTILE / name).read_bytes()
    key = put_inbox(raw_store, name, body)
    result = ingest_inbox_object(raw_store, key, clock)
    assert (result.outcome, result.reason) == ("rejected", EXPECTED[name])
    assert raw_store.get_bytes(layout.inbox_rejected_key(key)) == body  # kept, never lost
    reason = raw_store.get_json(layout.inbox_rejection_reason_key(key))
    assert reason["code"] == EXPECTED[name] and reason["message_fr"] and reason["message_en"]
    assert reason["zip_sha256"] and reason["inbox_key"] == key
    assert not raw_store.exists(key)
    assert written_outside_inbox(raw_store) == []  # no file, no detail.json, no act index entry


def test_the_baseline_fixture_is_ingested(raw_store, clock):
    key = put_inbox(raw_store, "ok.zip", (HOSTILE / "ok.zip").read_bytes())
    result = ingest_inbox_object(raw_store, key, clock)
    assert (result.outcome, result.id_e, result.id_d) == ("captured", "152", "ok")
    assert raw_store.exists(layout.document_detail_key("152", "ok"))


@pytest.mark.parametrize(
    "key",
    [
        "inbox/../pastell/152/x/detail.zip",
        "inbox/./Zp00001.zip",
        "inbox/a/../../Zp00001.zip",
        "inbox//Zp00001.zip",
        "inbox/Zp00001\n.zip",
        "inbox/sub\\..\\Zp00001.zip",
    ],
)
def test_inbox_keys_with_dot_segments_or_control_characters_are_refused_unread(raw_store, clock, key):
    stored = "\n" not in key  # moto refuses a newline in a key; AWS S3 accepts it (the event is enough)
    if stored:
        raw_store.client.put_object(Bucket=raw_store.bucket, Key=key, Body=(HOSTILE / "ok.zip").read_bytes())
    result = ingest_from_event(raw_store, raw_store.bucket, key, clock)
    assert result is not None and (result.outcome, result.reason) == ("rejected", "cle_invalide")
    reasons = [k for k in raw_store.list_keys(layout.INBOX_REJECTED_PREFIX)]
    assert len(reasons) == 1 and reasons[0].startswith("inbox-rejected/cle-invalide-")
    assert reasons[0].endswith(".reason.json")
    assert raw_store.get_json(reasons[0])["inbox_key"] == key
    assert raw_store.exists(key) or not stored  # not read, not moved: an operator decides
    assert written_outside_inbox(raw_store) == []


def test_a_local_zip_named_with_a_newline_is_refused(raw_store, clock, tmp_path):
    path = tmp_path / "Zp00001\n.zip"
    path.write_bytes((HOSTILE / "ok.zip").read_bytes())
    result = ingest_local_file(raw_store, str(path), clock)
    assert (result.outcome, result.reason) == ("rejected", "cle_invalide")
    assert all("\n" not in k for k in raw_store.list_keys(""))
    assert written_outside_inbox(raw_store) == []


def test_storage_failing_midway_leaves_nothing_half_written_and_a_retry_succeeds(
    raw_store, clock, monkeypatch
):
    from regate.capture import push

    key = put_inbox(raw_store, "ok.zip", (HOSTILE / "ok.zip").read_bytes())
    real = push.put_stream_if_changed
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("connection reset by the S3 endpoint")
        return real(*args, **kwargs)

    monkeypatch.setattr(push, "put_stream_if_changed", flaky)
    result = ingest_guarded(key, lambda: ingest_inbox_object(raw_store, key, clock))
    assert (result.outcome, result.reason) == ("error", "stockage")
    assert [k for k in raw_store.list_keys("pastell/")] == []  # the first file was removed again
    assert raw_store.exists(key)  # left in the inbox: the event is delivered again
    monkeypatch.setattr(push, "put_stream_if_changed", real)
    assert ingest_inbox_object(raw_store, key, clock).outcome == "captured"


@pytest.mark.slow
def test_cli_batch_goes_on_after_each_hostile_zip_and_saves_the_report(settings, raw_store, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGATE_")}
    env.update(
        {
            "REGATE_S3_ENDPOINT_URL": settings.s3_endpoint_url,
            "REGATE_RAW_BUCKET": settings.raw_bucket,
            "REGATE_CURATED_BUCKET": settings.curated_bucket,
            "NO_COLOR": "1",
        }
    )
    names = [*REJECTED[: len(REJECTED) // 2], "ok.zip", *REJECTED[len(REJECTED) // 2 :]]
    args = [str(HOSTILE / n) for n in names]
    result = subprocess.run(
        [REGATE, "ingest", *args, "--report", "ingest.json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr  # rejections are errors of the report
    assert "Traceback" not in result.stderr
    report = json.loads((tmp_path / "ingest.json").read_text())
    assert [i["id_d"] for i in report["captured"]] == ["ok"]
    got = sorted((Path(e["origin"]).name, e["reason"]) for e in report["errors"])
    assert got == sorted((n, EXPECTED[n]) for n in REJECTED)
    assert raw_store.get_json(layout.run_report_key("ingest"))["errors"] == report["errors"]
    assert [k for k in raw_store.list_keys("pastell/") if k.endswith("detail.json")] == [
        layout.document_detail_key("152", "ok")
    ]


def test_handler_sqs_batch_rejects_hostile_zips_ingests_the_rest_and_saves_the_report(
    settings, raw_store, clock
):
    from capture_handler import handle

    names = ["chiffre.zip", "ok.zip", "json-imbrique.zip"]
    records = []
    for number, name in enumerate(names):
        key = put_inbox(raw_store, name, (HOSTILE / name).read_bytes())
        body = {
            "Records": [
                {
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Put",
                    "eventVersion": "2.1",
                    "awsRegion": "eu-west-3",
                    "eventTime": "2026-01-10T09:00:00.000Z",
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "configurationId": "inbox",
                        "bucket": {
                            "name": raw_store.bucket,
                            "arn": f"arn:aws:s3:::{raw_store.bucket}",
                            "ownerIdentity": {"principalId": "x"},
                        },
                        "object": {"key": key, "size": 1, "eTag": "e", "sequencer": "0"},
                    },
                    "userIdentity": {"principalId": "x"},
                    "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                    "responseElements": {"x-amz-request-id": "r", "x-amz-id-2": "i"},
                }
            ]
        }
        records.append(
            {
                "messageId": f"m{number}",
                "receiptHandle": "h",
                "body": json.dumps(body),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "0",
                    "SenderId": "s",
                    "ApproximateFirstReceiveTimestamp": "0",
                },
                "messageAttributes": {},
                "md5OfBody": "x",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-3:123456789012:inbox",
                "awsRegion": "eu-west-3",
            }
        )
    result = handle({"Records": records}, None, settings, clock)
    assert result == {"batchItemFailures": []}  # a rejection is handled, not a failure to redeliver
    saved = raw_store.get_json(layout.run_report_key("ingest"))
    assert sorted(e["reason"] for e in saved["errors"]) == ["metadata_trop_imbrique", "zip_chiffre"]
    assert [i["id_d"] for i in saved["captured"]] == ["ok"]
