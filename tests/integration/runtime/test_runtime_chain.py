"""End to end: simulators → capture (pull + push) → normalise → publish through the real handlers, with every
S3 event delivered twice and out of order, ending in exactly the expected SCDL files and portal state."""

from __future__ import annotations

import csv
import io
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from regate.storage import ObjectStore, layout, make_s3_client
from regate_local.runtime.chain import LocalChain
from regate_local.runtime.demo import DEMO_COLLECTIVITES_CSV, demo_settings, push_depot_zips
from regate_local.runtime.environment import create_buckets, export_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@dataclass
class Outcome:
    scdl: dict[str, bytes]
    portal: dict[str, bytes]
    chain_ok: bool
    failures: dict[str, list[str]]
    pastell: Any
    datagouv: Any


def run_chain(moto_endpoint: str, duplicate: bool, shuffle: bool, seed: int, suffix: str) -> Outcome:
    from regate_local.datagouv_sim import DatagouvSimulator
    from regate_local.pastell_sim import PastellSimulator

    with ExitStack() as stack:
        pastell = PastellSimulator()
        pastell_server = stack.enter_context(pastell.serve())
        datagouv = DatagouvSimulator()
        datagouv_server = stack.enter_context(datagouv.serve())
        settings = demo_settings(moto_endpoint, pastell_server.url, datagouv_server.url, 8000).model_copy(
            update={"raw_bucket": f"e2e-raw-{suffix}", "curated_bucket": f"e2e-curated-{suffix}"}
        )
        export_settings(settings)
        client = make_s3_client(settings)
        create_buckets(client, settings)
        raw = ObjectStore(client, settings.raw_bucket)
        curated = ObjectStore(client, settings.curated_bucket)
        curated.put_if_changed(
            layout.CONFIG_COLLECTIVITES_KEY, DEMO_COLLECTIVITES_CSV.read_bytes(), "text/csv"
        )
        chain = LocalChain(
            client,
            settings.raw_bucket,
            settings.curated_bucket,
            duplicate=duplicate,
            shuffle=shuffle,
            seed=seed,
        )
        push_depot_zips(pastell, raw)
        result = chain.run()
        scdl = {k: curated.get_bytes(k) for k in curated.list_keys(layout.SCDL_DELIBERATIONS_PREFIX)}
        portal = {
            f"{dataset['title']}|{resource['title']}": datagouv.file_bytes(resource["id"])
            for dataset in datagouv.datasets.values()
            if not dataset.get("deleted")
            for resource in dataset.get("resources", [])
        }
        return Outcome(
            scdl,
            portal,
            result.ok,
            {s.name: s.failures for s in result.stages if s.failures},
            pastell,
            datagouv,
        )


def open_data_choice(pastell: Any, doc: Any) -> str:
    """The operator's choice as the flux definition labels it ("oui", "non", "ne sais pas"), or ""."""
    code = doc.data.get("publication_open_data", "")
    table = pastell.platform.flux[doc.type].fields.get("publication_open_data", {}).get("value", {})
    return str(table.get(code, "")).strip().lower()


def expected_delib_ids(pastell: Any, siren: str, year: int) -> set[str]:
    """Oracle from the simulator's own state: acknowledged, not cancelled délibérations of that year whose
    open-data choice is "oui", or empty (délibérations are public by default)."""
    entity = next(e for e in pastell.platform.entities.values() if e.siren == siren)
    return {
        doc.data["numero_de_lacte"]
        for doc in pastell.platform.documents.values()
        if doc.id_e == entity.id_e
        and doc.data.get("acte_nature") == "1"
        and doc.passed_through("acquiter-tdt")
        and not doc.passed_through("annuler-tdt")
        and doc.data.get("date_de_lacte", "").startswith(str(year))
        and open_data_choice(pastell, doc) in {"oui", ""}
    }


def rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_duplicated_and_shuffled_events_converge_to_the_expected_state(moto_endpoint: str) -> None:
    reference = run_chain(moto_endpoint, duplicate=False, shuffle=False, seed=0, suffix="inorder")
    assert reference.chain_ok, reference.failures
    chaotic = run_chain(moto_endpoint, duplicate=True, shuffle=True, seed=7, suffix="chaos")
    assert chaotic.chain_ok, chaotic.failures

    # Exactly the same SCDL files and the same portal state, whatever the delivery order.
    assert chaotic.scdl == reference.scdl
    assert chaotic.portal == reference.portal

    # …and that state is the expected one (oracle: the simulator's acts).
    rennes_files = {k: v for k, v in reference.scdl.items() if "/213502388/" in k}
    assert rennes_files, "Rennes has published délibérations in the seed"
    for key, data in rennes_files.items():
        year = int(key.rsplit("/", 1)[1].removesuffix(".csv"))
        assert {r["DELIB_ID"] for r in rows(data)} == expected_delib_ids(reference.pastell, "213502388", year)
        assert all(r["COLL_SIRET"] == "21350238800019" for r in rows(data))

    # What the portal serves is byte-identical to the curated files it was built from.
    published = set(reference.portal.values())
    national = {v for k, v in reference.scdl.items() if "/all/" in k}
    assert national and national <= published
