"""End to end through ``regate serve``'s HTTP adapter (real sockets, threads) and the Lambda handler."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from api_scenario import DOC_PUBLIC, DOC_WITHHELD_ACT, EVENTS_DIR, RENNES, FakeDirectory
from typer.testing import CliRunner

REPO_ROOT = Path(__file__).resolve().parents[3]


pytestmark = pytest.mark.integration


def test_routes_over_http(server_url: str) -> None:
    health = requests.get(f"{server_url}/v1/health", timeout=30)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert health.headers["Access-Control-Allow-Origin"] == "*"
    delib = requests.get(
        f"{server_url}/v1/deliberations", params={"siren": RENNES, "q": "église"}, timeout=30
    )
    assert [r["acte_id"] for r in delib.json()["data"]] == ["rennes-003"]
    cached = requests.get(
        f"{server_url}/v1/deliberations",
        params={"siren": RENNES, "q": "église"},
        headers={"If-None-Match": delib.headers["ETag"]},
        timeout=30,
    )
    assert cached.status_code == 304 and cached.content == b""
    csv_body = requests.get(f"{server_url}/v1/deliberations/{RENNES}/2024.csv", timeout=30)
    assert csv_body.content.startswith(b"COLL_NOM,COLL_SIRET\r\n")
    geo = requests.get(f"{server_url}/v1/collectivites.geojson?annee=2024", timeout=30)
    assert geo.headers["Content-Type"] == "application/geo+json" and geo.json()["features"]
    parquet = requests.get(f"{server_url}/v1/deliberations?format=parquet", timeout=30)
    assert parquet.content[:4] == b"PAR1"
    doc = requests.get(f"{server_url}/v1/documents/{DOC_PUBLIC}", allow_redirects=False, timeout=30)
    assert doc.status_code == 302
    assert requests.get(doc.headers["Location"], timeout=30).content.startswith(b"%PDF")
    assert requests.get(f"{server_url}/v1/documents/{DOC_WITHHELD_ACT}", timeout=30).status_code == 404
    bad = requests.get(f"{server_url}/v1/stats?groupe=x", timeout=30)
    assert bad.status_code == 400 and bad.json()["erreur"]["message"].startswith("Paramètre inconnu")
    preflight = requests.options(
        f"{server_url}/v1/deliberations",
        timeout=30,
        headers={"Origin": "https://mreport.example.org", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"


def test_concurrent_requests(server_url: str) -> None:
    """Each response answers its own request (resolved in parallel, one resolver per worker; see
    test_api_serve_parallel for the synchronised version)."""
    targets = [f"/v1/deliberations?limit={n}" for n in range(1, 9)] + ["/v1/stats?group=annee"] * 4
    for _ in range(4):
        with ThreadPoolExecutor(max_workers=12) as pool:
            responses = list(pool.map(lambda t: requests.get(server_url + t, timeout=60), targets))
        _check_concurrent(responses)


def _check_concurrent(responses: list[requests.Response]) -> None:
    assert all(r.status_code == 200 for r in responses)
    assert [len(r.json()["data"]) for r in responses[:8]] == list(range(1, 9)), [
        (r.json()["total"], [row["acte_id"] for row in r.json()["data"]]) for r in responses[:8]
    ]
    assert {r.json()["total"] for r in responses[:8]} == {10}


def test_cli_registers_serve() -> None:
    from regate.cli.main import app

    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--port" in result.output and "--host" in result.output


def test_lambda_handler_end_to_end(shared_env: tuple[Any, Any, Any], tmp_path: Any) -> None:
    """The real handler module in a clean interpreter, configured only by REGATE_* variables."""
    settings = shared_env[0]
    env = {
        **os.environ,
        "REGATE_S3_ENDPOINT_URL": settings.s3_endpoint_url,
        "REGATE_RAW_BUCKET": settings.raw_bucket,
        "REGATE_CURATED_BUCKET": settings.curated_bucket,
        "REGATE_PUBLIC_BASE_URL": settings.public_base_url,
        "REGATE_RECHERCHE_ENTREPRISES_ENABLED": "false",
        "REGATE_API_CACHE_DIR": str(tmp_path / "lambda-cache"),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOGGER_LOG_EVENT": "false",
    }
    script = (
        "import json, sys\n"
        "from types import SimpleNamespace\n"
        "import api_handler\n"
        "ctx = SimpleNamespace(function_name='regate-api', memory_limit_in_mb=1024, aws_request_id='1',"
        " invoked_function_arn='arn:aws:lambda:eu-west-3:1:function:regate-api')\n"
        "event = json.load(open(sys.argv[1]))\n"
        "event.pop('_expected_status', None)\n"
        "print(json.dumps(api_handler.handler(event, ctx)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(EVENTS_DIR / "deliberations_search.json")],
        env=env,
        cwd=REPO_ROOT / "functions" / "api",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout.strip().splitlines()[-1])
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert [r["acte_id"] for r in body["data"]] == ["rennes-000"]  # "Budget primitif 2025"


def test_fake_directory_matches_real_contract() -> None:
    """The fake used here answers like regate.collectivites (same model type)."""
    from regate.collectivites.models import Collectivite

    assert isinstance(FakeDirectory().describe(RENNES), Collectivite)


def test_regate_serve_command(shared_env: tuple[Any, Any, Any], tmp_path: Path) -> None:
    """The real ``regate serve`` process, configured by REGATE_* variables, answers over HTTP."""
    settings = shared_env[0]
    env = {
        **os.environ,
        "REGATE_S3_ENDPOINT_URL": settings.s3_endpoint_url,
        "REGATE_RAW_BUCKET": settings.raw_bucket,
        "REGATE_CURATED_BUCKET": settings.curated_bucket,
        "REGATE_PUBLIC_BASE_URL": settings.public_base_url,
        "REGATE_RECHERCHE_ENTREPRISES_ENABLED": "false",
        "REGATE_API_CACHE_DIR": str(tmp_path / "serve-cache"),
        "PYTHONUNBUFFERED": "1",
    }
    code = "from regate.cli.main import main; main()"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", "0", "--host", "127.0.0.1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.split("http://", 1)[1].split("/v1/docs", 1)[0]
        health = requests.get(f"http://{url}/v1/health", timeout=60)
        assert health.status_code == 200 and health.json()["partitions"] == 4
        body = requests.get(
            f"http://{url}/v1/deliberations", params={"siren": RENNES, "annee": 2023}, timeout=60
        )
        assert body.json()["total"] == 2
        docs = requests.get(f"http://{url}/v1/docs", timeout=60)
        assert docs.headers["Content-Type"].startswith("text/html") and "/v1/deliberations" in docs.text
    finally:
        process.terminate()
        process.wait(timeout=30)
