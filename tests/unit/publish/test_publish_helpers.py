"""Small pure helpers of the publisher: titles, URLs, row counting, directory adapter."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from regate.datagouv.publisher import (
    collectivite_remote_url,
    count_rows,
    directory_describer,
    first_row,
    national_remote_url,
    resource_title,
)


def test_publish_stable_titles() -> None:
    assert resource_title("all", 2024) == "deliberations-2024.csv"
    assert resource_title("213502388", 2024) == "deliberations-213502388-2024.csv"


def test_publish_remote_urls() -> None:
    assert national_remote_url("https://api.x/", 2024) == "https://api.x/v1/deliberations/all/2024.csv"
    assert collectivite_remote_url("https://api.x", "213502388", 2023) == (
        "https://api.x/v1/deliberations/213502388/2023.csv"
    )


@pytest.mark.parametrize(
    ("data", "rows"),
    [
        (b"", 0),
        (b"A,B\r\n", 0),
        (b"A,B\r\n1,2\r\n", 1),
        (b'A,B\r\n"multi\r\nline",2\r\n3,4\r\n', 2),
        (b"\xef\xbb\xbfA,B\r\n1,2\r\n\r\n", 1),
        (b"A,B\r\n\xff\xfe,2\r\n", 1),  # undecodable bytes are counted, the validator rejects them
    ],
)
def test_publish_count_rows(data: bytes, rows: int) -> None:
    assert count_rows(data) == rows


def test_publish_first_row() -> None:
    assert first_row(b"COLL_NOM,COLL_SIRET\r\nVille,123\r\n") == {"COLL_NOM": "Ville", "COLL_SIRET": "123"}
    assert first_row(b"COLL_NOM\r\n") == {}


def test_publish_directory_describer_maps_and_survives_failures() -> None:
    found = SimpleNamespace(
        nom="Rennes",
        siret="21350238800019",
        code_insee="35238",
        kind="commune",
        departement="35",
        region="53",
    )

    class Directory:
        def describe(self, siren: str):
            if siren == "000000000":
                raise RuntimeError("Sirene down")
            return found

    describe = directory_describer(Directory())
    info = describe("213502388")
    assert info is not None and (info.kind, info.code_insee, info.departement) == ("commune", "35238", "35")
    assert describe("000000000") is None
