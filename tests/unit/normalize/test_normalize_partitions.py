"""Records, deterministic Parquet and the optimistic partition protocol, on an in-memory object store."""

from __future__ import annotations

import copy
import hashlib
import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from regate.actes.model import acte_from_raw
from regate.capture.envelope import RawDocument
from regate.normalize.decision import PublicationDecision, decide, megalis_code_table
from regate.normalize.parquet import actes_table, parquet_bytes
from regate.normalize.partitions import (
    TooMuchContention,
    partition_manifest_key,
    rebuild_partition,
    serialised,
)
from regate.normalize.records import build_record
from regate.storage import layout
from regate.storage.datasets import ACTES_SCHEMA, PUBLIC_ACTES_SCHEMA
from regate.storage.store import PreconditionFailed, PutResult

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "normalize"
SIRET = "21350238800019"


class MemoryStore:
    """The subset of ObjectStore the partition code uses; ``on_put`` lets a test interleave a rival writer."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.puts = 0
        self.on_conditional = None

    def _etag(self, key: str) -> str:
        return '"' + hashlib.md5(self.objects[key]).hexdigest() + '"'

    def get_with_etag(self, key):
        return (self.objects[key], self._etag(key)) if key in self.objects else None

    def get_bytes(self, key):
        return self.objects[key]

    def list_objects(self, prefix):
        return [{"Key": k, "ETag": self._etag(k)} for k in sorted(self.objects) if k.startswith(prefix)]

    def put_if_changed(self, key, body, content_type="", metadata=None):
        if self.objects.get(key) == body:
            return PutResult(key, False, None, "")
        self.objects[key] = body
        self.puts += 1
        return PutResult(key, True, None, "")

    def put_conditional(self, key, body, if_match, content_type=""):
        if self.on_conditional:
            hook, self.on_conditional = self.on_conditional, None
            hook()
        current = self._etag(key) if key in self.objects else None
        if current != if_match:
            raise PreconditionFailed(key)
        self.objects[key] = body
        return PutResult(key, True, None, "")

    def delete(self, key):
        return self.objects.pop(key, None) is not None


def record_for(id_d: str, numero: str, nature: str = "1", value: str = "3", **data):
    doc = json.loads((FIXTURES / "pull_deliberation.json").read_text(encoding="utf-8"))
    doc = copy.deepcopy(doc)
    doc["capture"]["id_d"] = id_d
    doc["detail"]["data"].update(
        {"numero_de_lacte": numero, "acte_nature": nature, "publication_open_data": value, **data}
    )
    acte = acte_from_raw(RawDocument.model_validate(doc))
    decision = decide(
        siren=acte.siren,
        id_d=id_d,
        numero=numero,
        nature=acte.nature,
        publication_open_data=acte.publication_open_data,
        code_table=megalis_code_table(),
    )
    return build_record(
        acte,
        decision,
        coll_nom="Ville de Rennes",
        coll_siret=SIRET,
        public_base_url="https://x.example",
        raw_version="v1",
    )


def put_record(store: MemoryStore, record) -> None:
    store.objects[record.key] = json.dumps(record.model_dump(mode="json"), sort_keys=True).encode()


def test_normalize_record_policies():
    published = record_for("A1", "D1")
    assert published.scdl["DELIB_URL"].startswith("https://x.example/v1/documents/")
    assert [d.role for d in published.documents] == ["acte", "annexe"]
    assert published.documents[0].nom == "DEL2024_012-tampon.pdf"
    assert (
        len(published.documents[0].document_id) == 32
        and published.documents[0].document_id != published.acte_id
    )
    early = record_for("A2", "D2", date_de_lacte="2024-01-20", date_ar="2024-01-18")
    assert early.scdl["PREF_DATE"] is None and early.row["date_ar"] == "2024-01-18"
    assert [w.code for w in early.avertissements] == ["pref_date_anterieure"]
    withheld = record_for("A3", "D3", value="1")
    assert withheld.documents == [] and withheld.scdl is None and withheld.row["delib_url"] is None
    individuel = record_for("A4", "D4", nature="3", value="")
    assert individuel.decision.decision == "retenir" and individuel.scdl is None
    reglementaire = record_for("A5", "D5", nature="2")
    assert (
        reglementaire.scdl is None and reglementaire.documents
    )  # published, but not in the délibérations CSV
    votes = record_for(
        "A6", "D6", vote_effectif="10", vote_reel="9", vote_pour="5", vote_contre="1", vote_abstention="1"
    )  # 5 + 1 + 1 != 9: dropped, row kept
    assert votes.scdl is not None and votes.scdl["VOTE_REEL"] is None and votes.row["vote_reel"] is None
    assert "vote_budget_incoherents" in [w.code for w in votes.avertissements]


def test_normalize_record_without_siret_is_pending():
    doc = record_for("A1", "D1")
    record = build_record(doc.acte, doc.decision, coll_nom="X", coll_siret=None, public_base_url="https://x")
    assert record.scdl is None and record.scdl_en_attente == "siret_inconnu"


def test_normalize_metadonnees_has_no_url_and_no_documents():
    doc = record_for("A1", "D1")
    decision = PublicationDecision(
        decision="metadonnees", motif="collectivite_documents_desactives", source="collectivite"
    )
    record = build_record(doc.acte, decision, coll_nom="X", coll_siret=SIRET, public_base_url="https://x")
    assert record.documents == [] and record.scdl["DELIB_URL"] is None and record.row["document_id"] is None


def test_normalize_parquet_deterministic_and_schemas():
    records = [
        record_for(f"A{i}", f"D{i:02d}", nature="3" if i % 3 == 0 else "1", value="") for i in range(9)
    ]
    one = parquet_bytes(actes_table(records, public=False))
    two = parquet_bytes(actes_table(list(reversed(records)), public=False))
    assert one == two
    internal = pq.read_table(io.BytesIO(one))
    public = pq.read_table(io.BytesIO(parquet_bytes(actes_table(records, public=True))))
    assert internal.schema.equals(ACTES_SCHEMA) and public.schema.equals(PUBLIC_ACTES_SCHEMA)
    assert internal.num_rows == 9 and public.num_rows == 6
    assert "id_e" not in public.column_names and set(public.column("decision").to_pylist()) == {"publier"}


def test_normalize_rebuild_partition_outputs_and_idempotency():
    store = MemoryStore()
    for i in range(3):
        put_record(store, record_for(f"A{i}", f"D{i}"))
    put_record(store, record_for("AI", "DI", nature="3", value=""))
    result = rebuild_partition(store, "213502388", 2024)
    assert (result.acts, result.public_acts, result.scdl_rows, result.csv_changed) == (4, 3, 3, True)
    csv_text = store.objects[layout.scdl_deliberations_key("213502388", 2024)].decode()
    assert csv_text.count("\r\n") == 4 and "DI" not in csv_text.split("\r\n", 1)[1]
    assert json.loads(store.objects[layout.dirty_partition_key("213502388", 2024)])["deleted"] is False
    puts = store.puts
    again = rebuild_partition(store, "213502388", 2024)
    assert store.puts == puts and not again.csv_changed and again.written == []
    # empty partition: every output removed, marker says so
    for key in [k for k in store.objects if k.startswith("records/")]:
        store.delete(key)
    empty = rebuild_partition(store, "213502388", 2024)
    assert layout.scdl_deliberations_key("213502388", 2024) in empty.deleted
    assert not any(k.startswith(("actes/", "public/", "scdl/")) for k in store.objects)
    assert json.loads(store.objects[layout.dirty_partition_key("213502388", 2024)])["deleted"] is True


def test_normalize_rival_commit_forces_a_rebuild_with_its_record():
    store = MemoryStore()
    put_record(store, record_for("A1", "D1"))
    late = record_for("A2", "D2")

    def rival() -> None:  # another worker writes its record and commits a manifest between our read and write
        put_record(store, late)
        store.objects[partition_manifest_key("213502388", 2024)] = b'{"generation": 7, "state": {}}\n'

    store.on_conditional = rival
    result = rebuild_partition(store, "213502388", 2024)
    assert result.attempts == 2 and result.scdl_rows == 2
    manifest = json.loads(store.objects[partition_manifest_key("213502388", 2024)])
    assert manifest["generation"] == 8 and len(manifest["state"]["records"]) == 2


def test_normalize_stale_outputs_are_rebuilt_when_manifest_moved():
    store = MemoryStore()
    calls = {"n": 0}

    def build():
        calls["n"] += 1

        def write():
            if calls["n"] == 1:  # someone commits after our outputs: we must go round again
                store.objects["m"] = b'{"generation": 99, "state": {"x": 1}}\n'
            return calls["n"]

        return {"x": calls["n"]}, write

    assert serialised(store, "m", build) == (2, 2)
    with pytest.raises(TooMuchContention):
        store.on_conditional = None

        def never():
            def write():
                store.objects["m"] = b"{}"  # always moved under us

            return {"y": 1}, write

        serialised(store, "m", never, max_attempts=3)


def test_normalize_partition_outputs_are_all_or_nothing_and_a_bad_record_is_quarantined():
    """A record the Parquet writer refuses (old normaliser, 2^40 votes) leaves; the others are built."""
    store = MemoryStore()
    good = [record_for(f"A{i}", f"D{i}") for i in range(2)]
    bad = record_for("Bad", "DBAD")
    bad.row["vote_pour"] = 2**40
    for record in [*good, bad]:
        put_record(store, record)
    for document in bad.documents:
        store.objects[layout.public_document_key(document.document_id, document.nom)] = b"%PDF"
    store.objects[layout.record_pointer_key("12", "Bad")] = b"{}"
    result = rebuild_partition(store, "213502388", 2024)
    assert [(q.id_d, q.reason) for q in result.quarantined] == [("Bad", "partition_invalide")]
    assert "1099511627776" in result.quarantined[0].message
    assert (result.acts, result.scdl_rows) == (2, 2)
    assert bad.key not in store.objects and layout.record_pointer_key("12", "Bad") not in store.objects
    assert not any(k.startswith(layout.PUBLIC_DOCUMENTS_PREFIX) for k in store.objects)
    assert json.loads(store.objects[layout.quarantine_key("12", "Bad")])["raw_version"] == "v1"
    csv_text = store.objects[layout.scdl_deliberations_key("213502388", 2024)].decode()
    assert "DBAD" not in csv_text and "D0" in csv_text and "D1" in csv_text
    manifest = json.loads(store.objects[partition_manifest_key("213502388", 2024)])
    assert bad.key not in manifest["state"]["records"]


def test_normalize_a_failing_build_writes_nothing():
    """When no single act is to blame the build raises before any output is written (the queue retries)."""
    store = MemoryStore()
    put_record(store, record_for("A1", "D1"))
    rebuild_partition(store, "213502388", 2024)
    before = dict(store.objects)
    put_record(store, record_for("A2", "D2"))
    import regate.normalize.partitions as partitions

    original = partitions.build_outputs

    def flaky(records):
        if len(records) > 1:
            raise RuntimeError("disk full")
        return original(records)

    partitions.build_outputs = flaky
    try:
        with pytest.raises(RuntimeError):
            rebuild_partition(store, "213502388", 2024)
    finally:
        partitions.build_outputs = original
    after = {k: v for k, v in store.objects.items() if not k.startswith(("records/", "_state/partitions/"))}
    assert after == {k: v for k, v in before.items() if not k.startswith(("records/", "_state/partitions/"))}
