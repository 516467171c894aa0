"""Back-office objects are decision inputs: their S3 events name the SIREN to re-decide (issue 16)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from regate.normalize.events import classify_event
from regate_local.runtime.bus import matching
from regate_local.runtime.chain import DECISION_INPUT_PATTERNS
from regate_local.runtime.events import ObjectChange, eventbridge_s3_event

RAW, CURATED = "raw", "curated"


def event(key: str, bucket: str = CURATED, kind: str = "Object Created") -> dict:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    return eventbridge_s3_event(ObjectChange(bucket, key, kind, "v1", '"e"', 10, when))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "kind", "siren", "id_d"),
    [
        ("config/decisions/213502388/12/DelibQ01.json", "admin", "213502388", "DelibQ01"),
        ("config/decisions/213502388/12/DelibQ01/annexes/3.json", "admin", "213502388", "DelibQ01"),
        ("config/collectivites/213502388.json", "admin", "213502388", None),
        ("config/collectivites.csv", "config", None, None),
        ("config/overrides.csv", "config", None, None),
        # hostile or foreign keys decide nothing
        ("config/decisions/21350238/12/DelibQ01.json", "ignored", None, None),
        ("config/decisions/213502388/../DelibQ01.json", "ignored", None, None),
        ("config/decisions/213502388/12/DelibQ01/annexes/x.json", "ignored", None, None),
        ("config/collectivites/213502388.json.bak", "ignored", None, None),
        ("config/decisions/213502388/12/DelibQ01.txt", "ignored", None, None),
    ],
)
def test_back_office_objects_are_classified_with_their_siren(key, kind, siren, id_d) -> None:
    target = classify_event(event(key), RAW, CURATED)
    assert (target.kind, target.siren, target.id_d) == (kind, siren, id_d)
    # the delete of a decision re-decides too (the act goes back to the chain's own decision)
    assert classify_event(event(key, kind="Object Deleted"), RAW, CURATED).kind == kind


def test_back_office_keys_in_the_raw_bucket_are_ignored() -> None:
    assert classify_event(event("config/collectivites/213502388.json", RAW), RAW, CURATED).kind == "ignored"


def test_the_local_chain_delivers_back_office_events() -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    keys = [
        "config/decisions/213502388/12/DelibQ01.json",
        "config/decisions/213502388/12/DelibQ01/annexes/3.json",
        "config/collectivites/213502388.json",
        "config/collectivites.csv",
        "config/notes.txt",
    ]
    changes = [ObjectChange(CURATED, k, "Object Created", "v", None, 1, when) for k in keys]
    assert [c.key for c in matching(changes, DECISION_INPUT_PATTERNS)] == keys[:4]
