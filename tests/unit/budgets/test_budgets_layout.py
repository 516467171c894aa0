"""Curated keys of the budgets flux: builders and parsers agree, outside ids cannot escape."""

from __future__ import annotations

import pytest

from regate.storage import layout


def test_budget_keys_round_trip() -> None:
    key = layout.budget_document_key("213502388", 2025, "13", "Ab3dE5f")
    assert key == "budgets/_documents/213502388/2025/13.Ab3dE5f.json"
    assert key.startswith(layout.budget_document_prefix("213502388", 2025))
    assert layout.parse_budget_document_key(key) == ("213502388", 2025, "13", "Ab3dE5f")
    assert layout.scdl_budgets_key("213502388", 2025) == "scdl/budgets/213502388/2025.csv"
    assert layout.scdl_budgets_national_key(2025) == "scdl/budgets/all/2025.csv"
    assert layout.parse_scdl_budgets_key("scdl/budgets/213502388/2025.csv") == ("213502388", 2025)
    assert layout.parse_scdl_budgets_key("scdl/budgets/all/2025.csv") == ("all", 2025)
    assert (
        layout.budgets_parquet_key("213502388", 2025)
        == "budgets/lignes/siren=213502388/annee=2025/data.parquet"
    )
    public = layout.budgets_parquet_key("213502388", 2025, public=True)
    assert public == "public/budgets/lignes/siren=213502388/annee=2025/data.parquet"
    assert layout.parse_partition_key(public) == ("213502388", 2025)
    assert layout.budget_partition_manifest_key("all", 2025) == "_state/partitions-budgets/all/2025.json"


@pytest.mark.parametrize(
    "key",
    [
        "scdl/budgets/213502388/2025.csv.bak",
        "scdl/budgets/213502388/x/2025.csv",
        "scdl/deliberations/213502388/2025.csv",
        "budgets/_documents/213502388/2025/13.json",
        "budgets/_documents/213502388/25/13.A.json",
    ],
)
def test_other_keys_are_not_parsed(key: str) -> None:
    assert layout.parse_scdl_budgets_key(key) is None
    assert layout.parse_budget_document_key(key) is None


@pytest.mark.parametrize("bad", ["..", "a/b", "", "12\n"])
def test_unsafe_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        layout.budget_document_key("213502388", 2025, bad, "Ab3dE5f")
    with pytest.raises(ValueError):
        layout.scdl_budgets_key(bad, 2025)


def test_national_public_parquet_key_round_trips_and_is_no_partition() -> None:
    key = layout.budgets_national_parquet_key(2025)
    assert key == "public/budgets/national/annee=2025/data.parquet"
    assert layout.parse_budgets_national_parquet_key(key) == 2025
    assert layout.parse_partition_key(key) is None  # never listed as one collectivité's partition
    assert not key.startswith(layout.PUBLIC_BUDGETS_PARQUET_PREFIX)
    for other in (
        "public/budgets/national/annee=25/data.parquet",
        layout.budgets_parquet_key("213502388", 2025),
    ):
        assert layout.parse_budgets_national_parquet_key(other) is None
