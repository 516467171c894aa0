"""``regate capture`` and ``regate ingest`` as an operator runs them (subprocess, env configuration)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from capture_sim_fixtures import ENTITE, FLUX

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REGATE = str(Path(sys.executable).with_name("regate"))


@pytest.fixture()
def cli_env(settings, sim_url):
    from regate_local.pastell_sim import DEMO_LOGIN, DEMO_PASSWORD

    env = {k: v for k, v in os.environ.items() if not k.startswith("REGATE_")}
    env.update(
        {
            "REGATE_S3_ENDPOINT_URL": settings.s3_endpoint_url,
            "REGATE_RAW_BUCKET": settings.raw_bucket,
            "REGATE_CURATED_BUCKET": settings.curated_bucket,
            "REGATE_PASTELL_URL": sim_url,
            "REGATE_PASTELL_USER": DEMO_LOGIN,
            "REGATE_PASTELL_PASSWORD": DEMO_PASSWORD,
            "REGATE_PASTELL_FLUX": FLUX,
            "REGATE_HTTP_BACKOFF_BASE_SECONDS": "0",
            "NO_COLOR": "1",
        }
    )
    return env


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([REGATE, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_capture_backfill_writes_the_report_and_exits_0(cli_env, tmp_path, raw_store):
    result = run(
        ["capture", "--since", "2024-01-01", "--entite", ENTITE, "--report", "run.json"], cli_env, tmp_path
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    assert set(report) >= {"captured", "unchanged", "skipped", "errors", "stage", "started_at", "finished_at"}
    assert len(report["captured"]) == 8
    assert {"id_e", "id_d", "flux"} <= set(report["captured"][0])
    assert raw_store.get_json("_state/runs/capture/latest.json")["captured"] == report["captured"]


def test_capture_with_a_read_only_account_exits_1_with_a_clear_message(cli_env, tmp_path):
    from regate_local.pastell_sim import READONLY_LOGIN, READONLY_PASSWORD

    env = {**cli_env, "REGATE_PASTELL_USER": READONLY_LOGIN, "REGATE_PASTELL_PASSWORD": READONLY_PASSWORD}
    result = run(["capture", "--since", "2024-01-01", "--entite", ENTITE], env, tmp_path)
    assert result.returncode == 1
    assert f"{FLUX}:edition" in result.stderr


def test_bad_since_is_refused_before_any_work(cli_env, tmp_path):
    result = run(["capture", "--since", "hier"], cli_env, tmp_path)
    assert result.returncode == 2
    assert "Pastell timestamp" in result.stderr


def test_ingest_rejects_a_corrupt_zip_and_exits_1(cli_env, tmp_path, raw_store):
    (tmp_path / "Zbad001.zip").write_bytes(b"definitely not a zip")
    result = run(["ingest", "Zbad001.zip", "--report", "ingest.json"], cli_env, tmp_path)
    assert result.returncode == 1
    report = json.loads((tmp_path / "ingest.json").read_text(encoding="utf-8"))
    assert [e["reason"] for e in report["errors"]] == ["zip_invalide"]
    assert raw_store.get_bytes("inbox-rejected/Zbad001.zip") == b"definitely not a zip"
    assert raw_store.get_json("_state/runs/ingest/latest.json")["errors"] == report["errors"]
    assert raw_store.get_json("_state/runs/capture/latest.json") is None  # the pull report is not clobbered


def test_help_teaches(cli_env, tmp_path):
    result = run(["capture", "--help"], cli_env, tmp_path)
    assert result.returncode == 0
    for needle in ("--since", "--entite", "--flux", "--report", "edition", "REGATE_PASTELL_TOKEN"):
        assert needle in result.stdout
