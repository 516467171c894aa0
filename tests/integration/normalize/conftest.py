"""Helpers for the normalisation integration tests: put raw documents the way capture writes them."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

NORMALIZE_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "normalize"
RENNES_SIRET = "21350238800019"
SHARED_DIR = Path(__file__).resolve().parents[3].parent / "shared"  # as tests/conftest.py


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((NORMALIZE_FIXTURES / name).read_text(encoding="utf-8"))


class RawSeeder:
    """Writes detail.json + file bytes into the moto raw bucket (capture's layout and envelope)."""

    def __init__(self, raw_store) -> None:
        self.raw = raw_store

    def put(
        self,
        template: str,
        *,
        id_e: str | None = None,
        id_d: str | None = None,
        data: dict[str, Any] | None = None,
        drop: tuple[str, ...] = (),
        last_action: str | None = None,
        files: dict[str, bytes] | None = None,
        with_files: bool = True,
        flux_definition: bool = True,
        flux: str | None = None,
    ) -> dict[str, Any]:
        """``flux_definition``: a pulled act's flux definition is in raw, as capture stores it (unless one is
        already there); a pushed act (depot ZIP) never brings one."""
        from regate.storage import layout

        doc = copy.deepcopy(load_fixture(template))
        cap = doc["capture"]
        cap["flux"] = flux or cap["flux"]
        if flux_definition and cap["source"] == "pull":
            key = layout.flux_definition_key(cap["flux"])
            if not self.raw.exists(key):
                self.raw.put_if_changed(
                    key, (NORMALIZE_FIXTURES / "flux_deliberations_studio_megalis.json").read_bytes()
                )
        id_e = id_e or cap["id_e"]
        id_d = id_d or cap["id_d"]
        cap["id_e"], cap["id_d"] = id_e, id_d
        doc["detail"]["data"].update(data or {})
        for name in drop:
            doc["detail"]["data"].pop(name, None)
        if last_action:
            doc["detail"]["last_action"] = {"action": last_action, "date": "2024-06-01 10:00:00"}
        new_files = []
        for f in cap["files"] if with_files else []:
            body = (files or {}).get(f["field"])
            if body is None:
                body = (
                    (NORMALIZE_FIXTURES / "aracte_del2024_012.xml").read_bytes()
                    if f["field"] == "aractes"
                    else f"%PDF-1.4 {id_e}/{id_d}/{f['field']}".encode()
                )
            key = layout.document_file_key(id_e, id_d, f["field"], f["num"], f["name"])
            self.raw.put_if_changed(key, body)
            new_files.append({**f, "key": key, "sha256": hashlib.sha256(body).hexdigest(), "size": len(body)})
        cap["files"] = new_files
        cap["content_sha256"] = hashlib.sha256(json.dumps(doc["detail"], sort_keys=True).encode()).hexdigest()
        self.raw.put_if_changed(
            layout.document_detail_key(id_e, id_d),
            json.dumps(doc, ensure_ascii=False, sort_keys=True).encode(),
        )
        return doc

    def put_bytes(self, id_e: str, id_d: str, body: bytes) -> None:
        from regate.storage import layout

        self.raw.put_if_changed(layout.document_detail_key(id_e, id_d), body)


@pytest.fixture()
def seeder(raw_store) -> RawSeeder:
    return RawSeeder(raw_store)


@pytest.fixture()
def rennes_config(curated_store) -> None:
    """Operator config giving Rennes its SIRET (the shipped reference data has none)."""
    from regate.storage import layout

    curated_store.put_if_changed(
        layout.CONFIG_COLLECTIVITES_KEY,
        (
            f"siren,siret,nom,open_data,documents,annexes\n213502388,{RENNES_SIRET},Ville de Rennes,,,\n"
        ).encode(),
    )


def validata_errors(data: bytes, tmp_path: Path) -> list[dict[str, Any]]:
    """Official validator verdict (errors + the ordering/missing-column warnings we treat as errors)."""
    from validata_core import validate

    schema = json.loads((SHARED_DIR / "reference/schemas/scdl_deliberations_2.1.5_schema.json").read_text())
    path = tmp_path / f"v{hashlib.sha256(data).hexdigest()[:8]}.csv"
    path.write_bytes(data)
    result = validate(str(path), schema).to_dict()
    bad_warnings = [w for w in result.get("warnings", []) if "manquante" in str(w) or "sordonn" in str(w)]
    return list(result["errors"]) + bad_warnings


def s3_event(store, key: str, deleted: bool = False) -> dict[str, Any]:
    """The EventBridge S3 event of the current version of ``key`` (as the rules deliver it)."""
    from regate_local.runtime.events import ObjectChange, eventbridge_s3_event

    head = None if deleted else store.head(key)
    change = ObjectChange(
        store.bucket,
        key,
        "Object Deleted" if deleted else "Object Created",
        head.get("VersionId") if head else None,
        head.get("ETag") if head else None,
        int(head.get("ContentLength", 0)) if head else 0,
        head["LastModified"] if head else datetime.now(UTC),
    )
    return eventbridge_s3_event(change)


def sqs_of(*events: dict[str, Any]) -> dict[str, Any]:
    from regate_local.runtime.events import sqs_batch

    return sqs_batch(list(events), queue="regate-normalize")
