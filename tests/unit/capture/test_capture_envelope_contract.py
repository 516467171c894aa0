"""The raw envelope's optional parts (``missing_files``, ``removed``) and how normalisation reads them."""

from __future__ import annotations

import json

from regate.actes.model import acte_from_raw, withdrawal_reason
from regate.capture.documents import content_sha256
from regate.capture.envelope import CapturedFile, CaptureEnvelope, MissingFile, RawDocument, Removal
from regate.normalize.decision import PublicationDecision
from regate.normalize.documents import apply_missing_files, missing_file_warnings
from regate.storage.store import dumps_canonical

DATA = {
    "acte_nature": "1",
    "numero_de_lacte": "DEL2025_101",
    "objet": "Subventions",
    "date_de_lacte": "2025-03-03",
    "classification": "7.5 Subventions",
    "publication_open_data": "3",
}


def raw(files=(), missing=(), removed=None) -> RawDocument:
    return RawDocument(
        capture=CaptureEnvelope(
            source="pull",
            captured_at="2026-01-10T09:00:00Z",
            origin="https://pastell.example.org",
            flux="deliberations-studio",
            id_e="13",
            id_d="R15main",
            siren="213502388",
            files=list(files),
            content_sha256="0" * 64,
            missing_files=list(missing),
            removed=removed,
        ),
        detail={"info": {"id_d": "R15main"}, "data": DATA, "last_action": {"action": "termine"}},
    )


def file(field: str, name: str, num: int = 0) -> CapturedFile:
    return CapturedFile(
        field=field, num=num, name=name, sha256="a" * 64, size=3, key=f"k/{field}/{num}/{name}"
    )


def lost(field: str, name: str, num: int = 0) -> MissingFile:
    return MissingFile(field=field, num=num, name=name, status=400, message="400 Ce fichier n'existe pas")


PUBLISH = PublicationDecision(decision="publier", motif="pastell_oui", source="pastell")


def test_an_envelope_without_missing_files_serialises_exactly_as_before():
    document = raw(files=[file("arrete", "a.pdf")])
    dumped = json.loads(dumps_canonical(document.model_dump(mode="json")))
    assert "missing_files" not in dumped["capture"] and "removed" not in dumped["capture"]
    assert RawDocument.model_validate(dumped) == document
    assert content_sha256({"a": 1}, []) == content_sha256({"a": 1}, [], missing=[])  # digests unchanged


def test_missing_files_round_trip_and_change_the_digest():
    document = raw(missing=[lost("arrete", "a.pdf")])
    again = RawDocument.model_validate_json(dumps_canonical(document.model_dump(mode="json")))
    assert again.capture.missing_files == document.capture.missing_files
    assert content_sha256({"a": 1}, [], missing=[lost("arrete", "a.pdf")]) != content_sha256({"a": 1}, [])


def test_a_missing_main_file_degrades_publication_to_metadata_only():
    acte = acte_from_raw(
        raw(files=[file("autre_document_attache", "x.pdf")], missing=[lost("arrete", "a.pdf")])
    )
    decision = apply_missing_files(acte, PUBLISH)
    assert (decision.decision, decision.motif, decision.source) == (
        "metadonnees",
        "fichier_principal_manquant",
        "capture",
    )
    assert "arrete/0 a.pdf" in (decision.detail or "")
    assert [w.code for w in missing_file_warnings(acte)] == ["fichier_principal_manquant"]
    # a decision that publishes nothing is left alone
    withheld = PublicationDecision(decision="retenir", motif="pastell_non", source="pastell")
    assert apply_missing_files(acte, withheld) == withheld


def test_a_missing_stamped_act_falls_back_to_the_original_and_a_missing_annex_is_just_absent():
    acte = acte_from_raw(
        raw(
            files=[file("arrete", "a.pdf"), file("autre_document_attache", "x.pdf")],
            missing=[lost("acte_tamponne", "a-tampon.pdf"), lost("autre_document_attache", "y.pdf", 1)],
        )
    )
    assert apply_missing_files(acte, PUBLISH) == PUBLISH
    assert acte.main_file().name == "a.pdf"
    assert [f.name for f in acte.annex_files()] == ["x.pdf"]
    assert sorted(w.code for w in missing_file_warnings(acte)) == [
        "fichier_manquant",
        "fichier_principal_manquant",
    ]


def test_an_act_without_missing_files_serialises_as_before():
    acte = acte_from_raw(raw(files=[file("arrete", "a.pdf")]))
    assert "fichiers_manquants" not in acte.model_dump(mode="json")
    with_lost = acte_from_raw(raw(missing=[lost("arrete", "a.pdf")]))
    assert with_lost.model_dump(mode="json")["fichiers_manquants"][0]["motif"] == "fichier_inexistant"


def test_a_removed_document_is_withdrawn_by_the_normaliser():
    removal = Removal(detected_at="2026-01-11T10:00:00Z", evidence="404 n'appartient pas")
    assert withdrawal_reason(raw(removed=removal)) == "supprime"
    assert withdrawal_reason(raw()) is None
