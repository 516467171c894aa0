"""The S3 layout is a public contract: keys are exactly as documented, and unsafe ids are refused."""

from __future__ import annotations

import pytest

from regate.storage import layout


def test_raw_keys() -> None:
    assert layout.document_detail_key("12", "Xk3P9aQ") == "pastell/12/Xk3P9aQ/detail.json"
    assert (
        layout.document_file_key("12", "Xk3P9aQ", "arrete", 0, "DEL2024_012.pdf")
        == "pastell/12/Xk3P9aQ/files/arrete/0/DEL2024_012.pdf"
    )
    uuid = "0b6f3c1e-6a8e-4d7e-9a55-2f8a7c6d1e00"
    assert layout.document_detail_key("3", uuid) == f"pastell/3/{uuid}/detail.json"
    assert (
        layout.watermark_key("12", "deliberations-studio") == "_state/watermarks/12/deliberations-studio.json"
    )
    assert layout.inbox_rejected_key("inbox/abc.zip") == "inbox-rejected/abc.zip"
    assert layout.parse_document_key("pastell/12/Xk3P9aQ/files/arrete/0/a.pdf") == ("12", "Xk3P9aQ")
    assert layout.parse_document_key("inbox/a.zip") is None


def test_curated_keys() -> None:
    assert layout.scdl_deliberations_key("213502388", 2024) == "scdl/deliberations/213502388/2024.csv"
    assert layout.scdl_deliberations_national_key(2024) == "scdl/deliberations/all/2024.csv"
    assert layout.actes_parquet_key("213502388", 2024) == "actes/siren=213502388/annee=2024/data.parquet"
    assert (
        layout.actes_parquet_key("213502388", 2024, public=True)
        == "public/actes/siren=213502388/annee=2024/data.parquet"
    )
    assert layout.parse_partition_key("public/actes/siren=213502388/annee=2024/data.parquet") == (
        "213502388",
        2024,
    )
    assert layout.public_document_url("https://x.org/", "ab/c") == "https://x.org/v1/documents/ab%2Fc"


@pytest.mark.parametrize("bad", ["", "..", ".", "a/b", "../etc", "a b", "é", "x" * 200])
def test_unsafe_segments_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        layout.document_detail_key("12", bad)


@pytest.mark.parametrize("name", ["../../etc/passwd", "a\\..\\b.pdf"])
def test_file_names_cannot_escape_their_prefix(name: str) -> None:
    key = layout.document_file_key("12", "Xk3P9aQ", "arrete", 0, name)
    assert key.startswith("pastell/12/Xk3P9aQ/files/arrete/0/")
    assert ".." not in key.split("/files/arrete/0/")[1].split("/")


def test_empty_file_name_is_refused() -> None:
    with pytest.raises(ValueError):
        layout.document_file_key("12", "Xk3P9aQ", "arrete", 0, "  ")
