"""Takedowns are applied by the normal chain (issue 9.2): a change of `open_data`, `documents`, `annexes`
or an override changes the record's inputs, so `regate normalize` — or the file's S3 event — applies it."""

from __future__ import annotations

import csv
import io
import time

import pyarrow.parquet as pq
import pytest
from conftest import RENNES_SIRET, s3_event, sqs_of  # type: ignore[import-not-found]

from regate.clock import FakeClock
from regate.normalize.run import run_normalize
from regate.storage import layout

pytestmark = pytest.mark.integration
RENNES = "213502388"
HEADER = "siren,siret,nom,open_data,documents,annexes\n"


def config(curated_store, open_data: str = "", documents: str = "", annexes: str = "") -> None:
    row = f"{RENNES},{RENNES_SIRET},Ville de Rennes,{open_data},{documents},{annexes}\n"
    curated_store.put_if_changed(layout.CONFIG_COLLECTIVITES_KEY, (HEADER + row).encode())


def state(curated_store) -> dict:
    """What is public for Rennes 2024: SCDL rows (with their URL), public Parquet rows, document files."""
    csv_key = layout.scdl_deliberations_key(RENNES, 2024)
    rows = (
        {
            r["DELIB_ID"]: r["DELIB_URL"]
            for r in csv.DictReader(io.StringIO(curated_store.get_bytes(csv_key).decode()))
        }
        if curated_store.exists(csv_key)
        else {}
    )
    pq_key = layout.actes_parquet_key(RENNES, 2024, public=True)
    public = (
        {
            r["delib_id"]: r["decision"]
            for r in pq.read_table(io.BytesIO(curated_store.get_bytes(pq_key))).to_pylist()
        }
        if curated_store.exists(pq_key)
        else {}
    )
    documents = sorted(k.rsplit("/", 1)[1] for k in curated_store.list_keys(layout.PUBLIC_DOCUMENTS_PREFIX))
    return {"scdl": rows, "public": public, "documents": documents}


def dirty_sha(curated_store):
    return curated_store.get_json(layout.dirty_partition_key(RENNES, 2024))["csv_sha256"]


def test_switches_and_overrides_are_applied_by_the_next_regate_normalize(
    seeder, raw_store, curated_store, settings
):
    config(curated_store)
    seeder.put("pull_deliberation.json")  # DEL2024_012, stamped act + annex
    seeder.put("pull_deliberation.json", id_d="Other01", data={"numero_de_lacte": "DEL2024_020"})
    run_normalize(raw_store, curated_store, settings)
    full = state(curated_store)
    assert set(full["scdl"]) == {"DEL2024_012", "DEL2024_020"} and all(full["scdl"].values())
    assert full["documents"].count("tableau.pdf") == 2
    published_sha = dirty_sha(curated_store)

    config(curated_store, annexes="non")  # annexes private: the annex files go, the acts stay
    report = run_normalize(raw_store, curated_store, settings)
    assert report.acts_normalised == 2 and "tableau.pdf" not in state(curated_store)["documents"]
    assert set(state(curated_store)["scdl"]) == {"DEL2024_012", "DEL2024_020"}

    config(curated_store, documents="non")  # metadata only: no file, no DELIB_URL
    run_normalize(raw_store, curated_store, settings)
    meta = state(curated_store)
    assert meta["documents"] == [] and set(meta["scdl"]) == {"DEL2024_012", "DEL2024_020"}
    assert set(meta["scdl"].values()) == {""} and set(meta["public"].values()) == {"metadonnees"}

    export = layout.public_export_key("ab" * 32, "csv")  # an API export made before the takedown
    curated_store.put_if_changed(export, b"DELIB_ID\r\nDEL2024_012\r\n")
    config(curated_store, open_data="non")  # takedown of the collectivité
    report = run_normalize(raw_store, curated_store, settings)
    assert not curated_store.exists(export)  # stored exports are a cache: dropped when acts leave
    assert {w.id_d for w in report.withheld} == {"Xk3P9aQ", "Other01"}
    assert state(curated_store) == {"scdl": {}, "public": {}, "documents": []}
    assert curated_store.get_json(layout.dirty_partition_key(RENNES, 2024))["deleted"] is True
    national = layout.scdl_deliberations_national_key(2024)
    assert not curated_store.exists(national)

    config(curated_store)  # back on: published again, byte for byte as before
    run_normalize(raw_store, curated_store, settings)
    assert state(curated_store) == full and dirty_sha(curated_store) == published_sha

    curated_store.put_if_changed(
        layout.CONFIG_OVERRIDES_KEY, f"siren,id_d,decision,motif\n{RENNES},Other01,retenir,rgpd\n".encode()
    )
    report = run_normalize(raw_store, curated_store, settings)
    assert report.acts_normalised == 1  # only the act the override names is re-decided
    after = state(curated_store)
    assert set(after["scdl"]) == {"DEL2024_012"} and set(after["public"]) == {"DEL2024_012"}
    assert len(after["documents"]) == 2  # DEL2024_012's stamped act and annex only
    assert run_normalize(raw_store, curated_store, settings).acts_normalised == 0  # settled


