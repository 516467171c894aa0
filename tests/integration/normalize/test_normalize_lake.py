"""The compacted read datasets (public/lake/) equal the union of the public partitions after any sequence of
changes — publish, correct, withdraw, takedown, back on, new year — on the CLI path, the event path and the
debounced event path; no withheld act ever reaches them (checked after every step, before the debounced
step ran too)."""

from __future__ import annotations

import io
import random
from collections import Counter
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import RENNES_SIRET, s3_event, sqs_of  # type: ignore[import-not-found]

from regate.clock import FakeClock
from regate.normalize.decision import PUBLIC_DECISIONS
from regate.normalize.lake import SORT_KEYS, counts, national_counts
from regate.normalize.run import run_normalize
from regate.storage import layout

pytestmark = pytest.mark.integration
RENNES = "213502388"
HEADER = "siren,siret,nom,open_data,documents,annexes\n"


def _read(store: Any, key: str) -> pa.Table:
    return pq.read_table(io.BytesIO(store.get_bytes(key)))


def _rows(table: pa.Table) -> list[tuple]:
    names = table.schema.names
    return sorted(tuple(row[n] for n in names) for row in table.to_pylist())


def partitions_union(store: Any) -> dict[int, pa.Table]:
    by_year: dict[int, list[pa.Table]] = {}
    for key in store.list_keys(layout.PUBLIC_ACTES_PARQUET_PREFIX):
        parsed = layout.parse_partition_key(key)
        if parsed:
            by_year.setdefault(parsed[1], []).append(_read(store, key).replace_schema_metadata(None))
    return {y: pa.concat_tables(t) for y, t in by_year.items()}


def withheld_ids(store: Any) -> set[str]:
    """acte_id of every act the internal dataset holds with a non-public decision."""
    found = set()
    for key in store.list_keys(layout.ACTES_PARQUET_PREFIX):
        for row in _read(store, key).select(["acte_id", "decision"]).to_pylist():
            if row["decision"] not in PUBLIC_DECISIONS:
                found.add(row["acte_id"])
    return found


def lake_tables(store: Any) -> dict[int, pa.Table]:
    out = {}
    for key in store.list_keys(layout.LAKE_PREFIX):
        parsed = layout.parse_lake_key(key)
        if parsed and parsed[0] == "actes":
            out[parsed[1]] = _read(store, key).replace_schema_metadata(None)
    return out


def check_private(store: Any) -> None:
    """Whatever the lake's freshness: every act in it is public now, none is withheld."""
    public = {y: set(t["acte_id"].to_pylist()) for y, t in partitions_union(store).items()}
    everywhere = set().union(*public.values()) if public else set()
    withheld = withheld_ids(store)
    for annee, table in lake_tables(store).items():
        ids = set(table["acte_id"].to_pylist())
        assert not ids & withheld, annee
        assert ids <= everywhere, annee
        assert set(table["decision"].to_pylist()) <= PUBLIC_DECISIONS


def check_equal(store: Any) -> None:
    """After the read step: the lake is exactly the union, sorted, with matching counts and manifest."""
    union, lake = partitions_union(store), lake_tables(store)
    assert sorted(lake) == sorted(union)
    manifest = store.get_json(layout.LAKE_MANIFEST_KEY)
    assert sorted(int(y) for y in manifest["annees"]) == sorted(union)
    for annee, table in union.items():
        compacted = lake[annee]
        assert compacted.schema.names == table.schema.names
        assert _rows(compacted) == _rows(table)
        order = compacted.sort_by(list(SORT_KEYS))
        assert order["acte_id"].to_pylist() == compacted["acte_id"].to_pylist()
        comptes = _read(store, layout.lake_key("comptes", annee))
        assert comptes.to_pylist() == counts(compacted).to_pylist()
        assert sum(comptes["nombre"].to_pylist()) == table.num_rows
        nationaux = _read(store, layout.lake_key("comptes_nationaux", annee))
        assert nationaux.to_pylist() == national_counts(comptes).to_pylist()
        assert sum(nationaux["nombre"].to_pylist()) == table.num_rows
        by_siren = Counter(table["siren"].to_pylist())
        summed: Counter[str] = Counter()
        for row in comptes.select(["siren", "nombre"]).to_pylist():
            summed[row["siren"]] += row["nombre"]
        assert summed == by_siren
        entry = manifest["annees"][f"{annee:04d}"]
        assert entry["actes"]["etag"] == store.head(layout.lake_key("actes", annee))["ETag"].strip('"')
    check_private(store)


def config(store: Any, open_data: str = "", documents: str = "") -> str:
    row = f"{RENNES},{RENNES_SIRET},Ville de Rennes,{open_data},{documents},\n"
    store.put_if_changed(layout.CONFIG_COLLECTIVITES_KEY, (HEADER + row).encode())
    return layout.CONFIG_COLLECTIVITES_KEY


def handle(evt: Any, settings: Any, s3_client: Any) -> Any:
    from normalize_handler import handle as real_handle  # functions/normalize on pythonpath

    return real_handle(evt, None, settings, FakeClock(), s3_client=s3_client)


