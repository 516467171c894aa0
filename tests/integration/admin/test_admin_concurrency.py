"""Concurrent decisions on moto, each thread with its own S3 client: never a lost update.

The race is made certain: every writer reads the act's decision, then waits at a barrier *between its
read and its conditional write*, so all of them write on the same base state and only S3's
``If-None-Match`` / ``If-Match`` can tell them apart. Exactly one wins; the others get :class:`Conflict`
with the winner's state; retrying on what they were shown applies every decision in turn, each audit
entry's "before" being the previous one's "after". (The resolver itself is exercised sequentially in
test_admin_api: powertools keeps the current event on its class, so resolvers must not share a process
concurrently until the request-scoped resolver of the API lands.)
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest
from admin_scenario import RENNES

from regate.admin.models import ActeSurcharge, AuditEntry, Auteur
from regate.admin.storage import ABSENT, Conflict, DecisionStore
from regate.storage import ObjectStore, layout, make_s3_client

pytestmark = pytest.mark.integration

KEY = layout.admin_acte_decision_key(RENNES, "12", "DelibQ01")
THREADS = 6


def _store(settings) -> DecisionStore:
    return DecisionStore(ObjectStore(make_s3_client(settings), settings.curated_bucket))


def _decide(store: DecisionStore, i: int, expected: str, barrier: threading.Barrier | None) -> Any:
    def build(current: Any, trace: Any) -> ActeSurcharge:
        if barrier is not None:
            barrier.wait()  # everyone has read the same state; now they all write
        base = current.model_dump() if current is not None else {}
        base.update(
            siren=RENNES,
            id_e="12",
            id_d="DelibQ01",
            numero="DEL2024_101",
            nature=1,
            decision=("publier", "retenir", "metadonnees")[i % 3],
            motif=f"m{i}",
            trace=trace,
        )
        return ActeSurcharge.model_validate(base)

    def describe(before: Any, after: Any, trace: Any) -> AuditEntry:
        return AuditEntry(
            id=trace.audit_id,
            horodatage=trace.modifie_le,
            action="decision_acte",
            siren=RENNES,
            id_e="12",
            id_d="DelibQ01",
            cle=KEY,
            avant=before.payload() if before else None,
            apres=after.payload(),
            motif=after.motif,
            auteur=trace.modifie_par,
        )

    return store.change(
        KEY,
        ActeSurcharge,
        expected=expected,
        auteur=Auteur(sub=f"agent-{i}"),
        request_id=f"req-{i}",
        client_request_id=None,
        build=build,
        describe=describe,
    )


def test_same_base_state_exactly_one_wins(chain, curated_store):
    barrier = threading.Barrier(THREADS, timeout=30)
    outcomes: list[Any] = [None] * THREADS

    def run(i: int) -> None:
        try:
            outcomes[i] = _decide(_store(chain["settings"]), i, ABSENT, barrier)
        except Conflict as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for i, o in enumerate(outcomes) if not isinstance(o, Conflict)]
    assert len(winners) == 1, outcomes
    won = outcomes[winners[0]].value
    for o in outcomes:
        if isinstance(o, Conflict):  # every loser is told what won
            assert o.current.value.decision == won.decision and o.current.value.motif == won.motif
    stored = curated_store.get_json(KEY)
    assert stored["trace"]["modifie_par"]["sub"] == f"agent-{winners[0]}"
    assert len(list(curated_store.list_keys(layout.ADMIN_AUDIT_PREFIX))) == 1


def test_retrying_on_the_current_state_applies_every_decision(chain, curated_store):
    barrier = threading.Barrier(THREADS, timeout=30)
    attempts = [0] * THREADS
    errors: list[BaseException] = []

    def run(i: int) -> None:
        store = _store(chain["settings"])
        expected = ABSENT
        try:
            for n in range(50):
                attempts[i] += 1
                try:
                    _decide(store, i, expected, barrier if n == 0 else None)
                    return
                except Conflict as exc:  # shown the current state, the user decides again on it
                    expected = exc.current.etag or ABSENT
            raise AssertionError("never applied")
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sum(attempts) > THREADS  # there were real conflicts
    entries = [curated_store.get_json(k) for k in sorted(curated_store.list_keys(layout.ADMIN_AUDIT_PREFIX))]
    assert sorted(e["auteur"]["sub"] for e in entries) == sorted(f"agent-{i}" for i in range(THREADS))
    assert entries[0]["avant"] is None
    for previous, current in itertools.pairwise(entries):  # a chain: nothing overwritten unseen
        assert current["avant"] == previous["apres"]
    assert len(curated_store.list_versions(KEY)) == THREADS
