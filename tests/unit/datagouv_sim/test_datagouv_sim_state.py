"""Portal state persistence (``regate sim datagouv --state``): round trip and damaged files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from werkzeug.test import Client

from regate.clock import FakeClock
from regate_local.datagouv_sim import DEMO_API_KEY, DEMO_ORG_SLUG, DatagouvSimulator, StateError
from regate_local.datagouv_sim.cli import load_simulator, save_state

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "datagouv_sim"
KEY = {"X-API-KEY": DEMO_API_KEY}


def _populated() -> tuple[DatagouvSimulator, str, str]:
    sim = DatagouvSimulator(clock=FakeClock())
    client = Client(sim)
    org_id = next(o["id"] for o in sim.organizations() if o["slug"] == DEMO_ORG_SLUG)
    ds = client.post(
        "/api/1/datasets/",
        json={"title": "Délibérations", "description": "D", "organization": org_id},
        headers=KEY,
    ).get_json()
    res = client.post(
        f"/api/1/datasets/{ds['id']}/upload/",
        data={"file": (io.BytesIO(b"a,b\n1,2\n"), "DELIBERATION-2024.csv")},
        headers=KEY,
    ).get_json()
    return sim, ds["id"], res["id"]


def test_state_round_trip_keeps_datasets_files_and_ids():
    sim, ds_id, rid = _populated()
    restored = DatagouvSimulator.from_state_json(sim.state_json(), clock=FakeClock())
    assert restored.datasets == sim.datasets
    assert restored.file_bytes(rid) == b"a,b\n1,2\n"
    assert [o["id"] for o in restored.organizations()] == [o["id"] for o in sim.organizations()]
    client = Client(restored)
    assert client.get(f"/api/1/datasets/{ds_id}/").status_code == 200
    # A replace in the same (fake) second after a restart must still give a new URL.
    again = client.post(
        f"/api/1/datasets/{ds_id}/resources/{rid}/upload/",
        data={"file": (io.BytesIO(b"a,b\n3,4\n"), "DELIBERATION-2024.csv")},
        headers=KEY,
    ).get_json()
    assert again["url"] != sim.datasets[ds_id]["resources"][0]["url"]
    # New datasets do not collide with restored ids.
    org_id = next(o["id"] for o in restored.organizations() if o["slug"] == DEMO_ORG_SLUG)
    new = client.post(
        "/api/1/datasets/", json={"title": "Budgets", "description": "D", "organization": org_id}, headers=KEY
    ).get_json()
    assert new["id"] != ds_id


def test_seeded_ids_are_stable_across_runs():
    assert [o["id"] for o in DatagouvSimulator().organizations()] == [
        o["id"] for o in DatagouvSimulator().organizations()
    ]


@pytest.mark.parametrize(
    ("fixture", "fragment"),
    [
        ("state-truncated.json", "not JSON"),
        ("state-wrong-format.json", "format"),
        ("state-missing-file.json", "does not hold"),
    ],
)
def test_damaged_state_files_are_refused_clearly(fixture, fragment):
    with pytest.raises(StateError, match=fragment):
        DatagouvSimulator.from_state_json((FIXTURES / fixture).read_bytes())


def test_state_with_wrong_shape_is_refused():
    with pytest.raises(StateError, match="unexpected shape"):
        DatagouvSimulator.from_state_json(json.dumps({"format": "regate-datagouv-sim/1", "datasets": []}))


def test_cli_save_then_load(tmp_path):
    sim, _, rid = _populated()
    state = tmp_path / "sub" / "portal.json"
    save_state(sim, state)
    assert not (tmp_path / "sub" / "portal.json.tmp").exists()
    loaded = load_simulator("another-key", state)
    assert loaded.file_bytes(rid) == b"a,b\n1,2\n"
    assert Client(loaded).get("/api/1/me/", headers={"X-API-KEY": "another-key"}).status_code == 200
    assert Client(loaded).get("/api/1/me/", headers=KEY).status_code == 401  # only the given key is valid


def test_cli_missing_state_file_starts_fresh_and_damaged_one_exits(tmp_path):
    fresh = load_simulator(DEMO_API_KEY, tmp_path / "absent.json")
    assert fresh.datasets == {}
    damaged = tmp_path / "damaged.json"
    damaged.write_bytes((FIXTURES / "state-truncated.json").read_bytes())
    with pytest.raises(SystemExit, match="cannot load"):
        load_simulator(DEMO_API_KEY, damaged)
