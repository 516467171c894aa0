"""Raw and curated keys of the marchés publics flux: builders and parsers agree, outside ids cannot escape."""

from __future__ import annotations

import pytest

from regate.storage import layout


def test_raw_keys_round_trip() -> None:
    key = layout.profil_export_key("megalis", "213502388", 2024, 5)
    assert key == "acheteurs/megalis/213502388/2024/05.json"
    assert layout.parse_profil_key(key) == ("megalis", "213502388", 2024, 5)
    assert layout.parse_profil_key(layout.profil_rejected_key("megalis", "213502388", 2024, 12)) == (
        "megalis",
        "213502388",
        2024,
        12,
    )
    assert layout.profil_watermark_key("megalis", "213502388") == "_state/acheteurs/megalis/213502388.json"
    assert layout.profil_export_prefix("megalis", "213502388") == "acheteurs/megalis/213502388/"


def test_curated_keys_round_trip() -> None:
    assert layout.decp_key("21350238800019", 2024) == "decp/21350238800019/2024.json"
    assert layout.decp_national_key(2024) == "decp/all/2024.json"
    assert layout.parse_decp_key("decp/21350238800019/2024.json") == ("21350238800019", 2024)
    assert layout.parse_decp_key("decp/all/2024.json") == ("all", 2024)
    quarantine = layout.decp_quarantine_key("megalis", "213502388", 2024, 5)
    assert quarantine == "quarantine/decp/megalis/213502388/2024/05.json" and layout.parse_profil_key(
        quarantine
    )


@pytest.mark.parametrize(
    "key",
    [
        "acheteurs/megalis/213502388/2024/13.json",
        "acheteurs/../213502388/2024/01.json",
        "acheteurs/megalis/21350238/2024/01.json",
        "acheteurs/megalis/213502388/2024/01.json.bak",
        "pastell/1/2/detail.json",
        "",
        "decp/all/24.json",
    ],
)
def test_foreign_keys_do_not_parse(key: str) -> None:
    assert layout.parse_profil_key(key) is None and layout.parse_decp_key(key) is None


@pytest.mark.parametrize(
    "call",
    [
        lambda: layout.profil_export_key("../x", "213502388", 2024, 1),
        lambda: layout.profil_export_key("megalis", "21350238", 2024, 1),
        lambda: layout.profil_export_key("megalis", "213502388/..", 2024, 1),
        lambda: layout.profil_export_key("megalis", "213502388", 2024, 0),
        lambda: layout.decp_key("2135023880001", 2024),
        lambda: layout.decp_key("../../etc/passwd", 2024),
    ],
)
def test_unsafe_segments_are_refused(call) -> None:
    with pytest.raises(ValueError):
        call()
