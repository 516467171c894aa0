"""DECP files: deterministic bytes, schema key order, valid against the schema and the rules."""

from __future__ import annotations

import copy
import json
import random
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from regate.flux.marches.normalize import RawAnswer, normalize_documents
from regate.flux.marches.writer import buyer_year_files, check_file, national_files

SHARED_SCHEMAS = Path(__file__).resolve().parents[3].parent / "shared" / "reference" / "schemas"

TODAY = date(2025, 6, 1)


def _answers(marche: dict[str, Any], concession: dict[str, Any]) -> list[RawAnswer]:
    second = copy.deepcopy(marche)
    second["id"], second["dateNotification"], second["datePublicationDonnees"] = (
        "RES2024T0600002",
        "2024-06-03",
        "2024-06-10",
    )
    second.pop("modifications")
    next_year = copy.deepcopy(second)
    next_year["id"], next_year["dateNotification"], next_year["datePublicationDonnees"] = (
        "RES2025F0100003",
        "2025-01-20",
        "2025-02-01",
    )
    return [
        RawAnswer(
            key="acheteurs/megalis/213502388/2024/05.json",
            body=json.dumps({"marches": {"marche": [marche, second]}}).encode(),
            siren="213502388",
        ),
        RawAnswer(
            key="acheteurs/megalis/213502388/2025/01.json",
            body=json.dumps({"marches": {"marche": [next_year]}}).encode(),
            siren="213502388",
        ),
        RawAnswer(
            key="acheteurs/megalis/212900195/2024/03.json",
            body=json.dumps({"marches": {"contrat-concession": [concession]}}).encode(),
            siren="212900195",
        ),
    ]


def test_files_per_buyer_year_and_national(marche: dict[str, Any], concession: dict[str, Any]) -> None:
    out = normalize_documents(_answers(marche, concession), TODAY)
    files = buyer_year_files(out)
    assert sorted(files) == [("21290019500018", 2024), ("21350238800019", 2024), ("21350238800019", 2025)]
    national = national_files(out)
    assert sorted(national) == [2024, 2025]
    doc = json.loads(national[2024])
    assert [m["id"] for m in doc["marches"]["marche"]] == ["RES2024T0500001", "RES2024T0600002"]
    assert [c["id"] for c in doc["marches"]["contrat-concession"]] == ["BST2024C0300002"]
    for body in [*files.values(), *national.values()]:
        assert check_file(body, TODAY) == []
        assert body.endswith(b"\n") and b"\\u00" not in body


def test_bytes_do_not_depend_on_input_order_or_key_order(
    marche: dict[str, Any], concession: dict[str, Any]
) -> None:
    reference = national_files(normalize_documents(_answers(marche, concession), TODAY))
    rng = random.Random(3)
    for _ in range(5):
        shuffled_marche = dict(rng.sample(list(marche.items()), len(marche)))
        answers = _answers(shuffled_marche, concession)
        rng.shuffle(answers)
        assert national_files(normalize_documents(answers, TODAY)) == reference


def test_keys_follow_the_schema_order(marche: dict[str, Any], concession: dict[str, Any]) -> None:
    body = buyer_year_files(normalize_documents(_answers(marche, concession), TODAY))[
        ("21350238800019", 2024)
    ]
    record = json.loads(body)["marches"]["marche"][0]
    assert list(record)[:4] == ["id", "acheteur", "nature", "objet"]
    assert list(record["titulaires"][0]["titulaire"]) == ["typeIdentifiant", "id"]


def test_check_file_catches_what_must_never_be_published(marche: dict[str, Any]) -> None:
    marche["dateNotification"] = "le 2024-05-15"
    body = json.dumps({"marches": {"marche": [marche], "contrat-concession": []}}).encode()
    assert [f.code for f in check_file(body, TODAY)] == ["date_invalide"]
    assert check_file(b'{"marches": {}}', TODAY)[0].code == "schema_anyOf"


@pytest.mark.parametrize("version", ["2.0.2", "2.0.3"])
def test_written_files_are_valid_against_published_versions(
    version: str, marche: dict[str, Any], concession: dict[str, Any]
) -> None:
    path = SHARED_SCHEMAS / f"139bercy_format-commande-publique_{version}_schema_decp_v{version}.json"
    if not path.exists():
        pytest.skip("shared reference schemas not available")
    validator = Draft7Validator(json.loads(path.read_text(encoding="utf-8")))
    for body in national_files(normalize_documents(_answers(marche, concession), TODAY)).values():
        assert list(validator.iter_errors(json.loads(body))) == []
