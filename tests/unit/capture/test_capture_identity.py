"""Act keys (push and pull of one act meet) and listing windows (strict Pastell bounds)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from regate.capture.acts import act_key_for, normalise_act_date
from regate.capture.watermark import Watermark, parse_pastell_timestamp, pastell_now, window_begin
from regate.pastell.models import DocumentRow


def test_same_act_same_key_whatever_the_date_spelling():
    assert act_key_for("213502388", "CM_2024_031", "2024-3-5") == act_key_for(
        "213502388", "cm_2024_031 ", "2024-03-05"
    )
    assert act_key_for("213502388", "CM_2024_031", "2024-03-05") == "20240305_CM_2024_031"


def test_other_act_other_key():
    assert act_key_for("213502388", "CM_2024_031", "2024-03-05") != act_key_for(
        "213502388", "CM_2024_032", "2024-03-05"
    )


def test_unsafe_numbers_are_hashed_into_a_safe_segment():
    key = act_key_for("213502388", "N°12/2024 bis", "05/03/2024")
    assert key is not None and key.startswith("h") and len(key) == 41


@pytest.mark.parametrize(
    ("siren", "numero", "date"),
    [
        (None, "A", "2024-01-01"),
        ("", "A", "2024-01-01"),
        ("12345", "A", "2024-01-01"),
        ("213502388", None, "x"),
        ("213502388", "A", 20240101),
        ("213502388", " ", "2024-01-01"),
    ],
)
def test_unidentifiable_acts_have_no_key(siren, numero, date):
    assert act_key_for(siren, numero, date) is None


def test_impossible_dates_are_kept_verbatim():
    assert normalise_act_date("2024-02-31") == "2024-02-31"


def test_window_starts_one_second_before_since_because_bounds_are_strict():
    assert window_begin(None, "2024-01-01", "2020-01-01 00:00:00", 86400) == "2023-12-31 23:59:59"


def test_window_uses_watermark_minus_overlap():
    mark = Watermark(id_e="12", flux="f", high_water="2024-06-01 14:00:00", updated_at="x")
    assert window_begin(mark, None, "2020-01-01 00:00:00", 3600) == "2024-06-01 12:59:59"
    assert window_begin(None, None, "2020-01-01 00:00:00", 3600) == "2019-12-31 23:59:59"


def test_pastell_time_is_paris_local_time():
    assert pastell_now(datetime(2024, 6, 1, 12, 0, tzinfo=UTC)) == "2024-06-01 14:00:00"


@pytest.mark.parametrize("bad", ["2024/01/01", "yesterday", "2024-01-01T00:00:00"])
def test_bad_timestamps_are_refused(bad):
    with pytest.raises(ValueError, match="Pastell timestamp"):
        parse_pastell_timestamp(bad)


def test_fingerprint_changes_with_cancellation():
    row = DocumentRow(id_d="a", id_e="1", last_action="acquiter-tdt", last_action_date="2024-01-01 10:00:00")
    cancelled = row.model_copy(update={"last_action": "annuler-tdt"})
    assert row.fingerprint() != cancelled.fingerprint()
