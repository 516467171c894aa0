"""`regate normalize` / `regate rebuild` as operators run them, and simulator → capture → normalise."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import validata_errors  # type: ignore[import-not-found]

from regate.storage import layout

pytestmark = pytest.mark.integration
REGATE = str(Path(sys.executable).with_name("regate"))


def cli(args: list[str], settings, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGATE_")}
    env.update(
        {
            "REGATE_S3_ENDPOINT_URL": settings.s3_endpoint_url,
            "REGATE_RAW_BUCKET": settings.raw_bucket,
            "REGATE_CURATED_BUCKET": settings.curated_bucket,
            "REGATE_PUBLIC_BASE_URL": settings.public_base_url,
            "REGATE_RECHERCHE_ENTREPRISES_ENABLED": "false",
            "NO_COLOR": "1",
        }
    )
    return subprocess.run([REGATE, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_normalize_cli_report_and_rebuild(seeder, settings, curated_store, rennes_config, tmp_path):
    seeder.put("pull_deliberation.json")
    seeder.put("malformed_bad_date.json")
    result = cli(["normalize", "--report", "run.json", "--workers", "2"], settings, tmp_path)
    assert result.returncode == 1, result.stderr  # one act quarantined
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["stage"] == "normalize" and report["started_at"].endswith("Z") and report["finished_at"]
    assert report["rows_written"] == 1 and [q["reason"] for q in report["quarantined"]] == ["date_invalide"]
    saved = curated_store.get_json(layout.run_report_key("normalize"))
    assert saved["finished_at"] == report["finished_at"]
    assert "date_invalide" in result.stderr
    csv_key = layout.scdl_deliberations_key("213502388", 2024)
    versions = curated_store.list_versions(csv_key)
    rebuilt = cli(["rebuild", "--report", "rebuild.json"], settings, tmp_path)
    assert (
        rebuilt.returncode == 1 and json.loads((tmp_path / "rebuild.json").read_text())["mode"] == "rebuild"
    )
    assert curated_store.list_versions(csv_key) == versions  # byte-identical: no new version
    help_text = cli(["normalize", "--help"], settings, tmp_path).stdout
    assert "--report" in help_text and "quarantin" in help_text


@pytest.mark.slow
def test_normalize_simulator_capture_normalise(raw_store, curated_store, settings, rennes_config, tmp_path):
    import requests

    from regate.capture.pull import CaptureOptions, run_capture
    from regate.clock import FakeClock
    from regate.http.retry import RetryingSession, RetryPolicy
    from regate.normalize.run import run_normalize
    from regate.pastell.client import PastellAuth, PastellClient
    from regate_local.pastell_sim import DEMO_LOGIN, DEMO_PASSWORD, PastellSimulator

    clock = FakeClock(datetime(2026, 1, 10, 9, 0, tzinfo=UTC))
    sim = PastellSimulator(latency_ms=0)
    with sim.serve(host="127.0.0.1", port=0) as server:
        policy = RetryPolicy(max_attempts=3, backoff_base=0.0, backoff_max=0.0, timeout=10)
        client = PastellClient(
            server.url,
            PastellAuth(DEMO_LOGIN, DEMO_PASSWORD),
            RetryingSession(policy, requests.Session(), clock),
        )
        run_capture(
            client,
            raw_store,
            clock,
            CaptureOptions(flux=("deliberations-studio",), entites=("13",), concurrency=4),
        )
    report = run_normalize(raw_store, curated_store, settings, workers=2, clock=clock)
    assert report.acts_normalised > 0 and report.quarantined == []
    keys = [k for k in curated_store.list_keys(layout.SCDL_DELIBERATIONS_PREFIX) if "/all/" not in k]
    assert keys
    total = 0
    for key in keys:
        body = curated_store.get_bytes(key)
        assert validata_errors(body, tmp_path) == []
        rows = list(csv.DictReader(io.StringIO(body.decode())))
        total += len(rows)
        assert len({(r["DELIB_ID"], r["DELIB_DATE"]) for r in rows}) == len(
            rows
        )  # acknowledged twice → one row
    assert total == report.rows_written or total > 0
