"""Publication of the SCDL budget files: curated bucket on moto → the data.gouv.fr simulator over HTTP.

Both modes (opsn: national yearly files; collectivite: one dataset per collectivité), both resource kinds
(hosted, remote), schema ``scdl/budget`` 0.8.3, idempotent (a second run makes no write), an invalid file is
never uploaded, the raw TOTEM never leaves the bucket."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest

from regate.clock import FakeClock
from regate.datagouv.client import DatagouvClient
from regate.datagouv.models import AuthError
from regate.datagouv.publisher import PublishOptions
from regate.flux.budgets.convert import convert_document
from regate.flux.budgets.publication import publish_budgets
from regate.flux.budgets.scdl import validate_budget_csv, write_budget_csv
from regate.flux.budgets.totem import read_totem
from regate.storage import ObjectStore, layout
from regate_local.budgets.totem_generator import generate_totem
from regate_local.datagouv_sim import DEMO_API_KEY, DEMO_ORG_SLUG, DatagouvSimulator

pytestmark = pytest.mark.integration

RENNES, RENNES_SIRET = "213502388", "21350238800019"
METRO, METRO_SIRET = "243500139", "24350013900189"
SCHEMA = {"name": "scdl/budget", "version": "0.8.3"}


def budget_csv(siret: str, etape: str = "BP", seed: int = 1, lignes: int = 15, annee: int = 2025) -> bytes:
    out = io.BytesIO()
    generate_totem(out, etape=etape, exercice=annee, lignes=lignes, seed=seed, siret=siret)
    conversion = convert_document(read_totem(out.getvalue()), document_id=f"doc-{seed}")
    data = write_budget_csv(conversion.lignes)
    assert validate_budget_csv(data, strict=True).valid
    return data


@pytest.fixture()
def sim() -> Iterator[tuple[DatagouvSimulator, str]]:
    simulator = DatagouvSimulator()
    with simulator.serve() as server:
        yield simulator, server.url


class Harness:
    def __init__(self, curated: ObjectStore, sim: DatagouvSimulator, url: str) -> None:
        self.curated, self.sim, self.url = curated, sim, url
        self.clock = FakeClock()

    def run(self, mode: str = "opsn", kind: str = "hosted", key: str = DEMO_API_KEY, dry_run: bool = False):
        from regate.datagouv.client import DATAGOUV_RETRY_STATUSES
        from regate.http import RetryingSession, RetryPolicy

        policy = RetryPolicy(max_attempts=3, backoff_base=1.0, retry_statuses=DATAGOUV_RETRY_STATUSES)
        client = DatagouvClient(self.url, key, RetryingSession(policy, clock=self.clock), dry_run=dry_run)
        options = PublishOptions(
            mode=mode,
            resource_kind=kind,
            org=DEMO_ORG_SLUG,
            public_base_url="https://regate.example.org",
            portal_url=self.url,
            dry_run=dry_run,
        )
        return publish_budgets(self.curated, client, options, clock=self.clock)

    def put(self, siren: str, annee: int, data: bytes) -> None:
        national = siren == layout.NATIONAL
        key = layout.scdl_budgets_national_key(annee) if national else layout.scdl_budgets_key(siren, annee)
        self.curated.put_if_changed(key, data, "text/csv; charset=utf-8")

    def ours(self) -> list[dict[str, Any]]:
        return [d for d in self.sim.datasets.values() if d["extras"].get("regate:flux") == "budgets"]

    def writes(self) -> list[tuple[str, str]]:
        return [(c.method, c.path) for c in self.sim.write_calls()]


@pytest.fixture()
def h(curated_store: ObjectStore, sim: tuple[DatagouvSimulator, str]) -> Harness:
    return Harness(curated_store, *sim)


def test_opsn_mode_publishes_national_files_schema_linked_then_nothing(h: Harness) -> None:
    y2024, y2025 = budget_csv(RENNES_SIRET, annee=2024), budget_csv(RENNES_SIRET, seed=2)
    h.put("all", 2024, y2024)
    h.put("all", 2025, y2025)
    h.put(RENNES, 2025, y2025)  # per-SIREN files are not published in opsn mode
    # the raw TOTEM sits in the raw bucket and budget entries in budgets/_documents: never listed here
    h.curated.put_if_changed(layout.budget_document_key(RENNES, 2025, "13", "BudBP"), b"{}")
    report = h.run()
    assert report.failed == [] and report.created == 2 and report.stage == "publish-budgets"

    [dataset] = h.ours()
    assert dataset["organization"]["slug"] == DEMO_ORG_SLUG
    assert dataset["title"].startswith("Budgets des collectivités accompagnées par")
    assert dataset["extras"]["regate:scope"] == "all" and dataset["license"] == "lov2"
    assert {"scdl", "budget"} <= set(dataset["tags"])
    needles = ("BGT_MTPREV", "BGT_MTREAL", "budget primitif", "données personnelles", "schema.data.gouv.fr",
               "/v1/budgets", "synthese", "compte financier unique")  # fmt: skip
    for needle in needles:
        assert needle in dataset["description"], needle
    by_title = {r["title"]: r for r in dataset["resources"]}
    assert sorted(by_title) == ["budgets-2024.csv", "budgets-2025.csv"]
    for annee, data in ((2024, y2024), (2025, y2025)):
        res = by_title[f"budgets-{annee}.csv"]
        assert {k: res["schema"][k] for k in ("name", "version")} == SCHEMA
        assert res["filetype"] == "file" and res["type"] == "main"
        assert h.sim.file_bytes(res["id"]) == data  # byte-identical
        assert "budget primitif" in res["description"]
    # the délibérations state is not touched: each flux has its own
    assert h.curated.get_json(layout.PUBLISH_STATE_KEY) is None
    state = h.curated.get_json(layout.BUDGETS_PUBLISH_STATE_KEY)
    assert state["datasets"]["opsn:all"]["dataset_id"] == dataset["id"]
    assert h.curated.get_json(layout.run_report_key("publish-budgets"))["created"] == 2

    h.sim.reset_log()
    again = h.run()
    assert again.unchanged == 2 and again.created == again.replaced == 0
    assert h.writes() == []

    # a changed file (a new DM in the year): one replace upload, title and schema kept
    h.put("all", 2025, budget_csv(RENNES_SIRET, seed=2) + b"")  # same bytes: still nothing
    h.sim.reset_log()
    assert h.run().unchanged == 2 and h.writes() == []
    changed = budget_csv(RENNES_SIRET, seed=3)
    h.put("all", 2025, changed)
    h.sim.reset_log()
    third = h.run()
    assert third.replaced == 1 and third.unchanged == 1
    [dataset] = h.ours()
    res = {r["title"]: r for r in dataset["resources"]}["budgets-2025.csv"]
    assert h.sim.file_bytes(res["id"]) == changed and res["schema"]["name"] == "scdl/budget"


def test_collectivite_mode_and_remote_resources(h: Harness) -> None:
    rennes, metro = budget_csv(RENNES_SIRET), budget_csv(METRO_SIRET, seed=5)
    h.put(RENNES, 2025, rennes)
    h.put(METRO, 2025, metro)
    h.put("all", 2025, rennes)  # not published in collectivite mode
    report = h.run(mode="collectivite")
    assert report.failed == [] and report.created == 2
    by_scope = {d["extras"]["regate:scope"]: d for d in h.ours()}
    assert sorted(by_scope) == [RENNES, METRO]
    assert by_scope[RENNES]["organization"]["name"] == "Ville de Rennes"  # the key is a member
    assert by_scope[METRO]["organization"]["slug"] == DEMO_ORG_SLUG  # not a member: under the OPSN
    assert "pour son compte" in by_scope[METRO]["description"]
    [res] = by_scope[RENNES]["resources"]
    assert res["title"] == f"budgets-{RENNES}-2025.csv" and h.sim.file_bytes(res["id"]) == rennes
    h.sim.reset_log()
    assert h.run(mode="collectivite").unchanged == 2 and h.writes() == []

    # remote: the hosted resource is recreated as a link to the API route serving the same bytes
    remote = h.run(mode="collectivite", kind="remote")
    assert remote.failed == []
    res = next(d for d in h.ours() if d["extras"]["regate:scope"] == RENNES)["resources"][0]
    assert res["filetype"] == "remote"
    assert res["url"] == f"https://regate.example.org/v1/budgets/{RENNES}/2025.csv"
    assert {k: res["schema"][k] for k in ("name", "version")} == SCHEMA
    h.sim.reset_log()
    assert h.run(mode="collectivite", kind="remote").unchanged == 2 and h.writes() == []


def test_invalid_file_is_never_uploaded_and_bad_key_changes_nothing(h: Harness) -> None:
    good = budget_csv(RENNES_SIRET)
    head, _, body = good.partition(b"\r\n")
    broken = head + b"\r\n" + body.replace(b"budget primitif", b"Budget Primitif", 1)
    h.put(RENNES, 2025, broken)
    with pytest.raises(AuthError):
        h.run(mode="collectivite", key="wrong")
    assert h.writes() == [] and h.ours() == []
    report = h.run(mode="collectivite")
    assert report.created == 0 and len(report.failed) == 1
    assert "BGT_NATDEC" in report.failed[0].reason or "natdec" in report.failed[0].reason.lower()
    assert h.ours() == []  # no empty dataset created for an invalid file
    h.put(RENNES, 2025, good)
    assert h.run(mode="collectivite").created == 1
    # a year whose file disappears loses its resource
    h.curated.delete(layout.scdl_budgets_key(RENNES, 2025))
    assert h.run(mode="collectivite").deleted == 1
    assert [d["resources"] for d in h.ours()] == [[]]


def test_dry_run_writes_nothing(h: Harness) -> None:
    h.put("all", 2025, budget_csv(RENNES_SIRET))
    report = h.run(dry_run=True)
    assert report.planned_calls and h.writes() == []
    assert h.curated.get_json(layout.BUDGETS_PUBLISH_STATE_KEY) is None
    assert not h.curated.exists(layout.run_report_key("publish-budgets"))
