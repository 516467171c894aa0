"""Publication end to end: curated bucket on moto → the data.gouv.fr simulator over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from regate.clock import FakeClock
from regate.datagouv.client import DatagouvClient
from regate.datagouv.models import AuthError
from regate.datagouv.publisher import PublishOptions
from regate.datagouv.run import run_publish
from regate.scdl.validator import load_schema, validate_csv
from regate.storage import ObjectStore, layout
from regate_local.datagouv_sim import DEMO_API_KEY, DEMO_ORG_SLUG, DatagouvSimulator

pytestmark = pytest.mark.integration

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "publish"
RENNES, METRO = "213502388", "243500139"
OPSN_SIRET = "24350013900189"  # any valid SIRET: the simulated OPSN organisation has none
SCHEMA = {"name": "scdl/deliberations", "version": "2.1.5"}


def fixture(name: str) -> bytes:
    return (FIX / name).read_bytes()


@pytest.fixture()
def sim() -> Iterator[tuple[DatagouvSimulator, str]]:
    simulator = DatagouvSimulator()
    with simulator.serve() as server:
        yield simulator, server.url


class Harness:
    """Runs publications against the simulator with a fake clock (retries never really sleep)."""

    def __init__(self, curated: ObjectStore, sim: DatagouvSimulator, url: str) -> None:
        self.curated, self.sim, self.url = curated, sim, url
        self.clock = FakeClock()

    def client(self, key: str = DEMO_API_KEY, dry_run: bool = False) -> DatagouvClient:
        from regate.datagouv.client import DATAGOUV_RETRY_STATUSES
        from regate.http import RetryingSession, RetryPolicy

        policy = RetryPolicy(max_attempts=3, backoff_base=1.0, retry_statuses=DATAGOUV_RETRY_STATUSES)
        return DatagouvClient(self.url, key, RetryingSession(policy, clock=self.clock), dry_run=dry_run)

    def run(self, mode: str = "opsn", kind: str = "hosted", key: str = DEMO_API_KEY, **kw: Any):
        dry_run = kw.pop("dry_run", False)
        options = PublishOptions(
            mode=mode,
            resource_kind=kind,
            org=DEMO_ORG_SLUG,
            public_base_url="https://regate.example.org",
            portal_url=self.url,
            opsn_siret=OPSN_SIRET,
            dry_run=dry_run,
        )
        self.last_client = self.client(key, dry_run)
        return run_publish(self.curated, self.last_client, options, clock=self.clock, **kw)

    def put_national(self, annee: int, name: str) -> None:
        self.curated.put_if_changed(layout.scdl_deliberations_national_key(annee), fixture(name), "text/csv")

    def put_coll(self, siren: str, annee: int, name: str) -> None:
        self.curated.put_if_changed(layout.scdl_deliberations_key(siren, annee), fixture(name), "text/csv")

    def ours(self) -> list[dict[str, Any]]:
        return [d for d in self.sim.datasets.values() if d["extras"].get("regate:flux") == "deliberations"]


@pytest.fixture()
def h(curated_store: ObjectStore, sim: tuple[DatagouvSimulator, str]) -> Harness:
    return Harness(curated_store, *sim)


def writes(h: Harness) -> list[tuple[str, str]]:
    return [(c.method, c.path) for c in h.sim.write_calls()]


# ------------------------------------------------------------------------------------------- opsn mode
def test_publish_opsn_first_publish_creates_everything(h: Harness) -> None:
    h.put_national(2023, "all-2023.csv")
    h.put_national(2024, "all-2024.csv")
    report = h.run()
    assert report.failed == [] and report.created == 2

    [dataset] = h.ours()
    assert dataset["organization"]["slug"] == DEMO_ORG_SLUG
    assert dataset["license"] == "lov2" and dataset["frequency"] == "daily"
    assert {"scdl", "deliberations"} <= set(dataset["tags"])
    assert dataset["private"] is False and dataset["spatial"]["zones"] == ["country:fr"]
    assert dataset["extras"]["regate:scope"] == "all"
    assert dataset["title"].startswith("Délibérations des collectivités")
    for needle in (
        "L. 312-1-1",
        "République numérique",
        "Quotidienne",
        "schema.data.gouv.fr",
        "/v1/deliberations",
    ):
        assert needle in dataset["description"], needle

    by_title = {r["title"]: r for r in dataset["resources"]}
    assert sorted(by_title) == ["deliberations-2023.csv", "deliberations-2024.csv"]
    for annee in (2023, 2024):
        res = by_title[f"deliberations-{annee}.csv"]
        assert res["format"] == "csv" and res["mime"] == "text/csv" and res["type"] == "main"
        assert res["filetype"] == "file"
        assert {k: res["schema"][k] for k in ("name", "version")} == SCHEMA
        assert h.sim.file_bytes(res["id"]) == fixture(f"all-{annee}.csv")  # byte-identical

    state = h.curated.get_json(layout.PUBLISH_STATE_KEY)
    ds_state = state["datasets"]["opsn:all"]
    assert ds_state["dataset_id"] == dataset["id"]
    assert {a: r["resource_id"] for a, r in ds_state["resources"].items()} == {
        "2023": by_title["deliberations-2023.csv"]["id"],
        "2024": by_title["deliberations-2024.csv"]["id"],
    }
    saved = h.curated.get_json(layout.run_report_key("publish"))
    assert saved["stage"] == "publish" and saved["created"] == 2 and saved["failed"] == []
    assert {"started_at", "finished_at", "replaced", "unchanged", "deleted", "catalog"} <= set(saved)


def test_publish_opsn_second_run_without_change_makes_no_write(h: Harness) -> None:
    h.put_national(2023, "all-2023.csv")
    h.put_national(2024, "all-2024.csv")
    h.run()
    catalog_versions = len(h.curated.list_versions(layout.CATALOG_JSONLD_KEY))
    state_versions = len(h.curated.list_versions(layout.PUBLISH_STATE_KEY))
    h.sim.reset_log()
    report = h.run()
    assert writes(h) == []
    assert report.unchanged == 2 and report.created == report.replaced == 0
    assert len(h.curated.list_versions(layout.CATALOG_JSONLD_KEY)) == catalog_versions
    assert len(h.curated.list_versions(layout.PUBLISH_STATE_KEY)) == state_versions


def test_publish_changed_file_is_one_replace_upload_with_title_and_schema_kept(h: Harness) -> None:
    h.put_national(2023, "all-2023.csv")
    h.put_national(2024, "all-2024.csv")
    h.run()
    [dataset] = h.ours()
    rid = next(r["id"] for r in dataset["resources"] if r["title"] == "deliberations-2024.csv")
    h.put_national(2024, "all-2024-v2.csv")
    h.sim.reset_log()
    report = h.run()
    assert report.replaced == 1 and report.unchanged == 1
    uploads = [w for w in writes(h) if w[1].endswith("/upload/")]
    assert uploads == [("POST", f"/api/1/datasets/{dataset['id']}/resources/{rid}/upload/")]
    [dataset] = h.ours()
    res = next(r for r in dataset["resources"] if r["id"] == rid)
    assert res["title"] == "deliberations-2024.csv"
    assert {k: res["schema"][k] for k in ("name", "version")} == SCHEMA
    assert "2024" in res["description"]
    assert h.sim.file_bytes(rid) == fixture("all-2024-v2.csv")


def test_publish_restores_title_after_portal_renames(h: Harness) -> None:
    """A replace resets the title to the file name; a hand edit changes it: the run puts it back."""
    h.put_national(2024, "all-2024.csv")
    h.run()
    [dataset] = h.ours()
    rid = dataset["resources"][0]["id"]
    h.client().update_resource(dataset["id"], rid, {"title": "renamed by hand", "description": "x"})
    h.sim.reset_log()
    h.run()
    assert writes(h) == [("PUT", f"/api/1/datasets/{dataset['id']}/resources/{rid}/")]
    [dataset] = h.ours()
    assert dataset["resources"][0]["title"] == "deliberations-2024.csv"


def test_publish_waits_out_429_retry_after(h: Harness) -> None:
    h.put_national(2024, "all-2024.csv")
    h.sim.inject_fault(429, path_regex=r"/upload/$", method="POST", headers={"Retry-After": "17"})
    report = h.run()
    assert report.failed == [] and report.created == 1
    assert 17.0 in h.clock.sleeps


def test_publish_502_on_one_resource_is_reported_and_retried_next_run(h: Harness) -> None:
    h.put_national(2023, "all-2023.csv")
    h.put_national(2024, "all-2024.csv")
    h.run()
    h.put_national(2023, "all-2024-v2.csv")  # both years change
    h.put_national(2024, "all-2024-v2.csv")
    [dataset] = h.ours()
    rid_2023 = next(r["id"] for r in dataset["resources"] if r["title"] == "deliberations-2023.csv")
    h.sim.inject_fault(502, path_regex=f"/resources/{rid_2023}/upload/", method="POST", times=10)
    report = h.run()
    assert [(f.siren, f.annee) for f in report.failed] == [(None, 2023)]
    assert "502" in report.failed[0].reason
    assert report.replaced == 1  # 2024 went through
    h.sim.clear_faults()
    report = h.run()
    assert report.failed == [] and report.replaced == 1 and report.unchanged == 1
    assert h.sim.file_bytes(rid_2023) == fixture("all-2024-v2.csv")


def test_publish_bad_key_stops_and_changes_nothing(h: Harness) -> None:
    h.put_national(2024, "all-2024.csv")
    with pytest.raises(AuthError, match="Invalid API token"):
        h.run(key="not-a-key")
    assert writes(h) == []
    assert h.ours() == []
    assert h.curated.get_json(layout.PUBLISH_STATE_KEY) is None
    assert h.curated.get_json(layout.run_report_key("publish")) is None


def test_publish_invalid_csv_is_never_published(h: Harness) -> None:
    h.put_national(2023, "all-2023.csv")
    h.put_national(2024, "213502388-2024-invalid.csv")
    report = h.run()
    assert [(f.siren, f.annee) for f in report.failed] == [(None, 2024)]
    assert "invalid SCDL" in report.failed[0].reason and "DELIB_DATE" in report.failed[0].reason
    [dataset] = h.ours()
    assert [r["title"] for r in dataset["resources"]] == ["deliberations-2023.csv"]


def test_publish_year_without_rows_loses_its_resource(h: Harness) -> None:
    h.put_national(2022, "all-2023.csv")
    h.put_national(2023, "all-2023.csv")
    h.put_national(2024, "all-2024.csv")
    h.run()
    h.put_national(2024, "header-only.csv")  # rows gone
    h.curated.delete(layout.scdl_deliberations_national_key(2022))  # file gone
    report = h.run()
    assert report.deleted == 2
    [dataset] = h.ours()
    assert [r["title"] for r in dataset["resources"]] == ["deliberations-2023.csv"]
    state = h.curated.get_json(layout.PUBLISH_STATE_KEY)
    assert sorted(state["datasets"]["opsn:all"]["resources"]) == ["2023"]


def test_publish_finds_dataset_by_marker_when_state_is_lost(h: Harness) -> None:
    h.put_national(2024, "all-2024.csv")
    h.run()
    h.curated.delete(layout.PUBLISH_STATE_KEY)
    h.sim.reset_log()
    report = h.run()
    assert writes(h) == [] and report.unchanged == 1
    assert len(h.ours()) == 1


def test_publish_dry_run_makes_no_write(h: Harness) -> None:
    h.put_national(2024, "all-2024.csv")
    report = h.run(dry_run=True)
    assert writes(h) == [] and h.ours() == []
    assert [c.split()[0] for c in report.planned_calls] == ["POST", "POST", "PUT"]
    assert h.curated.get_json(layout.PUBLISH_STATE_KEY) is None
    assert not h.curated.exists(layout.CATALOG_JSONLD_KEY)


# ----------------------------------------------------------------------------------- collectivité mode
def test_publish_collectivite_mode_uses_own_org_or_names_it_under_opsn(h: Harness) -> None:
    h.put_coll(RENNES, 2023, "213502388-2023.csv")
    h.put_coll(RENNES, 2024, "213502388-2024.csv")
    h.put_coll(METRO, 2024, "243500139-2024.csv")
    report = h.run(mode="collectivite")
    assert report.failed == [] and report.created == 3
    by_scope = {d["extras"]["regate:scope"]: d for d in h.ours()}
    rennes, metro = by_scope[RENNES], by_scope[METRO]
    assert rennes["organization"]["name"] == "Ville de Rennes"  # the key is a member
    assert "Ville de Rennes" in rennes["title"]
    # Rennes Métropole's organisation exists but the key is not a member of it: OPSN, named.
    assert metro["organization"]["slug"] == DEMO_ORG_SLUG
    assert "Rennes Métropole" in metro["title"] and "pour son compte" in metro["description"]
    titles = sorted(r["title"] for r in rennes["resources"])
    assert titles == ["deliberations-213502388-2023.csv", "deliberations-213502388-2024.csv"]
    res = metro["resources"][0]
    assert h.sim.file_bytes(res["id"]) == fixture("243500139-2024.csv")
    h.sim.reset_log()
    assert h.run(mode="collectivite").unchanged == 3
    assert writes(h) == []


def test_publish_collectivite_catalog_lists_every_resource(h: Harness) -> None:
    h.put_coll(RENNES, 2023, "213502388-2023.csv")
    h.put_coll(RENNES, 2024, "213502388-2024.csv")
    h.put_coll(METRO, 2024, "243500139-2024.csv")
    report = h.run(mode="collectivite")
    assert report.catalog["resources"] == 3 and report.catalog.get("csv_valid") is True
    doc = json.loads(h.curated.get_bytes(layout.CATALOG_JSONLD_KEY))
    ids = {d["dct:identifier"] for ds in doc["dcat:dataset"] for d in ds["dcat:distribution"]}
    published = {r["id"] for d in h.ours() for r in d["resources"]}
    assert ids == published
    csv_bytes = h.curated.get_bytes(layout.CATALOG_CSV_KEY)
    assert validate_csv(csv_bytes, load_schema("scdl/catalogue", "0.1.3")).valid


# --------------------------------------------------------------------------------------- remote mode
def test_publish_remote_resources_point_at_the_api(h: Harness) -> None:
    h.put_coll(RENNES, 2024, "213502388-2024.csv")
    h.put_national(2024, "all-2024.csv")
    report = h.run(mode="collectivite", kind="remote")
    assert report.created == 1
    [dataset] = h.ours()
    [res] = dataset["resources"]
    assert res["filetype"] == "remote"
    assert res["url"] == "https://regate.example.org/v1/deliberations/213502388/2024.csv"
    assert res["title"] == "deliberations-213502388-2024.csv"
    assert (res["format"], res["mime"], res["type"]) == ("csv", "text/csv", "main")
    assert {k: res["schema"][k] for k in ("name", "version")} == SCHEMA
    h.sim.reset_log()
    assert h.run(mode="collectivite", kind="remote").unchanged == 1
    assert writes(h) == []
    h.put_coll(RENNES, 2024, "213502388-2024-v2.csv")
    h.sim.reset_log()
    assert h.run(mode="collectivite", kind="remote").replaced == 1
    assert writes(h) == [("PUT", f"/api/1/datasets/{dataset['id']}/resources/{res['id']}/")]


def test_publish_remote_national_url(h: Harness) -> None:
    h.put_national(2024, "all-2024.csv")
    h.run(kind="remote")
    [dataset] = h.ours()
    assert dataset["resources"][0]["url"] == "https://regate.example.org/v1/deliberations/all/2024.csv"


# ------------------------------------------------------------------------------------ dirty markers
def test_publish_consumes_dirty_markers_except_failed_ones(h: Harness) -> None:
    h.put_coll(RENNES, 2024, "213502388-2024.csv")
    h.put_coll(METRO, 2024, "213502388-2024-invalid.csv")
    for siren in (RENNES, METRO):
        h.curated.put_if_changed(layout.dirty_partition_key(siren, 2024), b"", "text/plain")
    report = h.run(mode="collectivite", partitions=[(RENNES, 2024), (METRO, 2024)])
    assert [(f.siren, f.annee) for f in report.failed] == [(METRO, 2024)]
    assert report.consumed_markers == [layout.dirty_partition_key(RENNES, 2024)]
    assert not h.curated.exists(layout.dirty_partition_key(RENNES, 2024))
    assert h.curated.exists(layout.dirty_partition_key(METRO, 2024))  # retried next run


def test_publish_partial_run_only_touches_dirty_partitions(h: Harness) -> None:
    h.put_coll(RENNES, 2023, "213502388-2023.csv")
    h.put_coll(RENNES, 2024, "213502388-2024.csv")
    h.run(mode="collectivite")
    h.put_coll(RENNES, 2023, "213502388-2024-v2.csv")
    h.put_coll(RENNES, 2024, "213502388-2024-v2.csv")
    report = h.run(mode="collectivite", partitions=[(RENNES, 2024)])
    assert report.replaced == 1 and report.unchanged == 0  # 2023 waits for its own marker or the schedule
    assert h.run(mode="collectivite").replaced == 1


# ------------------------------------------------------------------------------- chunks and state
def test_publish_chunked_upload_is_byte_identical(h: Harness) -> None:
    h.put_national(2024, "all-2024-v2.csv")  # 1212 bytes → 2 chunks of 1024
    client = h.client()
    client.chunk_threshold = client.chunk_size = 1024
    options = PublishOptions(org=DEMO_ORG_SLUG, portal_url=h.url, opsn_siret=OPSN_SIRET)
    report = run_publish(h.curated, client, options, clock=h.clock)
    assert report.created == 1
    [dataset] = h.ours()
    rid = dataset["resources"][0]["id"]
    assert h.sim.file_bytes(rid) == fixture("all-2024-v2.csv")
    parts = [c for c in h.sim.write_calls() if c.path.endswith("/upload/")]
    assert len(parts) == 3  # two parts + the assembling call


def test_publish_state_merges_concurrent_writers(h: Harness) -> None:
    from regate.datagouv.state import DatasetState, load_state, save_state

    def entry(scope: str) -> DatasetState:
        return DatasetState(
            scope=scope, dataset_id=scope * 3, title=scope, first_published_at="t", modified_at="t"
        )

    state, etag = load_state(h.curated)
    save_state(h.curated, state.model_copy(update={"datasets": {"c:a": entry("a")}}), etag, {"c:a"})
    mine, my_etag = load_state(h.curated)
    theirs, their_etag = load_state(h.curated)
    theirs.datasets["c:b"] = entry("b")
    save_state(h.curated, theirs, their_etag, {"c:b"})  # the other writer wins the race
    mine.datasets["c:c"] = entry("c")
    save_state(h.curated, mine, my_etag, {"c:c"})  # conflict → re-read and merge
    final, _ = load_state(h.curated)
    assert sorted(final.datasets) == ["c:a", "c:b", "c:c"]


def test_publish_corrupt_state_stops_before_any_write(h: Harness) -> None:
    from regate.datagouv.state import StateCorrupt

    h.put_national(2024, "all-2024.csv")
    h.curated.put_if_changed(layout.PUBLISH_STATE_KEY, b"{not json", "application/json")
    with pytest.raises(StateCorrupt):
        h.run()
    assert writes(h) == []


def test_publish_spatial_coverage_from_the_directory(h: Harness) -> None:
    from regate.datagouv.publisher import CollectiviteInfo

    def describe(siren: str) -> CollectiviteInfo | None:
        kinds = {RENNES: ("commune", "35238"), METRO: ("epci", None)}
        kind, insee = kinds[siren]
        return CollectiviteInfo(siren=siren, nom="(directory)", kind=kind, code_insee=insee)

    h.put_coll(RENNES, 2024, "213502388-2024.csv")
    h.put_coll(METRO, 2024, "243500139-2024.csv")
    h.run(mode="collectivite", describe=describe)
    by_scope = {d["extras"]["regate:scope"]: d for d in h.ours()}
    assert by_scope[RENNES]["spatial"]["zones"] == ["fr:commune:35238"]
    assert by_scope[RENNES]["spatial"]["granularity"] == "fr:commune"
    assert by_scope[METRO]["spatial"] == {**by_scope[METRO]["spatial"], "zones": [f"fr:epci:{METRO}"]}
    assert "Ville de Rennes" in by_scope[RENNES]["title"]  # the file's COLL_NOM wins over the directory
    state = h.curated.get_json(layout.PUBLISH_STATE_KEY)
    assert state["datasets"][f"collectivite:{RENNES}"]["coll_kind"] == "commune"
    csv_rows = h.curated.get_bytes(layout.CATALOG_CSV_KEY).decode().splitlines()
    assert any(",Communale," in row for row in csv_rows) and any(
        ",Intercommunale," in row for row in csv_rows
    )
