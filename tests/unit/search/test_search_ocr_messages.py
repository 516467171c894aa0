"""The messages between the normaliser and the OCR function: strict models, hostile bodies refused,
renormalisation requests classified as forced document targets, SQS batches of 10 with failures raised."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from regate.normalize.events import classify_event
from regate.search.ocr import OcrRequest, Renormalisation, parse_renormalisation, send_messages
from regate.storage import layout

VALID: dict[str, Any] = {
    "id_e": "12",
    "id_d": "Ab3dE9x",
    "siren": "213502388",
    "annee": 2024,
    "document_id": "0123456789abcdef0123456789abcdef",
    "sha256": "a" * 64,
}


def test_a_valid_request_round_trips_and_names_the_record_by_the_layout() -> None:
    request = OcrRequest.model_validate_json(OcrRequest(**VALID).model_dump_json())
    assert request.type == "regate.ocr/1"
    assert request.record_key == layout.record_key("213502388", 2024, "12", "Ab3dE9x")


@pytest.mark.parametrize(
    "change",
    [
        {"id_e": "../config"},
        {"id_d": "a/b"},
        {"id_d": "x\n"},
        {"id_e": "é" * 3},
        {"siren": "21350238"},
        {"siren": "21350238A"},
        {"annee": 99},
        {"annee": "deux mille"},
        {"sha256": "A" * 64},
        {"sha256": "a" * 65},
        {"document_id": "<script>"},
        {"type": "regate.ocr/2"},
        {"surplus": 1},
        {"id_e": "1" * 200},
    ],
)
def test_hostile_requests_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        OcrRequest.model_validate({**VALID, **change})


@pytest.mark.parametrize("body", ["{{", "null", "[]", '"texte"', "{}"])
def test_malformed_json_bodies_are_refused(body: str) -> None:
    with pytest.raises(ValidationError):
        OcrRequest.model_validate_json(body)


def test_a_renormalisation_becomes_a_forced_document_target() -> None:
    body = Renormalisation(id_e="12", id_d="Ab3dE9x").model_dump(mode="json")
    target = classify_event(body, "raw", "curated")
    assert (target.kind, target.bucket, target.key, target.force) == (
        "document",
        "raw",
        layout.document_detail_key("12", "Ab3dE9x"),
        True,
    )


@pytest.mark.parametrize(
    "body",
    [
        {"type": "regate.renormaliser/1", "id_e": "..", "id_d": "x"},
        {"type": "regate.renormaliser/1", "id_e": "12"},
        {"type": "regate.renormaliser/1", "id_e": "12", "id_d": "x", "motif": "autre"},
        {"type": "regate.renormaliser/1", "id_e": "12", "id_d": "x", "force": False},
    ],
)
def test_a_bad_renormalisation_is_an_error_not_an_s3_event(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        classify_event(body, "raw", "curated")


def test_only_bodies_claiming_to_be_renormalisations_are_parsed_as_such() -> None:
    assert parse_renormalisation({"detail-type": "Object Created"}) is None
    assert parse_renormalisation(["regate.renormaliser/1"]) is None
    assert parse_renormalisation("regate.renormaliser/1") is None
    with pytest.raises(ValidationError):  # an S3-looking body never turns into a forced target
        classify_event({"type": "x", "id_e": "12", "id_d": "x"}, "raw", "curated")


class _Sqs:
    def __init__(self, fail_on: int | None = None) -> None:
        self.calls: list[list[dict[str, str]]] = []
        self.fail_on = fail_on

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.calls.append(Entries)
        if self.fail_on is not None and len(self.calls) == self.fail_on:
            return {"Failed": [{"Id": "0", "Code": "ThrottlingException"}]}
        return {"Successful": [{"Id": e["Id"]} for e in Entries]}


def test_messages_are_sent_in_batches_of_ten_and_a_refusal_raises() -> None:
    messages = [OcrRequest(**{**VALID, "sha256": f"{i:064x}"}) for i in range(23)]
    sqs = _Sqs()
    assert send_messages(sqs, "url", messages) == 23
    assert [len(c) for c in sqs.calls] == [10, 10, 3]
    assert OcrRequest.model_validate_json(sqs.calls[2][2]["MessageBody"]) == messages[22]
    with pytest.raises(RuntimeError, match="ThrottlingException"):
        send_messages(_Sqs(fail_on=2), "url", messages)
