"""The real entry points: the Lambda handler (in a child process with REGATE_* env) and `regate publish`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from regate.storage import ObjectStore, layout
from regate_local.datagouv_sim import DEMO_API_KEY, DEMO_ORG_SLUG, DatagouvSimulator

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
FIX = ROOT / "tests" / "fixtures" / "publish"
EVENTS = ROOT / "tests" / "events" / "publish"
RENNES, METRO = "213502388", "243500139"


@pytest.fixture()
def portal() -> Iterator[tuple[DatagouvSimulator, str]]:
    simulator = DatagouvSimulator()
    with simulator.serve() as server:
        yield simulator, server.url


def regate_env(
    settings, portal_url: str, mode: str = "collectivite", key: str = DEMO_API_KEY
) -> dict[str, str]:
    return {
        "REGATE_S3_ENDPOINT_URL": settings.s3_endpoint_url,
        "REGATE_S3_REGION": settings.s3_region,
        "REGATE_RAW_BUCKET": settings.raw_bucket,
        "REGATE_CURATED_BUCKET": settings.curated_bucket,
        "REGATE_PUBLIC_BASE_URL": "https://regate.example.org",
        "REGATE_DATAGOUV_URL": portal_url,
        "REGATE_DATAGOUV_API_KEY": key,
        "REGATE_DATAGOUV_ORG": DEMO_ORG_SLUG,
        "REGATE_PUBLICATION_MODE": mode,
        "REGATE_HTTP_MAX_ATTEMPTS": "2",
        "REGATE_HTTP_BACKOFF_BASE_SECONDS": "0",
    }


def invoke_handler(env: dict[str, str], event: dict) -> subprocess.CompletedProcess[str]:
    code = (
        "import json, sys\n"
        "from publish_handler import handler\n"
        "class Ctx:\n"
        "    function_name = 'regate-publish'; memory_limit_in_mb = 512; aws_request_id = 'req-1'\n"
        "    invoked_function_arn = 'arn:aws:lambda:eu-west-3:123456789012:function:regate-publish'\n"
        "print('RESULT=' + json.dumps(handler(json.load(sys.stdin), Ctx())))\n"
    )
    child_env = {
        **os.environ,
        **env,
        "PYTHONPATH": str(ROOT / "functions" / "publish"),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "regate-publish",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(event),
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def sqs_event(bucket: str, name: str = "sqs_dirty_batch.json") -> dict:
    text = (EVENTS / name).read_text().replace("CURATED_BUCKET", bucket)
    return json.loads(text)


def result_of(proc: subprocess.CompletedProcess[str]) -> dict:
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT="))
    return json.loads(line[len("RESULT=") :])


@pytest.mark.slow
def test_publish_handler_sqs_batch_reports_partial_failures(
    settings, curated_store: ObjectStore, portal
) -> None:
    sim, url = portal
    curated_store.put_if_changed(
        layout.scdl_deliberations_key(RENNES, 2024), (FIX / "213502388-2024.csv").read_bytes()
    )
    curated_store.put_if_changed(
        layout.scdl_deliberations_key(METRO, 2024), (FIX / "213502388-2024-invalid.csv").read_bytes()
    )
    for siren in (RENNES, METRO):
        curated_store.put_if_changed(layout.dirty_partition_key(siren, 2024), b"")
    env = regate_env(settings, url)
    result = result_of(invoke_handler(env, sqs_event(settings.curated_bucket)))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}  # m-2 = Rennes Métropole, invalid
    assert not curated_store.exists(layout.dirty_partition_key(RENNES, 2024))
    assert curated_store.exists(layout.dirty_partition_key(METRO, 2024))
    published = [d for d in sim.datasets.values() if d["extras"].get("regate:scope") == RENNES]
    assert len(published) == 1 and len(published[0]["resources"]) == 1

    # Redelivery of the same batch: nothing new is written on the portal.
    sim.reset_log()
    result = result_of(invoke_handler(env, sqs_event(settings.curated_bucket, "sqs_redelivered.json")))
    assert result == {"batchItemFailures": []}
    assert sim.write_calls() == []

    # Malformed records go back to SQS (then the DLQ); the good one in the same batch is served.
    result = result_of(invoke_handler(env, sqs_event(settings.curated_bucket, "sqs_malformed.json")))
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == ["m-10", "m-11", "m-8", "m-9"]


@pytest.mark.slow
def test_publish_handler_schedule_and_bad_key(settings, curated_store: ObjectStore, portal) -> None:
    sim, url = portal
    curated_store.put_if_changed(
        layout.scdl_deliberations_key(RENNES, 2024), (FIX / "213502388-2024.csv").read_bytes()
    )
    scheduled = json.loads((EVENTS / "scheduled.json").read_text())
    bad = invoke_handler(regate_env(settings, url, key="wrong"), scheduled)
    assert bad.returncode != 0 and "Invalid API token" in bad.stderr
    assert sim.write_calls() == []
    result = result_of(invoke_handler(regate_env(settings, url), scheduled))
    assert result == {"full": True, "failed": 0, "marches_failed": 0, "budgets_failed": 0}
    report = curated_store.get_json(layout.run_report_key("publish"))
    assert report["created"] == 1 and report["stage"] == "publish"


def _cli(env: dict[str, str], *args: str):
    from regate.cli.main import app
    from regate.settings import get_settings

    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, ["publish", *args], env=env)
    finally:
        get_settings.cache_clear()


def test_publish_cli_dry_run_then_publish(
    settings, curated_store: ObjectStore, portal, tmp_path: Path
) -> None:
    sim, url = portal
    curated_store.put_if_changed(
        layout.scdl_deliberations_national_key(2024), (FIX / "all-2024.csv").read_bytes()
    )
    env = regate_env(settings, url, mode="opsn")
    dry = _cli(env, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "POST /api/1/datasets/" in dry.output and "upload" in dry.output
    assert sim.write_calls() == []
    out = tmp_path / "run.json"
    done = _cli(env, "--report", str(out))
    assert done.exit_code == 0, done.output
    assert json.loads(out.read_text())["created"] == 1


def test_publish_cli_bad_key_exits_1_with_clear_message(settings, curated_store: ObjectStore, portal) -> None:
    sim, url = portal
    curated_store.put_if_changed(
        layout.scdl_deliberations_national_key(2024), (FIX / "all-2024.csv").read_bytes()
    )
    result = _cli(regate_env(settings, url, mode="opsn", key="wrong"))
    assert result.exit_code == 1
    assert "API key" in result.output and "nothing was changed" in result.output
    assert sim.write_calls() == []


def test_publish_cli_failure_exits_1(settings, curated_store: ObjectStore, portal) -> None:
    _sim, url = portal
    curated_store.put_if_changed(
        layout.scdl_deliberations_national_key(2024), (FIX / "213502388-2024-invalid.csv").read_bytes()
    )
    result = _cli(regate_env(settings, url, mode="opsn"))
    assert result.exit_code == 1
    assert "failed 2024" in result.output
