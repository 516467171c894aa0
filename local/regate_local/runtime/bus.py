"""A local stand-in for S3 → EventBridge (→ SQS): it observes buckets and emits the events S3 would.

It works on any S3-compatible endpoint by diffing ``ListObjectVersions`` snapshots, so it sees every new
version and delete marker exactly once per observation. Delivery is at-least-once in production; the bus
can reproduce that on purpose (``duplicate=True`` delivers everything twice, ``shuffle=True`` out of order)
so the end-to-end tests prove the handlers converge anyway.
"""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Iterable
from typing import Any

from regate_local.runtime.events import ObjectChange


class BucketWatcher:
    """Remembers which object versions of one bucket were already announced."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket
        self.seen: set[tuple[str, str]] = set()

    def poll(self, prefix: str = "") -> list[ObjectChange]:
        """Changes since the last poll, oldest first."""
        changes: list[ObjectChange] = []
        paginator = self.client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for version in page.get("Versions", []):
                ident = (version["Key"], version.get("VersionId") or version["ETag"])
                if ident in self.seen:
                    continue
                self.seen.add(ident)
                changes.append(
                    ObjectChange(
                        self.bucket,
                        version["Key"],
                        "Object Created",
                        version.get("VersionId"),
                        version.get("ETag"),
                        int(version.get("Size", 0)),
                        version["LastModified"],
                    )
                )
            for marker in page.get("DeleteMarkers", []):
                ident = (marker["Key"], marker.get("VersionId") or "delete")
                if ident in self.seen:
                    continue
                self.seen.add(ident)
                changes.append(
                    ObjectChange(
                        self.bucket,
                        marker["Key"],
                        "Object Deleted",
                        marker.get("VersionId"),
                        None,
                        0,
                        marker["LastModified"],
                    )
                )
        changes.sort(key=lambda c: (c.when, c.key))
        return changes


def matching(changes: Iterable[ObjectChange], patterns: Iterable[str]) -> list[ObjectChange]:
    """Keep changes whose key matches one of the EventBridge-style wildcard ``patterns``."""
    pats = list(patterns)
    return [c for c in changes if any(fnmatch.fnmatchcase(c.key, p) for p in pats)]


def delivery_order(
    items: list[Any], duplicate: bool = False, shuffle: bool = False, rng: random.Random | None = None
) -> list[Any]:
    """At-least-once, unordered delivery on demand: each item once (or twice), in order (or shuffled)."""
    out = list(items) + (list(items) if duplicate else [])
    if shuffle:
        (rng or random.Random(0)).shuffle(out)
    return out


def batches(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
