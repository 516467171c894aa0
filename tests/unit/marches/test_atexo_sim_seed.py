"""The simulator's seed: real Breton buyers (checked against the shipped COG data), flagged SIRETs,
deterministic exports with the real defects."""

from __future__ import annotations

import csv
import gzip
import json
from datetime import UTC, date, datetime
from importlib import resources

from regate.clock import FakeClock
from regate.flux.marches.identifiers import is_siret
from regate.flux.marches.parse import parse_decp_document
from regate_local.atexo_sim import AtexoSimulator, Defects, load_buyers
from regate_local.atexo_sim.generator import fictitious_siret


def _refdata() -> dict[str, dict[str, str]]:
    data = (
        resources.files("regate.collectivites").joinpath("data").joinpath("collectivites.csv.gz").read_bytes()
    )
    return {row["siren"]: row for row in csv.DictReader(gzip.decompress(data).decode("utf-8").splitlines())}


def test_buyers_are_real_breton_collectivites() -> None:
    ref = _refdata()
    buyers = load_buyers()
    assert len(buyers) >= 5
    for buyer in buyers:
        row = ref[buyer.siren]
        assert row["nom"] == buyer.nom and row["region"] == "53" and row["departement"] == buyer.departement
        assert is_siret(buyer.siret) and buyer.siret.startswith(buyer.siren)
    assert {b.siret_fictif for b in buyers} == {True, False}


def test_fictitious_sirets_are_valid() -> None:
    import random

    rng = random.Random(1)
    assert all(is_siret(fictitious_siret(rng)) for _ in range(200))


def test_exports_are_deterministic_and_carry_the_defects() -> None:
    clock = FakeClock(datetime(2024, 12, 1, tzinfo=UTC))
    first = AtexoSimulator(clock=clock).records("213502388", date(2024, 1, 1), date(2024, 11, 30))
    second = AtexoSimulator(clock=clock).records("213502388", date(2024, 1, 1), date(2024, 11, 30))
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    marches = first["marche"]
    assert marches and all(m["_type"] == "Marché" for m in marches)
    assert any(m.get("modifications") == [] for m in marches)
    assert any(
        len(m.get("actesSousTraitance", [{}])[0].get("acteSousTraitance", {})) == 2
        for m in marches
        if "actesSousTraitance" in m
    )
    assert any("\n" in m["objet"] for m in marches)


def test_exporting_does_not_change_the_state() -> None:
    """Two exports of the same window on the same day are the same bytes (what idempotency rests on)."""
    from regate_local.atexo_sim.generator import render

    clock = FakeClock(datetime(2025, 2, 1, tzinfo=UTC))
    sim = AtexoSimulator(clock=clock, defects=Defects(invalid=0.5, duplicates=True, nan=0.2))
    first = render(sim.records(None, date(2024, 1, 1), date(2024, 12, 31)), sim.defects)
    assert render(sim.records(None, date(2024, 1, 1), date(2024, 12, 31)), sim.defects) == first


def test_visibility_follows_the_clock() -> None:
    clock = FakeClock(datetime(2024, 3, 1, tzinfo=UTC))
    sim = AtexoSimulator(clock=clock)
    early = sim.records(None, date(2024, 1, 1), date(2024, 1, 31))
    clock.current = datetime(2024, 6, 1, tzinfo=UTC)
    later = sim.records(None, date(2024, 1, 1), date(2024, 1, 31))
    assert len(later["marche"]) >= len(early["marche"])
    assert all(m["datePublicationDonnees"] <= "2024-03-01" for m in early["marche"])


def test_text_level_defects() -> None:
    from regate_local.atexo_sim.generator import render

    clock = FakeClock(datetime(2024, 12, 1, tzinfo=UTC))
    sim = AtexoSimulator(clock=clock, defects=Defects(bom=True, nan=1.0, stray_backslash=1.0))
    body = render(sim.records("213502388", date(2024, 1, 1), date(2024, 3, 31)), sim.defects)
    assert body.startswith(b"\xef\xbb\xbf") and b"NaN" in body and b"\\ tranche" in body
    parsed = parse_decp_document(body, max_bytes=10**8, max_records=10**5)
    assert {r.code for r in parsed.repairs} == {"bom_supprime", "nan_remplace", "antislash_echappe"}
