"""OCR in AWS (issue 14, point 1): the normaliser's package has no OCR wheels, so a scan it stores
``ocr_indisponible`` is sent to the OCR function (SQS), which stores the OCR text and sends the act back to
the normaliser's queue; that forced re-normalisation indexes the text — on moto S3 + SQS, handlers in-process.
Hostile or stale requests are reported per message (partial batch failure) and never read a withheld act."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from regate.clock import FakeClock
from regate.normalize.search_stage import ocr_document
from regate.search.engine import search
from regate.search.extract import ExtractionLimits
from regate.search.ocr import OcrRequest
from regate.search.remote import IndexReader
from regate.storage import layout
from regate_local.runtime.events import sqs_batch
from regate_local.search.pdfs import scanned_pdf, text_pdf

_HERE = Path(__file__).resolve()


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_helpers = _load("normalize_helpers_ocr", _HERE.parents[1] / "normalize" / "conftest.py")
ocr_handler = _load("ocr_handler", _HERE.parents[3] / "functions" / "ocr" / "ocr_handler.py")
normalize_handler = _load(
    "normalize_handler_ocr", _HERE.parents[3] / "functions" / "normalize" / "normalize_handler.py"
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RENNES = "213502388"
HEADER = "siren,siret,nom,open_data,documents,annexes\n"
WORD = "ornithorynques"


@pytest.fixture()
def chain(settings, s3_client, raw_store, curated_store, moto_endpoint, tmp_path: Path, monkeypatch):
    """Queues on moto; the normaliser without OCR (as its AWS package), the OCR function with it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", moto_endpoint)  # make_sqs_client → moto
    sqs = boto3.client("sqs", region_name=settings.s3_region, endpoint_url=moto_endpoint)
    suffix = uuid.uuid4().hex[:8]
    ocr_q = sqs.create_queue(QueueName=f"ocr-{suffix}")["QueueUrl"]
    norm_q = sqs.create_queue(QueueName=f"normalize-{suffix}")["QueueUrl"]
    empty = tmp_path / "no-tessdata"
    empty.mkdir()
    common = {
        "search_cache_dir": str(tmp_path / "cache"),
        "search_shards": 2,
        "search_manifest_ttl_seconds": 0,
    }
    normaliser = settings.model_copy(
        update={**common, "search_tessdata_dir": str(empty), "search_ocr_queue_url": ocr_q}
    )
    ocr = settings.model_copy(update={**common, "normalize_queue_url": norm_q})
    row = f"{RENNES},21350238800019,Ville de Rennes,,,\n"
    curated_store.put_if_changed(layout.CONFIG_COLLECTIVITES_KEY, (HEADER + row).encode())
    return {"sqs": sqs, "ocr_q": ocr_q, "norm_q": norm_q, "normaliser": normaliser, "ocr": ocr}


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _normalise(event: dict[str, Any], settings, s3_client) -> dict[str, Any]:
    return normalize_handler.handle(event, None, settings, FakeClock(), s3_client=s3_client)


def _found(curated_store, settings, q: str) -> set[str]:
    return {hit.numero for hit in search(IndexReader.from_settings(curated_store, settings), q).hits}


def _seed_scanned_act(raw_store) -> tuple[str, str, bytes]:
    main = text_pdf(["Le conseil approuve le xylophonique projet."], "Délibération DEL2024_012")
    scan = scanned_pdf([f"Annexe : tableau des {WORD} subventionnés."], seed=3)
    files = {"acte_tamponne": main, "autre_document_attache": scan}
    doc = _helpers.RawSeeder(raw_store).put("pull_deliberation.json", files=files)
    return doc["capture"]["id_e"], doc["capture"]["id_d"], scan


