"""One publication run: dirty markers in, portal reconciled, markers consumed, report saved.

Normalisation writes ``_state/dirty/{siren}/{annee}`` when a partition changes. A run snapshots the
markers it is about to serve (with their ETag), publishes, then deletes only the markers whose
partition published without failure AND that were not rewritten meanwhile (a newer change keeps its
marker for the next run). Redelivered or out-of-order events are harmless: publishing always reads
the current file, and an unchanged file makes no write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from regate.clock import Clock, SystemClock
from regate.datagouv.client import DatagouvClient
from regate.datagouv.publisher import CollectiviteInfo, Failure, Publisher, PublishOptions, PublishReport
from regate.storage import ObjectStore, layout
from regate.storage.store import dumps_canonical


@dataclass(frozen=True)
class DirtyMarker:
    siren: str
    annee: int
    key: str
    etag: str | None


def parse_dirty_key(key: str) -> tuple[str, int] | None:
    """``_state/dirty/{siren}/{annee}`` → ``(siren, annee)``; None for anything else."""
    if not key.startswith(layout.DIRTY_PREFIX):
        return None
    parts = key[len(layout.DIRTY_PREFIX) :].split("/")
    if len(parts) != 2 or not parts[1].isdigit() or len(parts[1]) != 4:
        return None
    try:
        layout.safe_segment(parts[0], "siren")
    except ValueError:
        return None
    if layout.dirty_partition_key(parts[0], int(parts[1])) != key:
        return None
    return parts[0], int(parts[1])


def list_dirty_markers(curated: ObjectStore) -> list[DirtyMarker]:
    markers = []
    for item in curated.list_objects(layout.DIRTY_PREFIX):
        parsed = parse_dirty_key(item["Key"])
        if parsed is not None:
            markers.append(DirtyMarker(parsed[0], parsed[1], item["Key"], item.get("ETag")))
    return markers


def snapshot_markers(curated: ObjectStore, partitions: Iterable[tuple[str, int]]) -> list[DirtyMarker]:
    """The markers of these partitions as they are now (ETag None = no marker, e.g. redelivery)."""
    markers = []
    for siren, annee in sorted(set(partitions)):
        key = layout.dirty_partition_key(siren, annee)
        head = curated.head(key)
        markers.append(DirtyMarker(siren, annee, key, head.get("ETag") if head else None))
    return markers


def partition_failed(marker: DirtyMarker, failures: list[Failure], mode: str) -> bool:
    """Did the publication serving this marker fail? (opsn: the national year; else siren+year)."""
    for failure in failures:
        if failure.annee != marker.annee:
            continue
        if mode == "opsn" or failure.siren == marker.siren:
            return True
    return False


def consume_markers(curated: ObjectStore, markers: list[DirtyMarker], report: PublishReport) -> None:
    """Delete served markers, unless their partition failed or changed again since the snapshot."""
    for marker in markers:
        if marker.etag is None or partition_failed(marker, report.failed, report.mode):
            continue
        head = curated.head(marker.key)
        if head is None or head.get("ETag") != marker.etag:
            continue  # rewritten by a newer normalisation: keep it for the next run
        curated.delete(marker.key)
        report.consumed_markers.append(marker.key)


def collectivite_describer(
    curated: ObjectStore, settings: Any
) -> Callable[[str], CollectiviteInfo | None] | None:
    """The collectivités directory as the publisher needs it; None when it cannot be built."""
    from regate.datagouv.publisher import directory_describer

    try:
        from regate.collectivites.directory import CollectiviteDirectory

        directory, _problems = CollectiviteDirectory.from_store(curated, settings)
    except Exception:  # the CSV's COLL_NOM / COLL_SIRET are enough to publish
        return None
    return directory_describer(directory)


def run_publish(
    curated: ObjectStore,
    client: DatagouvClient,
    options: PublishOptions,
    partitions: Iterable[tuple[str, int]] | None = None,
    clock: Clock | None = None,
    validate: Callable[[bytes], Any] | None = None,
    describe: Callable[[str], CollectiviteInfo | None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> PublishReport:
    """Publish (full reconcile when ``partitions`` is None), consume markers, save the run report.

    A dry run sends no write to the portal, deletes no marker and stores nothing.
    Raises :class:`regate.datagouv.models.AuthError` on a bad key, before any change.
    """
    clock = clock or SystemClock()
    if partitions is None:
        markers = list_dirty_markers(curated)
        dirty = None
    else:
        markers = snapshot_markers(curated, partitions)
        dirty = [(m.siren, m.annee) for m in markers]
    kwargs: dict[str, Any] = {"clock": clock, "describe": describe, "progress": progress}
    if validate is not None:
        kwargs["validate"] = validate
    publisher = Publisher(curated, client, options, **kwargs)
    report = publisher.run(dirty)
    if not options.dry_run:
        consume_markers(curated, markers, report)
        curated.put_if_changed(
            layout.run_report_key("publish"),
            dumps_canonical(report.model_dump(mode="json")),
            content_type="application/json",
        )
    return report
