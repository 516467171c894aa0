"""The in-memory S3 stand-in answers conditional writes and misses as S3 does
(the error codes ObjectStore reads)."""

from __future__ import annotations

import io

import pytest

from regate.storage import ObjectStore
from regate.storage.store import PreconditionFailed
from regate_local.s3_memory import MemoryS3


@pytest.fixture()
def store() -> ObjectStore:
    s3 = MemoryS3()
    s3.create_bucket(Bucket="b")
    return ObjectStore(s3, "b")


def test_conditional_writes_refuse_a_lost_race(store):
    first = store.put_conditional("k.json", b"1", if_match=None)
    with pytest.raises(PreconditionFailed):
        store.put_conditional("k.json", b"2", if_match=None)  # If-None-Match on an existing key
    second = store.put_conditional("k.json", b"2", if_match=first.etag)
    with pytest.raises(PreconditionFailed):
        store.put_conditional("k.json", b"3", if_match=first.etag)  # stale ETag
    assert store.get_with_etag("k.json") == (b"2", second.etag)
    store.delete("k.json")
    with pytest.raises(PreconditionFailed):
        store.put_conditional("k.json", b"4", if_match=second.etag)  # deleted meanwhile


def test_misses_idempotent_puts_versions_and_listings(store):
    assert store.get_with_etag("a/x") is None and store.head("a/x") is None and not store.delete("a/x")
    assert store.put_if_changed("a/x", b"x").written
    assert not store.put_if_changed("a/x", b"x").written  # same bytes: no new version
    store.put_if_changed("a/x", b"y")
    store.put_if_changed("a/b/c", b"c")
    store.client.upload_fileobj(io.BytesIO(b"z"), "b", "a/z", ExtraArgs={"Metadata": {"sha256": "s"}})
    assert sorted(store.list_keys("a/")) == ["a/b/c", "a/x", "a/z"]
    assert len(store.list_versions("a/x")) == 2
    page = next(
        store.client.get_paginator("list_objects_v2").paginate(Bucket="b", Prefix="a/", Delimiter="/")
    )
    assert [c["Prefix"] for c in page["CommonPrefixes"]] == ["a/b/"]
    assert sorted(c["Key"] for c in page["Contents"]) == ["a/x", "a/z"]
    out = io.BytesIO()
    store.download_to("a/z", out)
    assert out.getvalue() == b"z" and store.head("a/z")["Metadata"] == {"sha256": "s"}
    store.delete("a/x")
    assert store.get_with_etag("a/x") is None and "a/x" not in set(store.list_keys("a/"))
