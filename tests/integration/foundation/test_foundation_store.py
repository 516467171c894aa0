"""ObjectStore on a versioned bucket (moto server): idempotent writes and optimistic concurrency."""

from __future__ import annotations

import pytest

from regate.storage.store import PreconditionFailed


def test_put_if_changed_creates_no_new_version_for_identical_content(raw_store) -> None:
    first = raw_store.put_if_changed("pastell/1/abc/detail.json", b'{"a": 1}')
    again = raw_store.put_if_changed("pastell/1/abc/detail.json", b'{"a": 1}')
    changed = raw_store.put_if_changed("pastell/1/abc/detail.json", b'{"a": 2}')
    assert first.written and not again.written and changed.written
    assert len(raw_store.list_versions("pastell/1/abc/detail.json")) == 2
    assert raw_store.get_bytes("pastell/1/abc/detail.json") == b'{"a": 2}'


def test_conditional_put_detects_a_lost_race(curated_store) -> None:
    curated_store.put_conditional("_state/manifest.json", b"{}", if_match=None)
    with pytest.raises(PreconditionFailed):
        curated_store.put_conditional("_state/manifest.json", b"{}", if_match=None)
    _, etag = curated_store.get_with_etag("_state/manifest.json")
    curated_store.put_conditional("_state/manifest.json", b'{"v": 2}', if_match=etag)
    with pytest.raises(PreconditionFailed):
        curated_store.put_conditional("_state/manifest.json", b'{"v": 3}', if_match=etag)


def test_missing_objects(raw_store) -> None:
    assert raw_store.get_json("nope.json", default={"x": 1}) == {"x": 1}
    assert raw_store.head("nope.json") is None
    assert raw_store.delete("nope.json") is False
    raw_store.put_json_if_changed("k.json", {"b": 1, "a": "é"})
    assert raw_store.get_bytes("k.json").decode() == '{\n "a": "é",\n "b": 1\n}\n'
    assert list(raw_store.list_keys("k")) == ["k.json"]
    assert raw_store.delete("k.json") is True
