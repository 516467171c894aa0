"""The shipped DECP 2.0.4 schema, validated with the draft it declares, and what is derived from it."""

from __future__ import annotations

import copy
import hashlib
import json
import random
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from regate.flux.marches import schema
from regate.flux.marches.repairs import repair_record

SHARED_SCHEMAS = Path(__file__).resolve().parents[3].parent / "shared" / "reference" / "schemas"


def test_schema_is_the_consolidation_file_and_declares_draft7() -> None:
    data = schema.load_schema()
    assert data["$schema"] == "http://json-schema.org/draft-07/schema#"
    shipped = Path(schema.__file__).parent / "schemas" / schema.SCHEMA_FILE
    assert (
        hashlib.sha256(shipped.read_bytes()).hexdigest()
        == "12e8b85076e763df402ca5d2ba2cffa735ee5fc1baa7f32176b0623d71a6930e"
    )
    reference = SHARED_SCHEMAS / "139bercy_decp-arr2022_schema_decp_v2.0.4.json"
    if reference.exists():
        assert reference.read_bytes() == shipped.read_bytes()
    assert isinstance(schema.reference_validator(), Draft7Validator)


def test_valid_fixtures_pass(marche: dict[str, Any], concession: dict[str, Any]) -> None:
    assert schema.schema_findings("marche", marche) == []
    assert schema.schema_findings("contrat-concession", concession) == []


def test_type_field_and_empty_arrays_are_rejected_by_2_0_4(marche: dict[str, Any]) -> None:
    marche["_type"] = "Marché"
    marche["modifications"] = []
    codes = {(f.code, f.path) for f in schema.schema_findings("marche", marche)}
    assert ("schema_additionalProperties", "") in codes
    assert ("schema_minItems", "modifications") in codes


def test_date_pattern_is_unanchored_in_the_schema(marche: dict[str, Any]) -> None:
    """Why :mod:`rules` re-checks dates: the schema alone accepts this."""
    marche["dateNotification"] = "le 2024-01-15 !"
    assert schema.schema_findings("marche", marche) == []


def test_messages_are_french_and_paths_relative(marche: dict[str, Any]) -> None:
    del marche["dureeMois"]
    marche["titulaires"][0]["titulaire"]["typeIdentifiant"] = "SIREN"
    findings = schema.schema_findings("marche", marche)
    by_code = {f.code: f for f in findings}
    assert "dureeMois" in by_code["schema_required"].message
    assert by_code["schema_enum"].path == "titulaires[0].titulaire.typeIdentifiant"
    assert all(f.severity == "error" and f.origin == "schema" for f in findings)


def test_date_property_names_come_from_the_schema() -> None:
    names = schema.date_property_names()
    assert {
        "dateNotification",
        "datePublicationDonnees",
        "dateSignature",
        "dateDebutExecution",
        "dateNotificationModification",
        "datePublicationDonneesExecution",
    } <= names
    assert "dureeMois" not in names


def test_key_order_follows_the_schema() -> None:
    order = schema.key_order("marche")
    assert list(order)[:3] == ["id", "acheteur", "nature"]
    assert list(order["titulaires"]["[]"]["titulaire"]) == ["typeIdentifiant", "id"]


def _mutations(record: dict[str, Any], rng: random.Random, count: int) -> list[dict[str, Any]]:
    """Random damage: drop, retype or replace fields at any depth."""
    out = []
    paths: list[tuple[Any, ...]] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                paths.append((*path, k))
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                paths.append((*path, i))
                walk(v, (*path, i))

    walk(record, ())
    for _ in range(count):
        mutated = copy.deepcopy(record)
        path = rng.choice(paths)
        parent = mutated
        for part in path[:-1]:
            parent = parent[part]
        action = rng.choice(["drop", "none", "str", "num", "list", "obj"])
        if action == "drop" and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = {"none": None, "str": "x", "num": -1.5, "list": [], "obj": {"z": 1}}.get(
                action, "y"
            )
        out.append(mutated)
    return out


def test_inlined_validator_gives_the_reference_verdicts(
    marche: dict[str, Any], concession: dict[str, Any], fixtures_dir: Path
) -> None:
    """Same errors (instance path + keyword) as Draft7Validator on the file as shipped, on valid, repaired,
    raw SDM-shaped and randomly damaged records."""
    from regate.clock import FakeClock
    from regate_local.atexo_sim import AtexoSimulator

    sim = AtexoSimulator(clock=FakeClock(datetime(2025, 3, 1, tzinfo=UTC)), per_month=1)
    raw = sim.records(None, date(2024, 1, 1), date(2024, 6, 30))
    corpus: list[tuple[str, Any]] = [("marche", m) for m in raw["marche"]] + [
        ("contrat-concession", c) for c in raw["contrat-concession"]
    ]
    corpus += [(k, repair_record(k, r)[0]) for k, r in list(corpus)]
    rng = random.Random(7)
    corpus += [("marche", m) for m in _mutations(marche, rng, 150)]
    corpus += [("contrat-concession", c) for c in _mutations(concession, rng, 80)]
    corpus += [("marche", "pas un objet"), ("marche", 3), ("contrat-concession", [])]
    fcp = json.loads((fixtures_dir / "fcp" / "marches_concessions.json").read_text(encoding="utf-8"))
    corpus += [("marche", m) for m in fcp["marches"]["marche"]] + [
        ("contrat-concession", c) for c in fcp["marches"]["contrat-concession"]
    ]

    def verdict(validator: Draft7Validator, kind: str, record: Any) -> list[tuple[str, str]]:
        return sorted(
            (json.dumps(list(e.absolute_path)), str(e.validator))
            for e in validator.iter_errors(schema.wrap(kind, record))
        )

    assert len(corpus) > 300
    for kind, record in corpus:
        assert verdict(schema.validator(), kind, record) == verdict(
            schema.reference_validator(), kind, record
        )


@pytest.mark.parametrize("version", ["2.0.2", "2.0.3"])
def test_fixtures_also_valid_against_published_versions(
    version: str, marche: dict[str, Any], concession: dict[str, Any]
) -> None:
    path = SHARED_SCHEMAS / f"139bercy_format-commande-publique_{version}_schema_decp_v{version}.json"
    if not path.exists():
        pytest.skip("shared reference schemas not available")
    validator = Draft7Validator(json.loads(path.read_text(encoding="utf-8")))
    assert (
        list(validator.iter_errors({"marches": {"marche": [marche], "contrat-concession": [concession]}}))
        == []
    )
