"""The whole marchés chain on moto: Atexo simulator → capture → normalise → publish (data.gouv.fr simulator)
→ API. Second run a no-op everywhere; files valid; invalid records quarantined with reasons."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from regate.api.app import build_services, create_app
from regate.api.collectivites import EmptyDirectory
from regate.clock import FakeClock
from regate.datagouv.client import DATAGOUV_RETRY_STATUSES, DatagouvClient
from regate.datagouv.models import AuthError
from regate.datagouv.publisher import PublishOptions
from regate.flux.marches import PUBLISHED_SCHEMA, batch
from regate.flux.marches.publication import publish_marches
from regate.flux.marches.writer import check_file
from regate.http import RetryingSession, RetryPolicy
from regate.profil_acheteur.capture import MarchesCaptureOptions, capture_marches, run_date
from regate.storage import layout
from regate_local.atexo_sim import Defects
from regate_local.datagouv_sim import DEMO_API_KEY, DEMO_ORG_SLUG, DatagouvSimulator
from regate_local.serve.server import http_api_event

pytestmark = pytest.mark.integration
BUYERS = ("213502388", "212900195", "243500139")
RENNES = "21350238800019"


@pytest.fixture()
def portal() -> Iterator[tuple[DatagouvSimulator, str]]:
    simulator = DatagouvSimulator(clock=FakeClock(datetime(2025, 2, 14, 9, tzinfo=UTC)))
    with simulator.serve() as server:
        yield simulator, server.url


class Chain:
    def __init__(
        self, atexo_client, raw, curated, clock, portal_url: str, settings, s3_client, cache
    ) -> None:
        self.atexo_client, self.raw, self.curated, self.clock = atexo_client, raw, curated, clock
        self.portal_url = portal_url
        self.options = PublishOptions(org=DEMO_ORG_SLUG, public_base_url="https://regate.example.org")
        services = build_services(
            settings.model_copy(update={"api_cache_dir": str(cache)}),
            s3_client,
            directory=EmptyDirectory(),
            list_ttl_seconds=0,
        )
        self.app = create_app(services)

    def datagouv(self, key: str = DEMO_API_KEY) -> DatagouvClient:
        policy = RetryPolicy(max_attempts=3, backoff_base=0.01, retry_statuses=DATAGOUV_RETRY_STATUSES)
        return DatagouvClient(self.portal_url, key, RetryingSession(policy, clock=self.clock))

    def run(self, key: str = DEMO_API_KEY) -> tuple[Any, Any, Any, Any]:
        capture = capture_marches(
            self.atexo_client,
            self.raw,
            MarchesCaptureOptions(plateforme="megalis", sirens=BUYERS),
            self.clock,
        )
        normalized = batch.build(self.raw, run_date(self.clock))
        written = batch.write_outputs(self.curated, normalized)
        published = publish_marches(
            self.curated, self.datagouv(key), self.options, run_date(self.clock), clock=self.clock
        )
        return capture, normalized, written, published

    def run_dry(self) -> tuple[Any, Any, Any, Any]:
        capture = capture_marches(
            self.atexo_client,
            self.raw,
            MarchesCaptureOptions(plateforme="megalis", sirens=BUYERS),
            self.clock,
        )
        normalized = batch.build(self.raw, run_date(self.clock))
        written = batch.write_outputs(self.curated, normalized)
        client = self.datagouv()
        client.dry_run = True
        return (
            capture,
            normalized,
            written,
            publish_marches(self.curated, client, self.options, run_date(self.clock)),
        )

    def get(self, target: str) -> dict[str, Any]:
        return self.app.resolve(http_api_event("GET", target, {}), {})


@pytest.fixture()
def chain(
    sim_factory, client_factory, raw_store, curated_store, clock, portal, settings, s3_client, tmp_path
):
    clock.current = datetime(2025, 2, 14, 8, tzinfo=UTC)
    atexo, url = sim_factory(defects=Defects(invalid=0.15, duplicates=True))
    c = Chain(client_factory(url), raw_store, curated_store, clock, portal[1], settings, s3_client, tmp_path)
    c.atexo = atexo  # type: ignore[attr-defined]
    c.portal = portal[0]  # type: ignore[attr-defined]
    return c


def _ours(portal: DatagouvSimulator) -> list[dict[str, Any]]:
    return [d for d in portal.datasets.values() if d["extras"].get("regate:flux") == "marches"]


def test_capture_normalise_publish_serve_then_noop(chain) -> None:
    capture, normalized, _written, report = chain.run()
    assert capture.ok and report.ok, report.failed
    today = run_date(chain.clock)

    # normalised files valid; invalid records quarantined with machine-readable reasons
    buyer_keys = [
        k
        for k in chain.curated.list_keys(layout.DECP_PREFIX)
        if layout.parse_decp_key(k)[0] != layout.NATIONAL
    ]
    assert buyer_keys and all(check_file(chain.curated.get_bytes(k), today) == [] for k in buyer_keys)
    assert normalized.quarantined
    entries = [
        e
        for k in chain.curated.list_keys(layout.DECP_QUARANTINE_PREFIX)
        for e in chain.curated.get_json(k)["quarantaine"]
    ]
    assert len(entries) == len(normalized.quarantined)
    assert all(e["raisons"] and all(r["code"] and r["message"] for r in e["raisons"]) for e in entries)

    # published: one dataset, one hosted .json resource per buyer-year, schema-linked, same bytes
    [dataset] = _ours(chain.portal)
    assert dataset["organization"]["slug"] == DEMO_ORG_SLUG and dataset["license"] == "lov2"
    assert dataset["title"].startswith("Données essentielles des marchés publics")
    assert "code de la commande publique" in dataset["description"]
    resources = dataset["resources"]
    assert report.created == len(resources) == len(buyer_keys)
    by_key = {r["extras"]["regate:fichier"]: r for r in resources}
    assert set(by_key) == set(buyer_keys)
    for key, resource in by_key.items():
        assert resource["url"].endswith(".json") and resource["filetype"] == "file"
        assert resource["format"] == "json" and resource["mime"] == "application/json"
        assert resource["schema"]["name"] == PUBLISHED_SCHEMA["name"]
        assert resource["schema"]["version"] == PUBLISHED_SCHEMA["version"]
        assert chain.portal.file_bytes(resource["id"]) == chain.curated.get_bytes(key)
        assert "Contrats notifiés en" in resource["description"] and "marché" in resource["description"]

    # served: the API file is the published file, byte for byte; the listing counts what is published
    response = chain.get(f"/v1/marches/{RENNES}/2024.json")
    assert response["body"].encode() == chain.portal.file_bytes(by_key[layout.decp_key(RENNES, 2024)]["id"])
    listing = json.loads(chain.get("/v1/marches?limit=1")["body"])
    assert listing["total"] == len(normalized.published)

    # second run, same day: nothing captured, nothing written, no call that writes to the portal
    portal_writes = len(chain.portal.write_calls())
    curated_state = {k: chain.curated.head(k)["ETag"] for k in chain.curated.list_keys("")}
    capture2, _n2, written2, report2 = chain.run()
    assert capture2.count("captured") == 0 and written2.written == [] and written2.deleted == []
    assert report2.ok and report2.writes == 0 and report2.unchanged == len(buyer_keys)
    assert report2.created == report2.replaced == report2.deleted == 0
    assert len(chain.portal.write_calls()) == portal_writes
    after = {k: chain.curated.head(k)["ETag"] for k in chain.curated.list_keys("")}
    changed = {k for k in after if after[k] != curated_state.get(k)}
    assert changed <= {layout.run_report_key(layout.MARCHES_PUBLISH_STAGE)}


@pytest.mark.parametrize("chain", [Defects()], indirect=True)
def test_a_modification_replaces_one_resource(chain) -> None:
    _, normalized, _, _ = chain.run()
    target = next(
        r
        for r in normalized.published
        if r.kind == "marche"
        and r.record["acheteur"]["id"] == RENNES
        and r.record["dateNotification"] >= "2024-12-20"  # inside the capture's overlap
    )
    key = layout.decp_key(RENNES, int(target.record["dateNotification"][:4]))
    chain.clock.current += timedelta(days=3)
    chain.atexo.add_modification(
        target.record["id"], run_date(chain.clock) - timedelta(days=1), run_date(chain.clock), montant=9.9e5
    )
    _, _, written, report = chain.run()
    assert key in written.written
    assert report.ok and report.replaced == 1 and report.created == 0 and report.deleted == 0
    [dataset] = _ours(chain.portal)
    resource = next(r for r in dataset["resources"] if r["extras"]["regate:fichier"] == key)
    assert chain.portal.file_bytes(resource["id"]) == chain.curated.get_bytes(key)
    rows = json.loads(chain.get(f"/v1/marches?acheteur={RENNES}&limit=1000")["body"])["data"]
    updated = next(r for r in rows if r["id"] == target.record["id"])
    assert updated["montant_actuel"] == 9.9e5 and updated["nombre_modifications"] >= 1


def test_an_invalid_file_is_never_uploaded_and_a_bad_key_writes_nothing(chain) -> None:
    chain.run()
    key = layout.decp_key(RENNES, 2024)
    document = json.loads(chain.curated.get_bytes(key))
    document["marches"]["marche"][0]["montant"] = "beaucoup"  # hand-edited curated file
    chain.curated.put_if_changed(key, json.dumps(document).encode(), "application/json")
    before = len(chain.portal.write_calls())
    options = chain.options
    report = publish_marches(
        chain.curated, chain.datagouv(), options, run_date(chain.clock), clock=chain.clock
    )
    assert [f["fichier"] for f in report.failed] == [key] and "invalide" in report.failed[0]["raison"]
    assert report.replaced == 0 and len(chain.portal.write_calls()) == before, chain.portal.write_calls()[
        before:
    ]
    with pytest.raises(AuthError):
        publish_marches(chain.curated, chain.datagouv("bad-key"), options, run_date(chain.clock))
    assert len(chain.portal.write_calls()) == before


def test_dry_run_plans_the_calls_and_writes_nothing(chain) -> None:
    chain.options = PublishOptions(
        org=DEMO_ORG_SLUG, public_base_url="https://regate.example.org", dry_run=True
    )
    _capture, normalized, _, report = chain.run_dry()
    files = len(normalized.by_buyer_year())
    assert report.ok and report.dry_run and report.created == files
    assert report.writes == 1 + 2 * files  # dataset, then one upload + one metadata PUT per buyer-year
    assert chain.portal.write_calls() == [] and _ours(chain.portal) == []
    assert chain.curated.get_json(layout.MARCHES_PUBLISH_STATE_KEY) is None


def test_mreport_marches_rows_follow_the_published_contracts(chain) -> None:
    chain.run()
    entities = json.loads(chain.get("/v1/mreport/marches")["body"])["data"]
    assert {r["dataid"] for r in entities} >= {RENNES[:9]}
    assert all(r["dataviz"] == "marches_title" for r in entities)

    rows = json.loads(chain.get(f"/v1/mreport/marches?dataid={RENNES[:9]}")["body"])["data"]
    by = {}
    for row in rows:
        by.setdefault(row["dataviz"], []).append(row)
    assert set(row["dataid"] for row in rows) == {RENNES[:9]}
    listing = json.loads(chain.get(f"/v1/marches?acheteur={RENNES[:9]}&limit=1")["body"])
    assert by["marches_nb_total"][0]["data"] == str(listing["total"]) and listing["total"] > 0
    assert len(by["marches_par_mois"]) == 24  # previous and current calendar year, zero-filled
    assert sum(int(r["data"]) for r in by["marches_par_procedure"]) == listing["total"]
    assert sum(int(r["data"]) for r in by["marches_par_cpv"]) == listing["total"]
    assert 0 < len(by["marches_derniers"]) <= 40
    links = [r["data"] for r in by["marches_fichiers"] if r["dataset"] == "2"]
    assert f"/v1/marches/{RENNES}/2024.json" in " ".join(links)
    for link in links:  # every file the report links to is served
        path = urlsplit(link.split('href="')[1].split('"')[0]).path
        assert chain.get(path)["statusCode"] == 200, path

    csv_body = chain.get(f"/v1/mreport/marches?dataid={RENNES[:9]}&format=csv")["body"]
    assert csv_body.startswith("dataid,dataviz,dataset,order,label,data\n")
    assert chain.get("/v1/mreport/marches?dataid=999999999")["statusCode"] == 200
    assert json.loads(chain.get("/v1/mreport/marches?dataid=999999999")["body"])["data"] == []
    assert chain.get("/v1/mreport/inconnu")["statusCode"] == 404
    assert "marches" in chain.get("/v1/mreport/inconnu")["body"]