@pytest.mark.parametrize("path,seed", [("cli", 1), ("events", 2), ("debounced", 3)])
def test_lake_equals_union_of_partitions_after_any_sequence(
    path, seed, seeder, raw_store, curated_store, settings
) -> None:
    rng = random.Random(seed)
    if path == "debounced":
        settings = settings.model_copy(
            update={"lake_debounce_seconds": 3600.0, "lake_max_delay_seconds": 7200.0}
        )
    client = curated_store.client
    config(curated_store)
    acts: dict[str, dict[str, str]] = {}  # id_d → data
    years = [2023]
    counter = 0
    seen_years: set[int] = set()
    saw_withheld = False

    def put(id_d: str) -> list[Any]:
        seeder.put("pull_deliberation.json", id_d=id_d, data=acts[id_d])
        return [s3_event(raw_store, layout.document_detail_key("12", id_d))]

    # every kind of change at least once, in a random order after three first acts
    ops = ["publish", "new_year", "correct", "withdraw", "private", "takedown", "back", "new_year", "private"]
    ops += [rng.choice(ops) for _ in range(3)]
    rng.shuffle(ops)
    for step, op in enumerate(["publish"] * 3 + ops):
        events: list[Any] = []
        if op in ("publish", "new_year"):
            counter += 1
            if op == "new_year":
                years.append(years[-1] + 1)
            annee = years[-1] if op == "new_year" else rng.choice(years)
            id_d = f"Act{seed}x{counter:03d}"
            month, day, numero = rng.randint(1, 9), rng.randint(10, 19), f"DEL{annee}_{counter:03d}"
            acts[id_d] = {
                "numero_de_lacte": numero,
                "date_de_lacte": f"{annee}-{month:02d}-{day}",
                "date_ar": f"{annee}-{month:02d}-{day + 3}",
                "acte_unique_id": f"035-{RENNES}-{annee}{month:02d}{day}-{numero}-DE",
                "objet": rng.choice(
                    ["Subventions aux associations", "Voirie communale", "Tarifs de l'école"]
                ),
                "publication_open_data": "3",
            }
            events = put(id_d)
        elif op == "correct":
            id_d = rng.choice(sorted(acts))
            acts[id_d]["objet"] = f"Objet corrigé {step}"
            events = put(id_d)
        elif op == "private":  # the act's own answer becomes "non": withheld
            id_d = rng.choice(sorted(acts))
            acts[id_d]["publication_open_data"] = rng.choice(["1", "2"])
            events = put(id_d)
        elif op == "withdraw":  # deleted from raw (capture reconciliation)
            id_d = rng.choice(sorted(acts))
            del acts[id_d]
            key = layout.document_detail_key("12", id_d)
            raw_store.client.delete_object(Bucket=raw_store.bucket, Key=key)
            events = [s3_event(raw_store, key, deleted=True)]
        elif op == "takedown":
            events = [s3_event(curated_store, config(curated_store, open_data="non"))]
        else:
            events = [s3_event(curated_store, config(curated_store))]

        if path == "cli":
            run_normalize(raw_store, curated_store, settings)
        else:
            handle(sqs_of(*events), settings, client)
        check_private(curated_store)  # before any debounced step: nothing withheld is in the lake
        if path == "debounced":
            pending = list(curated_store.list_keys(layout.LAKE_PENDING_PREFIX))
            if op in ("publish", "new_year"):  # a new act waits for the end of the burst
                assert pending, op
            from regate.normalize.pipeline import Normalizer
            from regate.normalize.reports import RunReport

            normalizer = Normalizer.from_stores(raw_store, curated_store, settings, report=RunReport())
            normalizer.run_read_step(RunReport(), force=True)
            assert not list(curated_store.list_keys(layout.LAKE_PENDING_PREFIX))
        check_equal(curated_store)
        seen_years |= {
            p[1]
            for k in curated_store.list_keys(layout.ACTES_PARQUET_PREFIX)
            if (p := layout.parse_partition_key(k))
        }
        saw_withheld = saw_withheld or bool(withheld_ids(curated_store))
    assert len(seen_years) >= 3  # the sequence did reach new years
    assert saw_withheld  # and it did withhold acts on the way


def test_rebuild_builds_the_lake_and_drops_emptied_years(seeder, raw_store, curated_store, settings) -> None:
    config(curated_store)
    seeder.put("pull_deliberation.json", id_d="A1", data={"publication_open_data": "3"})
    seeder.put(
        "pull_deliberation.json",
        id_d="A2",
        data={"numero_de_lacte": "DEL2023_001", "date_de_lacte": "2023-03-03", "publication_open_data": "3"},
    )
    run_normalize(raw_store, curated_store, settings, mode="rebuild")
    check_equal(curated_store)
    assert sorted(lake_tables(curated_store)) == [2023, 2024]
    before = {k: curated_store.head(k)["ETag"] for k in curated_store.list_keys(layout.LAKE_PREFIX)}
    run_normalize(raw_store, curated_store, settings, mode="rebuild")  # nothing changed: nothing rewritten
    assert {k: curated_store.head(k)["ETag"] for k in curated_store.list_keys(layout.LAKE_PREFIX)} == before
    raw_store.client.delete_object(Bucket=raw_store.bucket, Key=layout.document_detail_key("12", "A2"))
    run_normalize(raw_store, curated_store, settings, mode="rebuild")
    check_equal(curated_store)
    assert sorted(lake_tables(curated_store)) == [2024]
    assert date(2024, 1, 15) in lake_tables(curated_store)[2024]["delib_date"].to_pylist()
