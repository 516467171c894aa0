"""Text extraction: text layer, French OCR of scans, bounds, hostile PDFs, public-only, isolation."""

from __future__ import annotations

import hashlib
import random

import pytest

from regate.search.documents import NonPublic, PublicDocument
from regate.search.extract import (
    FRA_TRAINEDDATA_SHA256,
    ExtractionLimits,
    ExtractionWorker,
    extract_pdf,
    extract_public_document,
    tessdata_sha256,
)
from regate_local.search.corpus import paragraphes
from regate_local.search.pdfs import hostile_pdfs, scanned_pdf, text_pdf

LIMITS = ExtractionLimits()


def _public(data: bytes, role: str = "acte") -> PublicDocument:
    return PublicDocument.declare(
        acte_id="a1",
        document_id="d1",
        sha256=hashlib.sha256(data).hexdigest(),
        role=role,
        nom="acte.pdf",
        decision="publier",
        annexe_publique=role == "annexe",
    )


def test_shipped_french_model_is_the_recorded_one() -> None:
    assert tessdata_sha256() == FRA_TRAINEDDATA_SHA256


def test_text_layer_keeps_accents_oe_and_apostrophes() -> None:
    data = text_pdf(["Élection du maire : les œuvres d’art de l’école xylophonique."], pages=3)
    result = extract_pdf(data, LIMITS)
    assert (result.statut, result.methode, result.pages_total) == ("complet", "texte", 3)
    assert "Élection du maire : les œuvres d’art de l’école xylophonique." in result.texte
    assert [p.numero for p in result.pages] == [1, 2, 3]


def test_scanned_page_is_ocred_in_french() -> None:
    data = scanned_pdf(["Le mot ornithorynque n’apparaît que dans l’annexe scannée de la commune."], seed=3)
    result = extract_pdf(data, LIMITS)
    assert (result.statut, result.methode) == ("complet", "ocr")
    assert "ornithorynque" in result.texte
    assert "annexe scannée" in result.texte
    assert result.pages[0].confiance is not None and result.pages[0].confiance > 70


def test_ocr_page_limit_cuts_a_long_scan_and_says_so() -> None:
    data = scanned_pdf(["Registre des délibérations"], pages=4, dpi=100)
    result = extract_pdf(data, LIMITS.model_copy(update={"max_ocr_pages": 2}))
    assert (result.statut, result.motif, result.pages_total) == ("partiel", "trop_de_pages_ocr", 4)
    assert [p.methode for p in result.pages] == ["ocr", "ocr", "vide", "vide"]


def test_page_and_document_budgets() -> None:
    data = text_pdf(["Budget primitif"], pages=5)
    assert extract_pdf(data, LIMITS.model_copy(update={"max_pages": 2})).motif == "trop_de_pages"
    slow = extract_pdf(data, LIMITS.model_copy(update={"document_seconds": 1e-9}))
    assert (slow.statut, slow.motif) == ("echec", "delai_document")


def test_text_cap_truncates() -> None:
    data = text_pdf(paragraphes(random.Random(1), 6), pages=4)
    result = extract_pdf(data, LIMITS.model_copy(update={"max_text_chars": 1000}))
    assert (result.statut, result.motif) == ("partiel", "texte_tronque")
    assert len(result.texte) <= 1000 + 2 * len(result.pages)


@pytest.mark.parametrize(
    ("name", "statut", "motif"),
    [
        ("pas_un_pdf", "echec", "pas_un_pdf"),
        ("vide", "echec", "pas_un_pdf"),
        ("en_tete_seul", "echec", "pdf_illisible"),
        ("tronque", "echec", "pdf_illisible"),
        ("chiffre", "echec", "pdf_chiffre"),
        ("binaire_aleatoire", "echec", "pdf_illisible"),
        ("page_geante", "complet", None),
        ("contenu_casse", "complet", None),
    ],
)
def test_hostile_pdfs_give_a_clear_result(name: str, statut: str, motif: str | None) -> None:
    result = extract_pdf(hostile_pdfs()[name], LIMITS)
    assert (result.statut, result.motif) == (statut, motif)
    if name == "contenu_casse":  # the broken page does not lose the good one
        assert "budget primitif" in result.texte


def test_too_big_is_refused_before_reading() -> None:
    result = extract_pdf(b"%PDF-1.7\n" + bytes(5000), LIMITS.model_copy(update={"max_bytes": 1024}))
    assert (result.statut, result.motif) == ("echec", "trop_volumineux")


def test_only_public_documents_are_extracted() -> None:
    data = text_pdf(["Arrêté individuel nominatif"])
    digest = hashlib.sha256(data).hexdigest()
    common = {"acte_id": "a1", "document_id": "d1", "sha256": digest, "nom": "x.pdf"}
    for decision in ("retenir", "a_statuer", "metadonnees", None):
        with pytest.raises(NonPublic):
            PublicDocument.declare(role="acte", decision=decision, **common)
    with pytest.raises(NonPublic):
        PublicDocument.declare(role="annexe", decision="publier", annexe_publique=False, **common)
    with pytest.raises(ValueError):
        PublicDocument(role="acte", decision="retenir", **common)
    with pytest.raises(NonPublic):
        extract_public_document({"decision": "publier", **common}, data, LIMITS)  # type: ignore[arg-type]


def test_bytes_must_be_the_declared_file() -> None:
    document = _public(b"other bytes")
    result = extract_public_document(document, text_pdf(["Autre fichier"]), LIMITS)
    assert (result.statut, result.motif) == ("echec", "empreinte_differente")


def test_worker_survives_bombs_and_overruns() -> None:
    text = text_pdf(["Délibération lisible après l’incident"])
    with ExtractionWorker(LIMITS.model_copy(update={"max_memory_mb": 768})) as worker:
        bomb = worker.extract(hostile_pdfs()["bombe_contenu"])
        assert bomb.statut == "echec" and bomb.motif in {"plantage", "memoire", "page_illisible"}
        image_bomb = worker.extract(hostile_pdfs()["bombe"])
        assert image_bomb.statut in {"complet", "partiel", "echec"}
        after = worker.extract(text)
        assert (after.statut, after.methode) == ("complet", "texte")
        assert "incident" in after.texte
    tight = LIMITS.model_copy(update={"document_seconds": 0.05, "page_seconds": 0.05})
    with ExtractionWorker(tight) as worker:
        worker.grace_seconds = 0.0
        cut = worker.extract(scanned_pdf(["Page scannée lente"], pages=3))
        assert cut.motif == "delai_document" and cut.statut in {"partiel", "echec"}
        assert worker.restarts == 1
        assert worker.extract(text).statut == "complet"  # a fresh worker took over


def test_public_document_through_the_worker() -> None:
    data = scanned_pdf(["Annexe scannée : le quetzalcoatl du conseil municipal."], seed=5)
    with ExtractionWorker(LIMITS) as worker:
        result = extract_public_document(_public(data, "annexe"), data, LIMITS, worker)
    assert result.methode == "ocr" and "quetzalcoatl" in result.texte.lower()
