"""Validation of Pastell depot ZIPs (pure: no S3): every way a ZIP can be bad has its own reason code."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from regate.capture.push import DepotRejected, open_depot_zip, rejection_reason_key

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "capture"
METADATA = json.loads((FIXTURES / "metadata_ok.json").read_text(encoding="utf-8"))
FILES = {
    "CM_2024_031.pdf": b"%PDF-1.4 acte",
    "CM_2024_031-tampon.pdf": b"%PDF-1.4 tampon",
    "annexe 1.pdf": b"%PDF a",
}


def build_zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def good_entries(metadata: object = None) -> dict[str, bytes]:
    meta = METADATA if metadata is None else metadata
    body = meta if isinstance(meta, bytes) else json.dumps(meta, ensure_ascii=False).encode()
    return {"metadata.json": body, **FILES}


def check(name: str, data: bytes):
    return open_depot_zip(name, io.BytesIO(data), len(data))


def rejection(name: str, data: bytes) -> DepotRejected:
    with pytest.raises(DepotRejected) as info:
        check(name, data)
    return info.value


def test_valid_zip_keeps_values_as_received():
    depot = check("inbox/Ab3dE5f.zip", build_zip(good_entries()))
    assert depot.stem == "Ab3dE5f"
    assert depot.metadata["date_de_lacte"] == "2024-3-12"
    assert depot.files == {
        "arrete": ["CM_2024_031.pdf"],
        "acte_tamponne": ["CM_2024_031-tampon.pdf"],
        "autre_document_attache": ["annexe 1.pdf"],
    }


def meta(**changes):
    value = dict(METADATA)
    for key, new in changes.items():
        if new is ...:
            value.pop(key)
        else:
            value[key] = new
    return value


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("inbox/x.zip", b"PK\x03\x04 not really a zip", "zip_invalide"),
        ("inbox/x.zip", b"", "zip_invalide"),
        ("inbox/x.txt", build_zip(good_entries()), "nom_invalide"),
        ("inbox/" + "a" * 51 + ".zip", build_zip(good_entries()), "nom_invalide"),
        ("inbox/bad stem!.zip", build_zip(good_entries()), "nom_invalide"),
        ("inbox/x.zip", build_zip(FILES), "metadata_absent"),
        (
            "inbox/x.zip",
            build_zip(good_entries((FIXTURES / "metadata_truncated.json").read_bytes())),
            "metadata_json_invalide",
        ),
        ("inbox/x.zip", build_zip(good_entries(b'{"id_e": "\xe9"}')), "metadata_json_invalide"),
        ("inbox/x.zip", build_zip(good_entries([1, 2])), "metadata_invalide"),
        ("inbox/x.zip", build_zip(good_entries(meta(id_e=152))), "metadata_invalide"),
        ("inbox/x.zip", build_zip(good_entries(meta(siren=...))), "metadata_invalide"),
        ("inbox/x.zip", build_zip(good_entries(meta(siren="21350238"))), "metadata_invalide"),
        ("inbox/x.zip", build_zip(good_entries(meta(numero_de_lacte=""))), "metadata_invalide"),
        ("inbox/x.zip", build_zip(good_entries(meta(objet={"fr": "x"}))), "metadata_invalide"),
        ("inbox/x.zip", build_zip(good_entries(meta(arrete=[3]))), "metadata_invalide"),
        ("inbox/x.zip", build_zip(good_entries(meta(id_e="../12"))), "metadata_invalide"),
        ("inbox/x.zip", build_zip(good_entries(meta(arrete=["absent.pdf"]))), "fichier_manquant"),
        ("inbox/x.zip", build_zip(good_entries(meta(arrete=["../../etc/passwd"]))), "chemin_interdit"),
        ("inbox/x.zip", build_zip({**good_entries(), "../evil.pdf": b"x"}), "chemin_interdit"),
        ("inbox/x.zip", build_zip({**good_entries(), "sub/acte.pdf": b"x"}), "chemin_interdit"),
        ("inbox/x.zip", build_zip({**good_entries(), "/abs.pdf": b"x"}), "chemin_interdit"),
    ],
)
def test_bad_zips_are_rejected_with_a_code(name, data, code):
    assert rejection(name, data).code == code


def test_duplicate_entries_are_rejected():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in good_entries().items():
            archive.writestr(name, data)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            archive.writestr("CM_2024_031.pdf", b"other")
    assert rejection("inbox/x.zip", buffer.getvalue()).code == "entree_dupliquee"


def test_zip_bomb_is_rejected_from_declared_sizes():
    bomb = build_zip({**good_entries(), "annexe 1.pdf": b"\0" * (20 * 1024 * 1024)})
    assert len(bomb) < 100_000
    assert rejection("inbox/x.zip", bomb).code == "zip_trop_volumineux"


def test_reason_carries_code_and_both_languages():
    reason = rejection("inbox/x.zip", build_zip(FILES)).reason("inbox/x.zip", "2024-06-01T12:00:00Z", "abc")
    assert reason["code"] == "metadata_absent"
    assert "metadata.json absent" in reason["message_fr"]
    assert "No metadata.json" in reason["message_en"]
    assert rejection_reason_key("inbox/x.zip") == "inbox-rejected/x.reason.json"
