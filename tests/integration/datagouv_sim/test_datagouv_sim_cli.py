"""``regate sim datagouv`` as operators run it: banner, serving, state saved on Ctrl-C and reloaded."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.integration

KEY = "rehearsal-key"


def _start(state: Path) -> tuple[subprocess.Popen[str], str, list[str]]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "regate.cli.main",
            "sim",
            "datagouv",
            "--port",
            "0",
            "--api-key",
            KEY,
            "--state",
            str(state),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 30
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Ctrl-C"):
            match = re.search(r"on (http://\S+)", "".join(lines))
            assert match, lines
            return proc, match.group(1), lines
    proc.kill()
    raise AssertionError(f"simulator did not start: {lines}")


def _stop(proc: subprocess.Popen[str], signum: int = signal.SIGINT) -> str:
    proc.send_signal(signum)
    out, _ = proc.communicate(timeout=30)
    return out


@pytest.mark.slow
def test_cli_serves_and_persists_state_across_restarts(tmp_path):
    state = tmp_path / "portal.json"
    proc, url, lines = _start(state)
    try:
        banner = "".join(lines)
        assert KEY in banner
        assert "megalis-bretagne-simulation" in banner
        assert "21350238800019" in banner
        me = requests.get(f"{url}/api/1/me/", headers={"X-API-KEY": KEY}, timeout=10)
        assert me.status_code == 200
        org_id = me.json()["organizations"][0]["id"]
        created = requests.post(
            f"{url}/api/1/datasets/",
            data=json.dumps({"title": "Délibérations", "description": "D", "organization": org_id}),
            headers={"X-API-KEY": KEY, "Content-Type": "application/json"},
            timeout=10,
        )
        assert created.status_code == 201
    finally:
        out = _stop(proc)
    assert "state saved" in out
    assert proc.returncode == 0
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert created.json()["id"] in saved["datasets"]

    proc, url, _ = _start(state)
    try:
        again = requests.get(f"{url}/api/1/datasets/{created.json()['id']}/", timeout=10)
        assert again.status_code == 200
        assert again.json()["title"] == "Délibérations"
        requests.delete(
            f"{url}/api/1/datasets/{created.json()['id']}/", headers={"X-API-KEY": KEY}, timeout=10
        )
    finally:
        out = _stop(proc, signal.SIGTERM)  # kill / timeout / containers: the state is saved too
    assert "state saved" in out
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert saved["datasets"][created.json()["id"]]["deleted"] is not None
