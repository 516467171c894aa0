"""Back-office objects are decision inputs of the normal chain (issue 16 ↔ issue 9.2), on moto.

The S3 event of an object re-decides the acts concerned through the normalize handler; a collectivité
switch off withdraws all its acts and only its acts; a CSV ``retenir`` is not lifted by the back-office; an
unreadable object fails closed, is reported and counted as a refused input; digests are stable (a replayed
event re-normalises nothing)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pyarrow.parquet as pq
import pytest
from admin_scenario import ADMIN, AGENT, BRUZ, RENNES

from regate.clock import SystemClock
from regate.normalize.pipeline import Normalizer
from regate.normalize.reports import RunReport
from regate.storage import layout
from regate_local.runtime.events import ObjectChange, eventbridge_s3_event

pytestmark = pytest.mark.integration

P02 = f"/admin/v1/actes/{RENNES}/12/DelibP02"
NEW = {"If-None-Match": "*"}


def public(curated: Any) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for key in curated.list_keys(layout.PUBLIC_ACTES_PARQUET_PREFIX):
        for row in pq.read_table(io.BytesIO(curated.get_bytes(key))).to_pylist():
            rows[row["delib_id"]] = row
    return rows


def deliver(chain: dict[str, Any], s3_client: Any, keys: list[str]) -> dict[str, Any]:
    """The S3 events of ``keys`` (current versions) through the real normalize handler."""
    from normalize_handler import handle

    curated = chain["curated"]
    events = []
    for key in keys:
        version = curated.client.head_object(Bucket=curated.bucket, Key=key).get("VersionId")
        change = ObjectChange(curated.bucket, key, "Object Created", version, None, 1, datetime.now(UTC))
        events.append(eventbridge_s3_event(change))
    response = {}
    for event in events:
        response = handle(event, None, chain["settings"], SystemClock(), s3_client)
    return response


def test_a_collectivite_switch_withdraws_its_acts_only_and_a_replay_does_nothing(chain, admin, s3_client):
    before = public(chain["curated"])
    assert "DEL2024_102" in before and "DEL2024_201" not in before  # Bruz's act is à statuer
    body = {"open_data": False, "documents": None, "annexes": None, "motif": "demande du maire"}
    status, _out, _ = admin(
        "PUT", f"/admin/v1/collectivites/{RENNES}/reglages", AGENT, body=body, headers=NEW
    )
    assert status == 200
    deliver(chain, s3_client, [layout.admin_collectivite_key(RENNES)])
    assert not any(r["siren"] == RENNES for r in public(chain["curated"]).values())
    # a replay of the same event (at-least-once delivery) finds every digest unchanged
    report = RunReport()
    normalizer = Normalizer.from_stores(chain["raw"], chain["curated"], chain["settings"], report=report)
    normalizer.refresh_sirens({RENNES, BRUZ}, report)
    assert report.acts_normalised == 0 and report.documents_skipped >= 5


def test_a_csv_retenir_is_not_lifted_by_the_back_office(chain, admin, s3_client):
    chain["curated"].put_if_changed(
        layout.CONFIG_OVERRIDES_KEY,
        f"siren,id_d,numero,decision,motif\n{RENNES},DelibP02,,retenir,donnees_personnelles\n".encode(),
        "text/csv",
    )
    deliver(chain, s3_client, [layout.CONFIG_OVERRIDES_KEY])
    assert "DEL2024_102" not in public(chain["curated"])
    status, _out, _ = admin(
        "PUT", f"{P02}/decision", ADMIN, body={"decision": "publier", "motif": "ok"}, headers=NEW
    )
    assert status == 200
    deliver(chain, s3_client, [layout.admin_acte_decision_key(RENNES, "12", "DelibP02")])
    assert "DEL2024_102" not in public(chain["curated"])  # the more restrictive wins


def test_an_unreadable_object_fails_closed_and_is_a_refused_input(chain, s3_client):
    assert "DEL2024_102" in public(chain["curated"])
    key = layout.admin_acte_decision_key(RENNES, "12", "DelibP02")
    chain["curated"].put_if_changed(key, b'{"decision": "publier", oops', "application/json")
    deliver(chain, s3_client, [key])
    assert "DEL2024_102" not in public(chain["curated"])
    report = RunReport()
    normalizer = Normalizer.from_stores(chain["raw"], chain["curated"], chain["settings"], report=report)
    outcome = normalizer.normalize_document("12", "DelibP02", report, force=True)
    assert outcome.record is not None and outcome.record.decision.decision == "a_statuer"
    assert outcome.record.decision.detail == "decision_back_office_illisible"
    assert [f.key for f in normalizer.refused_inputs()] == [key]
    assert any(e.code == "decision_back_office:illisible" for e in report.errors)
    # Bruz is not concerned: its acts read no Rennes object
    other = Normalizer.from_stores(chain["raw"], chain["curated"], chain["settings"], report=RunReport())
    other.normalize_document("13", "BruzQ01", RunReport(), force=True)
    assert other.refused_inputs() == []
