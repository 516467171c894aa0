"""Push ingest on moto: depot ZIPs from the simulator, push/pull identity in both orders, replays, rejects."""

from __future__ import annotations

import io
import json
import shutil
import zipfile

import pytest
from capture_sim_fixtures import ENTITE, FLUX, all_versions

from regate.capture.acts import read_index
from regate.capture.envelope import RawDocument
from regate.capture.push import ingest_inbox_object, ingest_local_file, rejection_reason_key
from regate.storage import layout

pytestmark = pytest.mark.integration


def first_acknowledged(sim, id_e=ENTITE, flux=FLUX) -> str:
    return sorted(
        d.id_d
        for d in sim.platform.documents.values()
        if d.id_e == id_e and d.type == flux and any(h.action == "acquiter-tdt" for h in d.history)
    )[0]


def depot_zip(sim, tmp_path, id_d: str, stem: str) -> bytes:
    """The simulator's depot ZIP of ``id_d``, renamed: a depot copy has its own id_d."""
    path = sim.write_depot_zip(ENTITE, id_d, tmp_path / "depot")
    target = tmp_path / f"{stem}.zip"
    shutil.copy(path, target)
    return target.read_bytes()


def put_inbox(raw_store, name: str, body: bytes) -> str:
    key = layout.INBOX_PREFIX + name
    raw_store.client.put_object(Bucket=raw_store.bucket, Key=key, Body=body)
    return key


def live_details(raw_store) -> list[str]:
    return sorted(k for k in raw_store.list_keys("pastell/") if k.endswith("/detail.json"))


def test_push_alone_is_stored_in_the_raw_layout(sim, tmp_path, raw_store, clock):
    id_d = first_acknowledged(sim)
    key = put_inbox(raw_store, "Zp00001.zip", depot_zip(sim, tmp_path, id_d, "Zp00001"))
    result = ingest_inbox_object(raw_store, key, clock)
    assert result.outcome == "captured" and (result.id_e, result.id_d) == (ENTITE, "Zp00001")
    document = RawDocument.model_validate_json(
        raw_store.get_bytes(layout.document_detail_key(ENTITE, "Zp00001"))
    )
    assert document.capture.source == "push" and document.capture.origin.endswith("inbox/Zp00001.zip")
    assert document.metadata and document.detail["data"] == document.metadata
    assert {f.field for f in document.capture.files} >= {"arrete", "acte_tamponne"}
    assert len(document.pushes) == 1
    for captured in document.capture.files:
        assert raw_store.exists(captured.key)


def test_replayed_zip_is_a_no_op(sim, tmp_path, raw_store, clock):
    key = put_inbox(raw_store, "Zp00001.zip", depot_zip(sim, tmp_path, first_acknowledged(sim), "Zp00001"))
    ingest_inbox_object(raw_store, key, clock)
    before = all_versions(raw_store)
    assert ingest_inbox_object(raw_store, key, clock).outcome == "unchanged"
    assert all_versions(raw_store) == before


def test_pull_then_push_is_one_document(sim, tmp_path, raw_store, clock, capture):
    capture(since="2024-01-01")
    id_d = first_acknowledged(sim)
    detail_key = layout.document_detail_key(ENTITE, id_d)
    details_before = live_details(raw_store)
    versions_before = raw_store.list_versions(detail_key)

    key = put_inbox(raw_store, "Zp00002.zip", depot_zip(sim, tmp_path, id_d, "Zp00002"))
    result = ingest_inbox_object(raw_store, key, clock)
    assert (result.id_e, result.id_d) == (ENTITE, id_d)
    assert live_details(raw_store) == details_before  # no second document for the act
    document = RawDocument.model_validate_json(raw_store.get_bytes(detail_key))
    assert document.capture.source == "pull"
    assert [p["id_d"] for p in document.pushes] == ["Zp00002"]
    assert len(raw_store.list_versions(detail_key)) == len(versions_before) + 1  # the push is recorded

    before = all_versions(raw_store)
    assert ingest_inbox_object(raw_store, key, clock).outcome == "unchanged"  # replay after pull
    assert all_versions(raw_store) == before
    again = capture(since="2024-01-01")  # re-pull: unchanged, pushes kept
    assert again.captured == []
    assert RawDocument.model_validate_json(raw_store.get_bytes(detail_key)).pushes == document.pushes


def test_push_then_pull_is_one_document(sim, tmp_path, raw_store, clock, capture):
    id_d = first_acknowledged(sim)
    key = put_inbox(raw_store, "Zp00003.zip", depot_zip(sim, tmp_path, id_d, "Zp00003"))
    ingest_inbox_object(raw_store, key, clock)
    assert raw_store.exists(layout.document_detail_key(ENTITE, "Zp00003"))

    capture(since="2024-01-01")
    assert not raw_store.exists(layout.document_detail_key(ENTITE, "Zp00003"))  # folded into the pulled one
    document = RawDocument.model_validate_json(raw_store.get_bytes(layout.document_detail_key(ENTITE, id_d)))
    assert [p["id_d"] for p in document.pushes] == ["Zp00003"]
    siren = document.capture.siren
    entry, _ = read_index(raw_store, siren, document.capture.act_key)
    assert entry is not None and (entry.live.id_d, entry.live.source) == (id_d, "pull")
    assert any(a.id_d == "Zp00003" for a in entry.aliases)
    # exactly one live detail.json per act
    acts = [
        RawDocument.model_validate_json(raw_store.get_bytes(k)).capture.act_key
        for k in live_details(raw_store)
    ]
    assert len(acts) == len(set(acts))
    # a late replay of the ZIP changes nothing
    before = all_versions(raw_store)
    assert ingest_inbox_object(raw_store, key, clock).outcome == "unchanged"
    assert all_versions(raw_store) == before


