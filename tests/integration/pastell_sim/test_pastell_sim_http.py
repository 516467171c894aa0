"""The simulator over a real socket: a §18 harvest walk with `requests`, concurrency, and the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from regate_local.pastell_sim import DEMO_LOGIN, DEMO_PASSWORD, DEMO_TOKEN, PastellSimulator

pytestmark = pytest.mark.integration
ACTES = "{http://www.interieur.gouv.fr/ACTES#v1.1-20040216}"


@pytest.fixture(scope="module")
def served():
    sim = PastellSimulator()
    with sim.serve(host="127.0.0.1", port=0) as server:
        session = requests.Session()
        session.auth = (DEMO_LOGIN, DEMO_PASSWORD)
        yield sim, server.url + "/api/v2/", session


def test_harvest_walk_over_http(served):
    _sim, api, http = served
    entities = http.get(api + "entite", timeout=5).json()
    targets = {e["id_e"]: e["siren"] for e in entities if e["is_active"] and e["siren"]}
    flux = http.get(api + "flux", timeout=5).json()
    act_flux = [
        f for f in flux if f.endswith("-studio") or f in ("actes-generique", "actes-automatique", "ls-actes")
    ]
    labels = http.get(api + "flux/deliberations-studio", timeout=5).json()["publication_open_data"]["value"]
    assert labels["3"] == "Oui"
    captured: dict[str, dict] = {}
    for id_e in targets:
        for f in act_flux:
            offset = 0
            while True:
                params = {
                    "type": f,
                    "etatTransit": "acquiter-tdt",
                    "state_begin": "2023-12-31 23:59:59",
                    "state_end": "2026-01-01 00:00:00",
                    "sens_tri": "ASC",
                    "limit": 10,
                    "offset": offset,
                }
                page = http.get(f"{api}entite/{id_e}/document", params=params, timeout=5)
                assert page.status_code == 200
                rows = page.json()
                for row in rows:
                    assert row["id_e"] == id_e
                    captured[row["id_d"]] = row
                if len(rows) < 10:
                    break
                offset += 10
    assert len(captured) >= 35
    id_d, row = sorted(captured.items())[0]
    detail = http.get(f"{api}entite/{row['id_e']}/document/{id_d}", timeout=5).json()
    main = "acte_tamponne" if "acte_tamponne" in detail["data"] else "arrete"
    pdf = http.get(f"{api}entite/{row['id_e']}/document/{id_d}/file/{main}/0", timeout=5)
    assert pdf.headers["Content-disposition"] == f'attachment; filename="{detail["data"][main][0]}"'
    assert pdf.content.startswith(b"%PDF-")
    xml = http.get(f"{api}entite/{row['id_e']}/document/{id_d}/file/aractes/0", timeout=5)
    root = ET.fromstring(xml.content)
    assert root.get(f"{ACTES}IDActe").split("-")[1] == targets[row["id_e"]]
    assert root.get(f"{ACTES}DateReception") == detail["data"]["date_ar"]


def test_bearer_and_exact_401_over_http(served):
    _sim, api, _http = served
    ok = requests.get(api + "version", headers={"Authorization": f"Bearer {DEMO_TOKEN}"}, timeout=5)
    assert ok.status_code == 200 and ok.headers["Content-type"] == "application/json; charset=utf-8"
    denied = requests.get(api + "version", timeout=5)
    assert denied.status_code == 401 and denied.headers["WWW-Authenticate"] == 'Basic realm="API Pastell"'


def test_concurrent_requests(served):
    sim, api, _http = served
    sim.reset_log()
    urls = [f"{api}entite/13/document?type=deliberations-studio&limit=5&offset={i}" for i in range(24)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(lambda u: requests.get(u, auth=(DEMO_LOGIN, DEMO_PASSWORD), timeout=5).status_code, urls)
        )
    assert statuses == [200] * 24
    assert len(sim.request_log) == 24


def test_injected_fault_over_http(served):
    sim, api, http = served
    sim.inject_fault(r"/api/v2/version$", 503)
    assert http.get(api + "version", timeout=5).status_code == 503
    assert http.get(api + "version", timeout=5).status_code == 200


def test_cli_serves_and_stops_on_ctrl_c(tmp_path):
    regate = Path(sys.executable).with_name("regate")
    if not regate.exists():
        pytest.skip("the regate console script is not installed in this environment")
    proc = subprocess.Popen(
        [str(regate), "sim", "pastell", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        first = proc.stdout.readline()
        assert "Pastell API v2 simulator on http://127.0.0.1:" in first
        url = first.split(" on ", 1)[1].split(" ", 1)[0]
        assert requests.get(url + "version", auth=(DEMO_LOGIN, DEMO_PASSWORD), timeout=5).status_code == 200
        assert "regate-demo-token" in proc.stdout.readline() + proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


def test_cli_rejects_a_bad_seed(tmp_path):
    regate = Path(sys.executable).with_name("regate")
    if not regate.exists():
        pytest.skip("the regate console script is not installed in this environment")
    bad = tmp_path / "bad.json"
    bad.write_text('{"accounts": []}')
    done = subprocess.run(
        [str(regate), "sim", "pastell", "--seed", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "entities" in done.stdout + done.stderr


def test_utf8_file_name_travels_as_raw_bytes_in_the_header(served):
    sim, api, http = served
    id_d = sim.add_document(
        "13",
        "deliberations-studio",
        {"objet": "Fête de la musique"},
        files={"arrete": [("délibération 🎶.pdf", b"%PDF-1.4 x")]},
    )
    answer = http.get(f"{api}entite/13/document/{id_d}/file/arrete/0", timeout=5)
    assert answer.status_code == 200 and answer.content == b"%PDF-1.4 x"
    raw = answer.headers["Content-disposition"].encode("latin-1").decode("utf-8")
    assert raw == 'attachment; filename="délibération 🎶.pdf"'


def test_429_header_spelling_on_the_wire():
    from datetime import UTC, datetime

    from regate.clock import FakeClock

    sim = PastellSimulator(clock=FakeClock(datetime(2025, 1, 1, tzinfo=UTC)))
    with sim.serve() as server:
        statuses = [
            requests.get(server.url + "/api/v2/version", auth=("regate", "faux"), timeout=5).status_code
            for _ in range(6)
        ]
        assert statuses == [401] * 5 + [429]
        answer = requests.get(server.url + "/api/v2/version", auth=(DEMO_LOGIN, DEMO_PASSWORD), timeout=5)
        assert answer.status_code == 429
        assert "Retry-after" in [name for name, _ in answer.raw.headers.items()]
        assert answer.headers["Retry-after"] == "60"
