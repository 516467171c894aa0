"""The whole search core on S3 (moto): PDFs → extraction (worker) → text store → incremental index →
the API's reader → search. Adding, correcting and withdrawing one act change the results without a full
rebuild; a concurrent writer is retried; an unchanged file is never extracted twice."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest

from regate.search.documents import PublicDocument
from regate.search.engine import search
from regate.search.extract import ExtractionLimits, ExtractionWorker
from regate.search.index import IndexedDocument, IndexEntry, shard_of
from regate.search.remote import ActeRetire, IndexReader, IndexUpdater
from regate.search.textstore import TextStore
from regate.storage import layout
from regate_local.search.pdfs import scanned_pdf, text_pdf

pytestmark = pytest.mark.integration
SHARDS = 4
SIREN = "200000001"


def _public(acte_id: str, document_id: str, role: str, data: bytes) -> PublicDocument:
    return PublicDocument.declare(
        acte_id=acte_id,
        document_id=document_id,
        sha256=hashlib.sha256(data).hexdigest(),
        role=role,
        nom=f"{document_id}.pdf",
        decision="publier",
        annexe_publique=role == "annexe",
    )


def test_pdf_and_scanned_annex_found_through_s3_and_updates_are_incremental(
    curated_store, tmp_path: Path
) -> None:
    main_pdf = text_pdf(["Délibération : le mot xylophonique n’est que dans ce PDF."], "Délibération n° 12")
    scan_pdf = scanned_pdf(["Annexe scannée : l’ornithorynque de la commune."], seed=1)
    texts = TextStore(curated_store)
    limits = ExtractionLimits()
    reads: list[str] = []

    def reader_of(data: bytes, name: str):  # type: ignore[no-untyped-def]
        def read() -> bytes:
            reads.append(name)
            return data

        return read

    documents = [_public("a1", "d1", "acte", main_pdf), _public("a1", "d2", "annexe", scan_pdf)]
    with ExtractionWorker(limits) as worker:
        extracted = [
            texts.ensure(doc, reader_of(data, doc.document_id), limits, worker)
            for doc, data in zip(documents, (main_pdf, scan_pdf), strict=True)
        ]
        again = [texts.ensure(doc, reader_of(b"", doc.document_id), limits, worker) for doc in documents]
    assert [e[1] for e in extracted] == [True, True] and [a[1] for a in again] == [False, False]
    assert reads == ["d1", "d2"]  # never re-extracted (the text store answered)
    assert curated_store.exists(layout.text_key(documents[1].sha256))
    assert extracted[1][0].methode == "ocr"

    entry = IndexEntry(
        acte_id="a1",
        siren=SIREN,
        decision="publier",
        objet="Tarifs de la restauration scolaire",
        date_acte=date(2024, 3, 1),
        documents=tuple(
            IndexedDocument.from_public(d, t) for d, (t, _) in zip(documents, extracted, strict=True)
        ),
    )
    other = IndexEntry(
        acte_id="b1", siren="200000002", decision="publier", objet="Budget primitif de la piscine"
    )
    keeper = IndexEntry(acte_id="a0", siren=SIREN, decision="publier", objet="Compte rendu du conseil")
    updater = IndexUpdater(curated_store, tmp_path / "writer", SHARDS)
    first = updater.apply([entry, other, keeper])
    assert first.added == 3

    reader = IndexReader(curated_store, tmp_path / "api", SHARDS, ttl_seconds=0)
    pdf_hit = search(reader, "xylophonique", sirens=[SIREN]).hits[0]
    assert pdf_hit.acte_id == "a1" and [d.document_id for d in pdf_hit.documents if d.correspond] == ["d1"]
    assert "<mark>xylophonique</mark>" in pdf_hit.documents[0].extrait.html
    scan_hit = search(reader, "ornithorynque").hits[0]
    assert scan_hit.annexe_seule and [d.document_id for d in scan_hit.documents if d.correspond] == ["d2"]

    shard = shard_of(SIREN, SHARDS)
    before = set(updater.index_store.manifest(shard)[0]["files"])
    other_shard = shard_of("200000002", SHARDS)
    other_before = updater.index_store.manifest(other_shard)[1] if other_shard != shard else None

    # correct one act: its objet changes; only its shard gets a new small segment
    corrected = entry.model_copy(update={"objet": "Tarifs de la cantine scolaire"})
    second = updater.apply([corrected])
    after = set(updater.index_store.manifest(shard)[0]["files"])
    assert second.shards == {shard: 2} and second.files_uploaded <= 8
    assert before & after  # the existing segment was kept (a0 still in it), not rebuilt
    assert search(reader, "conseil").total == 1
    if other_before is not None:
        assert updater.index_store.manifest(other_shard)[1] == other_before  # other shard untouched
    assert [h.acte_id for h in search(reader, "cantine").hits] == ["a1"]
    assert search(reader, "restauration").total == 0
    assert search(reader, "xylophonique").total == 1  # the document texts are still there

    # add a third act, then withdraw the first: results follow, no rebuild
    third = IndexEntry(acte_id="a3", siren=SIREN, decision="metadonnees", objet="Cantine : marché de denrées")
    updater.apply([third])
    assert {h.acte_id for h in search(reader, "cantine").hits} == {"a1", "a3"}
    updater.apply(deletes=[ActeRetire(siren=SIREN, acte_id="a1")])
    assert [h.acte_id for h in search(reader, "cantine").hits] == ["a3"]
    assert search(reader, "xylophonique").total == 0 and search(reader, "ornithorynque").total == 0
    assert search(reader, "piscine").total == 1


def test_concurrent_writers_of_one_shard_are_serialised_by_if_match(curated_store, tmp_path: Path) -> None:
    one = IndexUpdater(curated_store, tmp_path / "w1", SHARDS)
    two = IndexUpdater(curated_store, tmp_path / "w2", SHARDS)
    one.apply([IndexEntry(acte_id="c0", siren=SIREN, decision="publier", objet="Premier acte")])
    manifest = one.index_store.manifest(shard_of(SIREN, SHARDS))
    stale = manifest[1]
    original = two.index_store.manifest
    calls = {"n": 0}

    def stale_once(shard: str):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            one.apply([IndexEntry(acte_id="c1", siren=SIREN, decision="publier", objet="Acte concurrent")])
            return manifest[0], stale  # two works on the old version: its If-Match must fail
        return original(shard)

    two.index_store.manifest = stale_once  # type: ignore[method-assign]
    report = two.apply([IndexEntry(acte_id="c2", siren=SIREN, decision="publier", objet="Acte tardif")])
    assert report.retries == 1
    reader = IndexReader(curated_store, tmp_path / "api", SHARDS, ttl_seconds=0)
    assert {h.acte_id for h in search(reader, "acte").hits} == {"c0", "c1", "c2"}


def test_retired_files_are_deleted_after_the_grace_delay(curated_store, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    clock = {"now": datetime(2025, 1, 1, tzinfo=UTC)}
    updater = IndexUpdater(
        curated_store, tmp_path / "w", 1, retired_grace_seconds=60, now=lambda: clock["now"]
    )
    for i in range(12):  # enough commits for tantivy to merge segments
        updater.apply([IndexEntry(acte_id=f"g{i}", siren=SIREN, decision="publier", objet=f"Acte {i}")])
    manifest = updater.index_store.manifest("00")[0]
    listed = set(curated_store.list_keys(layout.search_shard_prefix(1, "00") + "files/"))
    assert {layout.search_shard_file_key(1, "00", n) for n in manifest["files"]} <= listed
    clock["now"] += timedelta(seconds=120)
    report = updater.apply([IndexEntry(acte_id="g99", siren=SIREN, decision="publier", objet="Acte final")])
    manifest = updater.index_store.manifest("00")[0]
    listed = set(curated_store.list_keys(layout.search_shard_prefix(1, "00") + "files/"))
    assert report.files_deleted > 0
    assert listed == {layout.search_shard_file_key(1, "00", n) for n in manifest["files"]} | {
        layout.search_shard_file_key(1, "00", n) for n in manifest["retired"]
    }
    reader = IndexReader(curated_store, tmp_path / "api", 1, ttl_seconds=0)
    assert search(reader, "acte", limit=100).total == 13


def test_layout_keys_round_trip() -> None:
    digest = "a" * 64
    assert layout.parse_text_key(layout.text_key(digest)) == digest
    assert layout.parse_text_key("_text/../x.json") is None
    key = layout.search_shard_file_key(1, "03", "0123456789abcdef0123456789abcdef.12.del")
    assert layout.parse_search_shard_key(key) == (1, "03", "0123456789abcdef0123456789abcdef.12.del")
    assert layout.parse_search_shard_key(layout.search_shard_manifest_key(1, "03")) == (1, "03", None)
    for bad in ("../meta.json", "meta.json", "x" * 32 + ".idx"):
        with pytest.raises(ValueError):
            layout.search_shard_file_key(1, "03", bad)
    with pytest.raises(ValueError):
        layout.text_key("../../etc")
