"""Keys of the compacted read datasets (builders and parsers agree, unsafe values refused) and the
debounce rule of the read step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from regate.normalize.lake import LakeOptions, due_years
from regate.storage import layout


def test_lake_keys_round_trip() -> None:
    for dataset in layout.LAKE_DATASETS:
        key = layout.lake_key(dataset, 2024)
        assert key == f"public/lake/{dataset}/annee=2024/data.parquet"
        assert layout.parse_lake_key(key.replace(dataset, dataset + "x")) is None
        assert layout.parse_lake_key(key) == (dataset, 2024)
    token = "0123456789abcdef0123456789abcdef"
    assert layout.parse_lake_pending_key(layout.lake_pending_key(2025, token)) == (2025, token)
    assert layout.lake_state_key(2024) == "_state/lake/2024.json"
    # never mistaken for a per-collectivité partition, and not under public/actes/
    assert layout.parse_partition_key(layout.lake_key("actes", 2024)) is None
    assert not layout.lake_key("actes", 2024).startswith(layout.PUBLIC_ACTES_PARQUET_PREFIX)


@pytest.mark.parametrize(
    "key",
    [
        "public/lake/autre/annee=2024/data.parquet",
        "public/lake/actes/annee=24/data.parquet",
        "public/lake/actes/annee=2024/data.parquet.tmp",
        "public/lake/actes/annee=2024/../x",
        "",
    ],
)
def test_lake_parser_refuses_other_keys(key: str) -> None:
    assert layout.parse_lake_key(key) is None


def test_lake_builders_refuse_bad_values() -> None:
    with pytest.raises(ValueError):
        layout.lake_key("secret", 2024)
    with pytest.raises(ValueError):
        layout.lake_key("actes", 99999)
    with pytest.raises(ValueError):
        layout.lake_pending_key(2024, "../x")
    assert layout.parse_lake_pending_key("_state/lake-pending/2024/nothex") is None


def test_due_years_waits_for_the_end_of_a_burst() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    options = LakeOptions(debounce_seconds=60, max_delay_seconds=300)
    markers = {
        2023: [("a", now - timedelta(seconds=120))],  # quiet for 2 min: due
        2024: [("b", now - timedelta(seconds=100)), ("c", now - timedelta(seconds=5))],  # still bursting
        2025: [("d", now - timedelta(seconds=400)), ("e", now - timedelta(seconds=1))],  # waited too long
    }
    assert due_years(markers, now, options) == [2023, 2025]
    assert due_years(markers, now, options, force=True) == [2023, 2024, 2025]
    assert due_years({}, now, options) == []
