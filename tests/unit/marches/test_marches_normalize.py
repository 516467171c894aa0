"""One record at a time: repair → schema → rules → perimeter; a bad record is quarantined, the rest
goes on."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from regate.flux.marches.model import SourceRef
from regate.flux.marches.normalize import RawAnswer, normalize_documents, normalize_record

TODAY = date(2025, 6, 1)

SOURCE = SourceRef(
    key="acheteurs/megalis/213502388/2024/05.json",
    siren="213502388",
    plateforme="megalis",
    kind="marche",
    position=0,
)


def test_valid_record_is_accepted_as_is(marche: dict[str, Any]) -> None:
    result = normalize_record("marche", marche, SOURCE, TODAY)
    assert result.status == "accepte" and result.record == marche and result.findings == []
    assert result.buyer_siret == "21350238800019" and result.annee == 2024


def test_sdm_export_is_accepted_after_repairs_with_warnings(fixtures_dir: Path) -> None:
    body = (fixtures_dir / "sdm_export_defauts.json").read_bytes()
    answer = RawAnswer(
        key="acheteurs/megalis/200069409/2024/03.json", body=body, plateforme="megalis", siren="200069409"
    )
    out = normalize_documents([answer], TODAY)
    assert [r.status for r in out.results] == ["accepte", "accepte"]
    first, second = out.results
    assert {r.code for r in first.repairs} >= {
        "type_supprime",
        "liste_vide_supprimee",
        "acte_sous_traitance_incomplet",
    }
    assert [w.code for w in first.warnings] == ["acte_sous_traitance_incomplet"]
    assert "\n" in first.record["objet"] and "’" in first.record["objet"]  # kept as received
    assert "origineUE" not in second.record and {r.code for r in second.repairs} >= {"valeur_null_supprimee"}
    assert first.received["_type"] == "Marché"  # the received record is kept untouched


def test_invalid_record_is_quarantined_with_every_reason(marche: dict[str, Any]) -> None:
    marche["dateNotification"] = "le 2024-05-15"
    marche["origineUE"], marche["origineFrance"] = 0.1, 0.4
    del marche["procedure"]
    result = normalize_record("marche", marche, SOURCE, TODAY)
    assert result.status == "quarantaine"
    reasons = {(f.origin, f.code) for f in result.errors}
    assert {
        ("schema", "schema_required"),
        ("regle", "date_invalide"),
        ("regle", "origine_ue_inferieure_france"),
    } <= reasons
    assert all(f.message for f in result.findings)


def test_record_of_another_buyer_is_withheld(marche: dict[str, Any]) -> None:
    marche["acheteur"]["id"] = "24350013900015"
    result = normalize_record("marche", marche, SOURCE, TODAY)
    assert result.status == "quarantaine" and [f.code for f in result.errors] == ["acheteur_hors_perimetre"]


def test_non_objects_are_quarantined(fixtures_dir: Path) -> None:
    body = (fixtures_dir / "hostile" / "odd_elements.json").read_bytes()
    out = normalize_documents([RawAnswer(key="k", body=body)], TODAY)
    assert [r.status for r in out.results].count("quarantaine") == 6
    assert sum(1 for r in out.results if r.errors and r.errors[0].code == "enregistrement_non_objet") == 4


def test_one_unreadable_answer_does_not_stop_the_others(fixtures_dir: Path, marche: dict[str, Any]) -> None:
    good = json.dumps({"marches": {"marche": [marche]}}).encode()
    answers = [
        RawAnswer(
            key="acheteurs/megalis/213502388/2024/06.json",
            body=(fixtures_dir / "hostile" / "html_200.html").read_bytes(),
        ),
        RawAnswer(key="acheteurs/megalis/213502388/2024/05.json", body=good, siren="213502388"),
    ]
    out = normalize_documents(answers, TODAY)
    assert [(d.key[-12:], d.status, d.error_code) for d in out.documents] == [
        ("2024/05.json", "lu", None),
        ("2024/06.json", "rejete", "html_au_lieu_de_json"),
    ]
    assert len(out.published) == 1 and out.summary()["documents_rejetes"] == 1


def test_official_examples(fixtures_dir: Path) -> None:
    """Valid against the schema, but the consolidation's checksum rules keep only one of the four records."""
    body = (fixtures_dir / "fcp" / "marches_concessions.json").read_bytes()
    out = normalize_documents([RawAnswer(key="k", body=body)], TODAY)
    assert [(r.kind, r.record["id"], r.status) for r in out.results] == [
        ("marche", "TEST2022", "quarantaine"),
        ("marche", "TEST2022Bis", "accepte"),
        ("contrat-concession", "0612202306122024", "quarantaine"),
        ("contrat-concession", "0612202306122023", "quarantaine"),
    ]
    assert {f.code for r in out.quarantined for f in r.errors} == {"acheteur_siret_invalide"}
