"""Reading DECP documents as received: known defects repaired and logged, anything else a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from regate.flux.marches.parse import DecpDocumentError, parse_decp_document

LIMITS = {"max_bytes": 10_000_000, "max_records": 1000}


def parse(data: bytes, **overrides: int):
    return parse_decp_document(data, **{**LIMITS, **overrides})


def hostile(fixtures_dir: Path, name: str) -> bytes:
    return (fixtures_dir / "hostile" / name).read_bytes()


def test_sdm_export_reads_both_kinds(fixtures_dir: Path) -> None:
    parsed = parse((fixtures_dir / "sdm_export_defauts.json").read_bytes())
    assert len(parsed.records["marche"]) == 2 and parsed.records["contrat-concession"] == []
    assert parsed.repairs == []


def test_bom_is_removed_and_logged(fixtures_dir: Path) -> None:
    parsed = parse(hostile(fixtures_dir, "bom.json"))
    assert [r.code for r in parsed.repairs] == ["bom_supprime"]


def test_nan_and_infinity_become_null(fixtures_dir: Path) -> None:
    parsed = parse(hostile(fixtures_dir, "nan.json"))
    record = parsed.records["marche"][0]
    assert record["tauxAvance"] is None and record["montant"] is None
    assert [r.code for r in parsed.repairs] == ["nan_remplace"]


def test_stray_backslashes_are_doubled(fixtures_dir: Path) -> None:
    parsed = parse(hostile(fixtures_dir, "backslash.json"))
    assert parsed.records["marche"][0]["objet"] == "Lot 1 \\ tranche ferme C:\\dossier"
    assert [r.code for r in parsed.repairs] == ["antislash_echappe"]


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("html_200.html", "html_au_lieu_de_json"),
        ("xml_empty.xml", "xml_au_lieu_de_json"),
        ("truncated.json", "json_invalide"),
        ("format_2019.json", "format_2019"),
        ("root_list.json", "racine_invalide"),
        ("latin1.json", "encodage_invalide"),
    ],
)
def test_unreadable_documents_have_a_code(fixtures_dir: Path, name: str, code: str) -> None:
    with pytest.raises(DecpDocumentError) as info:
        parse(hostile(fixtures_dir, name))
    assert info.value.code == code and info.value.message


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "document_vide"),
        (b"   \n", "document_vide"),
        (b'{"autre": 1}', "marches_absent"),
        (b'{"marches": "x"}', "marches_absent"),
        (b'{"marches": {"marche": "x"}}', "liste_invalide"),
        (b"[" * 200_000 + b"]" * 200_000, "json_trop_profond"),
        (b'{"marches": ' * 100_000 + b"{}" + b"}" * 100_000, "json_trop_profond"),
    ],
)
def test_more_malformed_documents(data: bytes, code: str) -> None:
    with pytest.raises(DecpDocumentError) as info:
        parse(data)
    assert info.value.code == code


def test_odd_elements_are_kept_for_quarantine(fixtures_dir: Path) -> None:
    parsed = parse(hostile(fixtures_dir, "odd_elements.json"))
    assert parsed.records["marche"] == [1, "texte", None, [], {"id": "OK"}]
    assert parsed.records["contrat-concession"] == [{"id": "seul"}]
    assert "liste_attendue" in [r.code for r in parsed.repairs]


def test_duplicate_keys_are_reported(fixtures_dir: Path) -> None:
    parsed = parse(hostile(fixtures_dir, "duplicate_keys.json"))
    assert parsed.records["marche"][0]["id"] == "D2"
    assert "cle_dupliquee" in [r.code for r in parsed.repairs]


def test_limits() -> None:
    body = b'{"marches": {"marche": [' + b",".join([b"{}"] * 20) + b"]}}"
    with pytest.raises(DecpDocumentError) as info:
        parse(body, max_records=10)
    assert info.value.code == "trop_d_enregistrements"
    with pytest.raises(DecpDocumentError) as info:
        parse(body, max_bytes=50)
    assert info.value.code == "document_trop_gros"


def test_not_bytes() -> None:
    with pytest.raises(DecpDocumentError):
        parse_decp_document("texte", **LIMITS)  # type: ignore[arg-type]
