"""SIREN/SIRET checks (python-stdnum), strict on format, hostile input never raises."""

from __future__ import annotations

import pytest

from regate.flux.marches.identifiers import is_siren, is_siret, siren_of, siret_with_nic


@pytest.mark.parametrize("value", ["21350238800019", "35600000049837", "20006940900015"])
def test_valid_sirets(value: str) -> None:
    assert is_siret(value)


@pytest.mark.parametrize(
    "value",
    [
        "21350238800018",
        "2135023880001",
        "213502388000190",
        "213 502 388 00019",
        "2135023880001a",
        "",
        None,
        21350238800019,
        "２１３５０２３８８０００１９",
        "21350238800019\n",
    ],
)
def test_invalid_sirets(value: object) -> None:
    assert not is_siret(value)


def test_siren_checks() -> None:
    assert is_siren("213502388")
    assert not is_siren("213502389")
    assert not is_siren("21350238")
    assert not is_siren(213502388)


def test_siren_of() -> None:
    assert siren_of("21350238800019") == "213502388"
    with pytest.raises(ValueError):
        siren_of("21350238800018")


def test_siret_with_nic_is_valid_and_belongs_to_the_siren() -> None:
    siret = siret_with_nic("243500139")
    assert is_siret(siret) and siret.startswith("2435001390001")
    with pytest.raises(ValueError):
        siret_with_nic("243500138")