def test_a_scan_is_ocred_by_the_ocr_function_and_its_act_found_after_renormalisation(
    chain, s3_client, raw_store, curated_store
) -> None:
    sqs, normaliser = chain["sqs"], chain["normaliser"]
    id_e, id_d, scan = _seed_scanned_act(raw_store)
    sha = hashlib.sha256(scan).hexdigest()
    # 1. the capture's S3 event → the normaliser (no OCR there): text stored ocr_indisponible, one request
    event = _helpers.sqs_of(_helpers.s3_event(raw_store, layout.document_detail_key(id_e, id_d)))
    assert _normalise(event, normaliser, s3_client) == {"batchItemFailures": []}
    assert curated_store.get_json(layout.text_key(sha))["motif"] == "ocr_indisponible"
    assert _found(curated_store, normaliser, "xylophonique") == {"DEL2024_012"}
    assert _found(curated_store, normaliser, WORD) == set()
    requests = _drain(sqs, chain["ocr_q"])
    assert (
        len(requests) == 1
        and requests[0]["sha256"] == sha
        and (requests[0]["id_e"], requests[0]["id_d"])
        == (
            id_e,
            id_d,
        )
    )
    # 2. the OCR function: text store now holds the OCR text; the act goes back to the normaliser's queue
    response = ocr_handler.handle(sqs_batch(requests), None, chain["ocr"], s3_client, sqs)
    assert response == {"batchItemFailures": []}
    stored = curated_store.get_json(layout.text_key(sha))
    assert stored["statut"] == "complet" and stored["methode"] == "ocr"
    assert WORD in " ".join(page["texte"] for page in stored["pages"]).lower()
    again = _drain(sqs, chain["norm_q"])
    assert again == [{"type": "regate.renormaliser/1", "id_e": id_e, "id_d": id_d, "motif": "ocr"}]
    assert _found(curated_store, normaliser, WORD) == set()  # only the normaliser writes the index
    # 3. the normaliser, forced on that act (its record is unchanged), indexes the stored text
    assert _normalise(sqs_batch(again), normaliser, s3_client) == {"batchItemFailures": []}
    assert _found(curated_store, normaliser, WORD) == {"DEL2024_012"}
    assert _drain(sqs, chain["ocr_q"]) == []  # the text is complete now: no new request, no loop
    # a redelivered OCR request (already done) costs no OCR and still converges
    assert ocr_handler.handle(sqs_batch(requests), None, chain["ocr"], s3_client, sqs) == {
        "batchItemFailures": []
    }
    assert len(_drain(sqs, chain["norm_q"])) == 1


def test_hostile_and_stale_requests_are_reported_per_message_and_read_nothing_withheld(
    chain, s3_client, raw_store, curated_store
) -> None:
    sqs, normaliser = chain["sqs"], chain["normaliser"]
    id_e, id_d, scan = _seed_scanned_act(raw_store)
    sha = hashlib.sha256(scan).hexdigest()
    event = _helpers.sqs_of(_helpers.s3_event(raw_store, layout.document_detail_key(id_e, id_d)))
    _normalise(event, normaliser, s3_client)
    (request,) = _drain(sqs, chain["ocr_q"])
    hostile = [
        {**request, "id_e": "../../config"},
        {**request, "sha256": "0" * 63},
        {**request, "surplus": "x"},
        {"type": "regate.ocr/2"},
        [1, 2],
    ]
    stale = [{**request, "document_id": "ab" * 16}, {**request, "annee": 1999}]  # not public / no record
    batch = sqs_batch([*hostile, *stale])
    batch["Records"].append({**batch["Records"][0], "messageId": "not-json", "body": "{{ not json"})
    response = ocr_handler.handle(batch, None, chain["ocr"], s3_client, sqs)
    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    ids = [record["messageId"] for record in batch["Records"]]
    assert failed == {*ids[: len(hostile)], "not-json"}
    assert curated_store.get_json(layout.text_key(sha))["motif"] == "ocr_indisponible"  # nothing OCRed
    assert _drain(sqs, chain["norm_q"]) == []
    # the act was withheld meanwhile (its current record says so): its scan is never read nor OCRed
    record_key = OcrRequest.model_validate(request).record_key
    record = curated_store.get_json(record_key)
    record["decision"]["decision"] = "retenir"
    curated_store.put_if_changed(record_key, json.dumps(record).encode(), "application/json")
    reads: list[str] = []
    original = raw_store.get_bytes

    def spying(key: str, version_id: str | None = None) -> bytes:
        reads.append(key)
        return original(key, version_id)

    raw_store.get_bytes = spying  # type: ignore[method-assign]
    outcome = ocr_document(
        OcrRequest.model_validate(request),
        raw_store,
        curated_store,
        ExtractionLimits.from_settings(chain["ocr"]),
    )
    assert (outcome.statut, outcome.motif, reads) == ("ignore", "acte_non_publie", [])
    assert curated_store.get_json(layout.text_key(sha))["motif"] == "ocr_indisponible"