def handle(evt, settings, s3_client):
    from normalize_handler import handle as real_handle  # functions/normalize on pythonpath

    return real_handle(evt, None, settings, FakeClock(), s3_client=s3_client)


def test_operator_file_events_apply_takedowns_even_out_of_order(
    seeder, raw_store, curated_store, settings, s3_client
):
    """v2 takes Rennes down, v3 the Métropole: the events arrive v3 then v2 (and twice): both are applied."""
    metro = "243500139"
    key = layout.CONFIG_COLLECTIVITES_KEY
    v1 = HEADER + f"{RENNES},{RENNES_SIRET},Ville de Rennes,,,\n{metro},24350013900189,Rennes Métropole,,,\n"
    curated_store.put_if_changed(key, v1.encode())
    seeder.put("pull_deliberation.json")
    seeder.put("pull_deliberation.json", id_e="13", id_d="Metro01", data={"numero_de_lacte": "M1"})
    raw_store.put_if_changed(
        layout.document_detail_key("13", "Metro01"),
        raw_store.get_bytes(layout.document_detail_key("13", "Metro01")).replace(
            RENNES.encode(), metro.encode()
        ),
    )
    run_normalize(raw_store, curated_store, settings)
    assert curated_store.exists(layout.scdl_deliberations_key(metro, 2024))
    time.sleep(1.1)  # S3 dates versions to the second
    curated_store.put_if_changed(key, v1.replace("Ville de Rennes,,", "Ville de Rennes,non,").encode())
    v2 = s3_event(curated_store, key)
    time.sleep(1.1)
    curated_store.put_if_changed(
        key,
        v1.replace("Ville de Rennes,,", "Ville de Rennes,non,")
        .replace("Métropole,,", "Métropole,non,")
        .encode(),
    )
    v3 = s3_event(curated_store, key)
    assert handle(sqs_of(v3), settings, s3_client) == {"batchItemFailures": []}
    assert not curated_store.exists(layout.scdl_deliberations_key(metro, 2024))
    assert curated_store.exists(layout.scdl_deliberations_key(RENNES, 2024))  # v3 alone names only Métropole
    assert handle(sqs_of(v2, v3, v2), settings, s3_client) == {"batchItemFailures": []}
    assert not curated_store.exists(layout.scdl_deliberations_key(RENNES, 2024))
    assert list(curated_store.list_keys(layout.PUBLIC_DOCUMENTS_PREFIX)) == []
    assert not curated_store.exists(layout.scdl_deliberations_national_key(2024))
    # an event for a key the normaliser does not own is ignored
    other = s3_event(curated_store, layout.run_report_key("normalize"))
    assert handle(sqs_of(other), settings, s3_client) == {"batchItemFailures": []}
