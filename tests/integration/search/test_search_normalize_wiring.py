"""The normaliser keeps the index in line (issue 14, done-when): a word only inside a PDF and a word only in
a scanned annex find their act; withheld acts, private annexes and withdrawn acts are never found; a
correction, a takedown and a withdrawal change the results on the next ``regate normalize`` — incrementally
(one small commit per touched shard, texts never extracted twice, no rebuild)."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import pytest

from regate.normalize.run import run_normalize
from regate.normalize.search_stage import SearchStage
from regate.search.engine import search
from regate.search.remote import IndexReader, IndexStore
from regate.storage import layout
from regate_local.search.pdfs import scanned_pdf, text_pdf

_spec = importlib.util.spec_from_file_location(
    "normalize_helpers", Path(__file__).resolve().parents[1] / "normalize" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)
RawSeeder = _helpers.RawSeeder

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RENNES = "213502388"
RENNES_SIRET = "21350238800019"
HEADER = "siren,siret,nom,open_data,documents,annexes\n"


def _config(curated_store, documents: str = "", annexes: str = "", open_data: str = "") -> None:
    row = f"{RENNES},{RENNES_SIRET},Ville de Rennes,{open_data},{documents},{annexes}\n"
    curated_store.put_if_changed(layout.CONFIG_COLLECTIVITES_KEY, (HEADER + row).encode())


@pytest.fixture()
def search_settings(settings, tmp_path: Path):
    return settings.model_copy(
        update={
            "search_cache_dir": str(tmp_path / "cache"),
            "search_shards": 2,
            "search_manifest_ttl_seconds": 0,
        }
    )


def _ids(curated_store, settings, q: str, **kw) -> dict[str, dict]:
    reader = IndexReader.from_settings(curated_store, settings)
    result = search(reader, q, **kw)
    return {hit.numero: hit.model_dump(mode="json") for hit in result.hits}


def test_normalisation_indexes_public_documents_and_follows_every_change(
    raw_store, curated_store, search_settings, monkeypatch
) -> None:
    settings = search_settings
    seeder = RawSeeder(raw_store)
    _config(curated_store)
    main = text_pdf(["Le conseil approuve le xylophonique projet de cantine."], "Délibération DEL2024_012")
    scan = scanned_pdf(["Annexe : tableau des ornithorynques subventionnés."], seed=3)
    seeder.put("pull_deliberation.json", files={"acte_tamponne": main, "autre_document_attache": scan})
    private = text_pdf(["Le mot confidentielissime est dans un acte retenu."], "DEL2024_099")
    seeder.put(
        "pull_deliberation.json",
        id_d="Retenu01",
        data={"numero_de_lacte": "DEL2024_099", "publication_open_data": "1"},
        files={"acte_tamponne": private, "autre_document_attache": private},
    )
    extractions: list[int] = []
    original = SearchStage.entry

    def counting(self, record, worker, result):  # type: ignore[no-untyped-def]
        entry = original(self, record, worker, result)
        extractions.append(result.extracted)
        return entry

    monkeypatch.setattr(SearchStage, "entry", counting)

    report = run_normalize(raw_store, curated_store, settings)
    assert report.errors == []
    assert {i.id_d for i in report.withheld} == {"Retenu01"}
    hits = _ids(curated_store, settings, "xylophonique")
    assert set(hits) == {"DEL2024_012"}
    hit = hits["DEL2024_012"]
    assert hit["documents"][0]["correspond"] and "xylophonique" in hit["documents"][0]["extrait"]["texte"]
    scanned = _ids(curated_store, settings, "ornithorynques")["DEL2024_012"]
    annex = next(d for d in scanned["documents"] if d["role"] == "annexe")
    assert annex["correspond"] and annex["methode"] == "ocr" and scanned["annexe_seule"]
    # withheld: neither its objet's act nor its PDF text is anywhere in the index or the text store
    assert _ids(curated_store, settings, "confidentielissime") == {}
    assert _ids(curated_store, settings, "DEL2024_099", in_="objet") == {}
    assert not curated_store.exists(layout.text_key(hashlib.sha256(private).hexdigest()))

    # nothing changed: no index write at all
    manifests = {s: IndexStore(curated_store, 2).manifest_etag(s) for s in ("00", "01")}
    report = run_normalize(raw_store, curated_store, settings)
    assert report.acts_normalised == 0
    assert {s: IndexStore(curated_store, 2).manifest_etag(s) for s in ("00", "01")} == manifests

    # a correction (new objet, same files): replaced, texts reused (not extracted again)
    extractions.clear()
    seeder.put(
        "pull_deliberation.json",
        data={"objet": "Tarifs de la cantine et du périscolaire"},
        files={"acte_tamponne": main, "autre_document_attache": scan},
    )
    run_normalize(raw_store, curated_store, settings)
    assert extractions == [0]
    assert set(_ids(curated_store, settings, "périscolaire", in_="objet")) == {"DEL2024_012"}
    assert _ids(curated_store, settings, "subventions", in_="objet") == {}  # the old objet is gone

    # annexes made private by the operator: the scanned annex's word is no longer found
    _config(curated_store, annexes="non")
    run_normalize(raw_store, curated_store, settings)
    assert _ids(curated_store, settings, "ornithorynques") == {}
    assert set(_ids(curated_store, settings, "xylophonique")) == {"DEL2024_012"}

    # metadata only: found by its objet, never by its documents
    _config(curated_store, documents="non")
    run_normalize(raw_store, curated_store, settings)
    assert _ids(curated_store, settings, "xylophonique") == {}
    assert set(_ids(curated_store, settings, "périscolaire")) == {"DEL2024_012"}

    # withdrawal (the act disappears from raw): deleted from the index on the next run
    _config(curated_store)
    run_normalize(raw_store, curated_store, settings)
    assert set(_ids(curated_store, settings, "xylophonique")) == {"DEL2024_012"}
    raw_store.delete(layout.document_detail_key("12", "Xk3P9aQ"))
    report = run_normalize(raw_store, curated_store, settings)
    assert {i.id_d for i in report.withdrawn} == {"Xk3P9aQ"}
    assert _ids(curated_store, settings, "xylophonique") == {}
    assert _ids(curated_store, settings, "périscolaire") == {}


def test_index_failure_is_reported_and_redone_by_the_next_run(
    raw_store, curated_store, search_settings, monkeypatch
) -> None:
    settings = search_settings
    _config(curated_store)
    main = text_pdf(["Le mot xylophonique figure ici."], "DEL2024_012")
    RawSeeder(raw_store).put("pull_deliberation.json", files={"acte_tamponne": main})
    from regate.search import remote

    def broken(self, upserts=(), deletes=()):  # type: ignore[no-untyped-def]
        raise OSError("S3 indisponible")

    with monkeypatch.context() as patched:
        patched.setattr(remote.IndexUpdater, "apply", broken)
        report = run_normalize(raw_store, curated_store, settings)
    assert [e.code for e in report.errors] == ["recherche_index_echec"]
    assert not curated_store.exists(layout.record_pointer_key("12", "Xk3P9aQ"))  # not marked done
    report = run_normalize(raw_store, curated_store, settings)
    assert report.errors == [] and report.acts_normalised == 1
    assert set(_ids(curated_store, settings, "xylophonique")) == {"DEL2024_012"}


def test_a_hostile_document_does_not_stop_the_batch(raw_store, curated_store, search_settings) -> None:
    settings = search_settings
    _config(curated_store)
    seeder = RawSeeder(raw_store)
    seeder.put("pull_deliberation.json", files={"acte_tamponne": b"%PDF-1.4 not really a pdf"})
    good = text_pdf(["Le mot xylophonique figure ici."], "DEL2024_020")
    seeder.put(
        "pull_deliberation.json",
        id_d="Other01",
        data={"numero_de_lacte": "DEL2024_020"},
        files={"acte_tamponne": good},
    )
    report = run_normalize(raw_store, curated_store, settings)
    assert report.errors == []
    assert any(w.code == "recherche_texte_echec" and w.id_d == "Xk3P9aQ" for w in report.warnings)
    assert set(_ids(curated_store, settings, "xylophonique")) == {"DEL2024_020"}
    # the broken one is still found by its objet (indexed by metadata and file name)
    assert "DEL2024_012" in _ids(curated_store, settings, "associations", in_="objet")


def test_a_scan_stored_without_ocr_is_redone_once_ocr_is_there(
    raw_store, curated_store, search_settings, tmp_path: Path
) -> None:
    """A deployment without the OCR wheel stores scans as ``ocr_indisponible``; with OCR, the next
    normalisation of the act redoes them (never on every run otherwise)."""
    empty = tmp_path / "no-tessdata"
    empty.mkdir()
    without_ocr = search_settings.model_copy(update={"search_tessdata_dir": str(empty)})
    _config(curated_store)
    seeder = RawSeeder(raw_store)
    main = text_pdf(["Le mot xylophonique figure ici."], "DEL2024_012")
    scan = scanned_pdf(["Annexe : tableau des ornithorynques."], seed=5)
    files = {"acte_tamponne": main, "arrete": main, "autre_document_attache": scan}
    seeder.put("pull_deliberation.json", files=files)
    report = run_normalize(raw_store, curated_store, without_ocr)
    assert any(w.code == "recherche_texte_partiel" for w in report.warnings)
    assert _ids(curated_store, search_settings, "ornithorynques") == {}
    seeder.put("pull_deliberation.json", data={"objet": "Objet corrigé"}, files=files)
    run_normalize(raw_store, curated_store, search_settings)
    assert set(_ids(curated_store, search_settings, "ornithorynques")) == {"DEL2024_012"}
    stored = curated_store.get_json(layout.text_key(hashlib.sha256(scan).hexdigest()))
    assert stored["statut"] == "complet" and stored["methode"] == "ocr"
