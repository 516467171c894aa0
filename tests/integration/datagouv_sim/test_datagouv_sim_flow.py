"""The data.gouv.fr simulator over a real socket: the whole §9 publishing flow with ``requests``, faults,
trailing-slash redirects, concurrency, and the shared retry policy honouring the simulated 429."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from regate.clock import FakeClock
from regate.http import RetryingSession, RetryPolicy
from regate_local.datagouv_sim import DEMO_API_KEY, DatagouvSimulator

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "datagouv_sim"
CSV = (FIXTURES / "DELIBERATION-2024.csv").read_bytes()
KEY = {"X-API-KEY": DEMO_API_KEY}
JSON_KEY = {**KEY, "Content-Type": "application/json"}
RENNES_SIRET = "21350238800019"


@pytest.fixture()
def portal():
    sim = DatagouvSimulator(clock=FakeClock())
    with sim.serve() as server:
        yield sim, server.url, requests.Session()


def _put(http: requests.Session, url: str, body: object) -> requests.Response:
    return http.put(url, data=json.dumps(body), headers=JSON_KEY, timeout=10)


def test_publishing_flow_end_to_end(portal):
    sim, root, http = portal
    api = f"{root}/api/1"

    # 1. key check
    me = http.get(f"{api}/me/", headers=KEY, timeout=10)
    assert me.status_code == 200
    assert http.get(f"{api}/me/", headers={"X-API-KEY": "wrong"}, timeout=10).status_code == 401

    # 2. organisation by SIRET
    orgs = http.get(f"{api}/organizations/", params={"business_number_id": RENNES_SIRET}, timeout=10).json()
    assert orgs["total"] == 1
    org_id = orgs["data"][0]["id"]

    # 3. dataset: none with the marker yet → create (201)
    listing = http.get(f"{api}/organizations/{org_id}/datasets/", headers=KEY, timeout=10).json()
    assert listing["data"] == []
    created = http.post(
        f"{api}/datasets/",
        data=json.dumps(
            {
                "title": "Délibérations - Ville de Rennes",
                "description": "Délibérations publiées au format SCDL.",
                "organization": {"id": org_id},
                "license": "lov2",
                "frequency": "daily",
                "tags": ["scdl", "deliberations"],
                "extras": {"extraction:type": "deliberation"},
                "private": False,
            }
        ),
        headers=JSON_KEY,
        timeout=10,
    )
    assert created.status_code == 201
    ds = created.json()
    listing = http.get(f"{api}/organizations/{org_id}/datasets/", headers=KEY, timeout=10).json()
    assert [d["extras"]["extraction:type"] for d in listing["data"]] == ["deliberation"]

    # 4. hosted file: upload (201), then PUT title/description/schema
    uploaded = http.post(
        f"{api}/datasets/{ds['id']}/upload/",
        files={"file": ("DELIBERATION-2024.csv", CSV, "text/csv")},
        headers=KEY,
        timeout=10,
    )
    assert uploaded.status_code == 201
    res = uploaded.json()
    assert res["success"] is True
    assert res["checksum"] == {"type": "sha1", "value": hashlib.sha1(CSV).hexdigest()}
    assert res["url"].startswith(f"{root}/static/resources/{ds['slug']}/")
    assert http.get(res["url"], timeout=10).content == CSV
    described = _put(
        http,
        f"{api}/datasets/{ds['id']}/resources/{res['id']}/",
        {
            "title": "Délibérations 2024",
            "description": "Année 2024",
            "schema": {"name": "scdl/deliberations", "version": "2.1.5"},
        },
    )
    assert described.status_code == 200
    assert described.json()["title"] == "Délibérations 2024"

    # 5. unchanged checksum → nothing to write; changed → replace (200) and the title is reset
    current = http.get(f"{api}/datasets/{ds['id']}/", timeout=10).json()["resources"][0]
    assert current["checksum"]["value"] == hashlib.sha1(CSV).hexdigest()
    new_csv = CSV + CSV.splitlines(keepends=True)[1]
    replaced = http.post(
        f"{api}/datasets/{ds['id']}/resources/{res['id']}/upload/",
        files={"file": ("DELIBERATION-2024.csv", new_csv, "text/csv")},
        headers=KEY,
        timeout=10,
    )
    assert replaced.status_code == 200
    assert replaced.json()["title"] == "deliberation-2024.csv"
    assert replaced.json()["schema"]["name"] == "scdl/deliberations"
    assert replaced.json()["url"] != res["url"]

    # stable latest URL → 302 to the current file
    latest = http.get(res["latest"], allow_redirects=False, timeout=10)
    assert latest.status_code == 302
    assert latest.headers["Location"] == replaced.json()["url"]
    assert http.get(res["latest"], timeout=10).content == new_csv
    assert http.get(res["url"], timeout=10).status_code == 404  # previous file deleted

    # remote resource
    remote = http.post(
        f"{api}/datasets/{ds['id']}/resources/",
        data=json.dumps(
            {
                "title": "deliberation-213502388-2023.csv",
                "url": "https://api.example.org/scdl/deliberation/213502388/2023",
                "filetype": "remote",
                "type": "main",
                "format": "csv",
                "mime": "text/csv",
                "schema": {"name": "scdl/deliberations", "version": "2.1.5"},
            }
        ),
        headers=JSON_KEY,
        timeout=10,
    )
    assert remote.status_code == 201
    rem = remote.json()
    assert http.get(rem["latest"], allow_redirects=False, timeout=10).headers["Location"] == rem["url"]

    # 6. delete the resource of a year without data (204), then the dataset (204 → 410)
    assert (
        http.delete(f"{api}/datasets/{ds['id']}/resources/{rem['id']}/", headers=KEY, timeout=10).status_code
        == 204
    )
    assert [r["id"] for r in sim.datasets[ds["id"]]["resources"]] == [res["id"]]
    assert sim.file_bytes(res["id"]) == new_csv
    assert http.delete(f"{api}/datasets/{ds['id']}/", headers=KEY, timeout=10).status_code == 204
    gone = http.get(f"{api}/datasets/{ds['id']}/", timeout=10)
    assert gone.status_code == 410
    assert gone.json() == {"message": "Dataset has been deleted"}

    # every write went through with the key, and only writes are counted as such
    writes = sim.write_calls()
    assert [w.method for w in writes] == ["POST", "POST", "PUT", "POST", "POST", "DELETE", "DELETE"]
    assert all(w.has_key for w in writes)


def test_trailing_slash_redirect_is_followed_by_requests(portal):
    _, root, http = portal
    response = http.get(f"{root}/api/1/me", headers=KEY, timeout=10)
    assert response.status_code == 200
    assert response.history[0].status_code == 308
    assert response.url.endswith("/api/1/me/")


def test_injected_429_then_502_over_the_socket(portal):
    sim, root, http = portal
    sim.inject_fault(429, path_regex=r"^/api/1/datasets/$", headers={"Retry-After": "3"})
    limited = http.get(f"{root}/api/1/datasets/", timeout=10)
    assert limited.status_code == 429
    for header in ("Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert header in limited.headers
    sim.inject_fault(502, path_regex=r"/me/$")
    bad_gateway = http.get(f"{root}/api/1/me/", headers=KEY, timeout=10)
    assert bad_gateway.status_code == 502
    assert bad_gateway.headers["Content-Type"].startswith("text/html")
    assert "502 Bad Gateway" in bad_gateway.text
    assert http.get(f"{root}/api/1/me/", headers=KEY, timeout=10).status_code == 200


def test_shared_retry_policy_waits_what_the_simulator_asks(portal):
    sim, root, _ = portal
    clock = FakeClock()
    session = RetryingSession(RetryPolicy(max_attempts=4), clock=clock)
    sim.inject_fault(429, path_regex=r"/me/$", headers={"Retry-After": "7"})
    sim.inject_fault(502, path_regex=r"/me/$")
    response = session.get(f"{root}/api/1/me/", headers=KEY)
    assert response.status_code == 200
    assert session.calls == 3
    assert clock.sleeps[0] == 7
    assert [e.status for e in sim.request_log] == [429, 502, 200]


def test_413_upload_page_then_concurrent_uploads_stay_consistent(portal):
    sim, root, http = portal
    api = f"{root}/api/1"
    org_id = http.get(f"{api}/me/", headers=KEY, timeout=10).json()["organizations"][0]["id"]
    ds = http.post(
        f"{api}/datasets/",
        data=json.dumps({"title": "Budgets", "description": "D", "organization": org_id, "private": True}),
        headers=JSON_KEY,
        timeout=10,
    ).json()
    sim.inject_fault(413, path_regex=r"/upload/$", method="POST")
    too_large = http.post(
        f"{api}/datasets/{ds['id']}/upload/",
        files={"file": ("BUDGET-2024.csv", CSV)},
        headers=KEY,
        timeout=10,
    )
    assert too_large.status_code == 413
    assert "<html>" in too_large.text

    def upload(year: int) -> int:
        with requests.Session() as own:
            return own.post(
                f"{api}/datasets/{ds['id']}/upload/",
                files={"file": (f"BUDGET-{year}.csv", CSV)},
                headers=KEY,
                timeout=10,
            ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(upload, range(2010, 2026)))
    assert statuses == [201] * 16
    titles = sorted(r["title"] for r in sim.datasets[ds["id"]]["resources"])
    assert titles == [f"budget-{year}.csv" for year in range(2010, 2026)]