def test_local_file_ingest_keeps_the_zip_in_the_inbox(sim, tmp_path, raw_store, clock):
    body = depot_zip(sim, tmp_path, first_acknowledged(sim), "Zp00004")
    path = tmp_path / "Zp00004.zip"
    assert ingest_local_file(raw_store, str(path), clock).outcome == "captured"
    assert raw_store.get_bytes("inbox/Zp00004.zip") == body
    before = all_versions(raw_store)
    assert ingest_local_file(raw_store, str(path), clock).outcome == "unchanged"
    assert all_versions(raw_store) == before


def test_dates_are_kept_as_received(raw_store, clock):
    metadata = {"id_e": "152", "siren": "213502388", "numero_de_lacte": "CM_2024_031"}
    metadata |= {"date_de_lacte": "2024-3-5", "objet": "Tarifs", "arrete": ["a.pdf"]}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("metadata.json", json.dumps(metadata))
        archive.writestr("a.pdf", b"%PDF-1.4")
    key = put_inbox(raw_store, "Zd00001.zip", buffer.getvalue())
    assert ingest_inbox_object(raw_store, key, clock).outcome == "captured"
    document = raw_store.get_json(layout.document_detail_key("152", "Zd00001"))
    assert document["metadata"]["date_de_lacte"] == "2024-3-5"
    assert document["capture"]["act_key"] == "20240305_CM_2024_031"


@pytest.mark.parametrize(
    ("name", "body", "code"),
    [
        ("broken.zip", b"not a zip at all", "zip_invalide"),
        ("nometa.zip", None, "metadata_absent"),
    ],
)
def test_corrupt_zip_goes_to_inbox_rejected_with_a_reason(raw_store, clock, name, body, code):
    if body is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("acte.pdf", b"%PDF")
        body = buffer.getvalue()
    key = put_inbox(raw_store, name, body)
    result = ingest_inbox_object(raw_store, key, clock)
    assert (result.outcome, result.reason) == ("rejected", code)
    assert raw_store.get_bytes(layout.inbox_rejected_key(key)) == body  # never lost
    reason = raw_store.get_json(rejection_reason_key(key))
    assert reason["code"] == code and reason["message_fr"] and reason["message_en"]
    assert not raw_store.exists(key)
    assert list(raw_store.list_keys("pastell/")) == []
    # a redelivered event for the moved ZIP is harmless
    assert ingest_inbox_object(raw_store, key, clock).outcome == "unchanged"


@pytest.mark.parametrize("push_first", [True, False])
def test_zip_named_after_the_source_document_is_still_one_document(
    sim, tmp_path, raw_store, clock, capture, push_first
):
    """The depot connector may name the ZIP after the source id_d: same key, never clobbered nor deleted."""
    id_d = first_acknowledged(sim)
    body = depot_zip(sim, tmp_path, id_d, id_d)
    key = layout.INBOX_PREFIX + f"{id_d}.zip"
    if push_first:
        put_inbox(raw_store, f"{id_d}.zip", body)
        ingest_inbox_object(raw_store, key, clock)
        capture(since="2024-01-01")
    else:
        capture(since="2024-01-01")
        put_inbox(raw_store, f"{id_d}.zip", body)
        ingest_inbox_object(raw_store, key, clock)
    detail_key = layout.document_detail_key(ENTITE, id_d)
    assert raw_store.exists(detail_key)
    document = RawDocument.model_validate_json(raw_store.get_bytes(detail_key))
    assert document.capture.source == "pull"
    assert [p["id_d"] for p in document.pushes] == [id_d]
    acts = [
        RawDocument.model_validate_json(raw_store.get_bytes(k)).capture.act_key
        for k in live_details(raw_store)
    ]
    assert len(acts) == len(set(acts))


def test_concurrent_pushes_of_one_act_lose_no_record(sim, tmp_path, raw_store, clock, capture):
    """Conditional writes (If-Match) on detail.json: simultaneous ingests all land in ``pushes``."""
    from concurrent.futures import ThreadPoolExecutor

    capture(since="2024-01-01")
    id_d = first_acknowledged(sim)
    source = sim.write_depot_zip(ENTITE, id_d, tmp_path / "depot").read_bytes()
    keys = []
    for n in range(6):
        buffer = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(source)) as original, zipfile.ZipFile(buffer, "w") as copy:
            for info in original.infolist():
                copy.writestr(info.filename, original.read(info.filename))
            copy.comment = f"copy {n}".encode()  # distinct ZIP bytes, same act
        keys.append(put_inbox(raw_store, f"Zc0000{n}.zip", buffer.getvalue()))
    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(lambda key: ingest_inbox_object(raw_store, key, clock).outcome, keys))
    assert outcomes == ["captured"] * 6
    document = RawDocument.model_validate_json(raw_store.get_bytes(layout.document_detail_key(ENTITE, id_d)))
    assert sorted(p["id_d"] for p in document.pushes) == [f"Zc0000{n}" for n in range(6)]
