"""Capture from the simulator into a versioned raw bucket on moto: first run, incremental run, overlap,
sweeps, failures contained."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from regate.profil_acheteur.capture import MarchesCaptureOptions, capture_marches, load_mark
from regate.storage import layout

pytestmark = pytest.mark.integration
RENNES, BREST = "213502388", "212900195"


def _versions(raw_store) -> dict[str, int]:
    counts: dict[str, int] = {}
    paginator = raw_store.client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=raw_store.bucket, Prefix=layout.PROFILS_PREFIX):
        for version in page.get("Versions", []):
            counts[version["Key"]] = counts.get(version["Key"], 0) + 1
    return counts


def _options(*sirens: str, **kw) -> MarchesCaptureOptions:
    return MarchesCaptureOptions(
        plateforme="megalis", sirens=sirens, overlap_days=kw.pop("overlap_days", 62), **kw
    )


def test_first_run_then_incremental_run_creates_nothing(sim, client_factory, raw_store, clock) -> None:
    simulator, url = sim
    client = client_factory(url)
    report = capture_marches(client, raw_store, _options(RENNES, BREST), clock)
    assert report.ok and report.count("captured") == 2 * 9  # Jan … Sep 2024, per buyer
    first = _versions(raw_store)
    assert (
        sorted(k for k in first if k.startswith("acheteurs/megalis/213502388/"))[0]
        == "acheteurs/megalis/213502388/2024/01.json"
    )
    assert set(first.values()) == {1}
    stored = raw_store.get_bytes(layout.profil_export_key("megalis", RENNES, 2024, 5))
    assert json.loads(stored)["marches"]["marche"][0]["_type"] == "Marché"  # kept as received
    assert load_mark(raw_store, "megalis", RENNES).high_water == date(2024, 9, 10)
    saved = raw_store.get_json(layout.run_report_key(layout.MARCHES_CAPTURE_STAGE))
    assert saved["plateforme"] == "megalis" and len(saved["items"]) == 18

    simulator.clear_log()
    again = capture_marches(client, raw_store, _options(RENNES, BREST), clock)
    assert again.ok and again.count("captured") == 0 and again.count("unchanged") == 2 * 3
    assert _versions(raw_store) == first  # no new object, no new version
    asked = sorted({e.date_min for e in simulator.request_log if e.route == "export"})
    assert asked == ["01-07-2024", "01-08-2024", "01-09-2024"]  # mark (10 Sep) − 62 days → July


def test_overlap_catches_late_entries_and_a_sweep_catches_older_ones(
    sim, client_factory, raw_store, clock
) -> None:
    simulator, url = sim
    client = client_factory(url)
    capture_marches(client, raw_store, _options(RENNES), clock)
    before = _versions(raw_store)
    # Entered late: one notified in August (inside the overlap), one in February (outside).
    clock.current = datetime(2024, 10, 2, 7, tzinfo=UTC)
    late_aug = simulator.add_marche(RENNES, date(2024, 8, 20), entered=date(2024, 10, 1))
    late_feb = simulator.add_marche(RENNES, date(2024, 2, 12), entered=date(2024, 10, 1))
    report = capture_marches(client, raw_store, _options(RENNES), clock)
    after = _versions(raw_store)
    aug = layout.profil_export_key("megalis", RENNES, 2024, 8)
    feb = layout.profil_export_key("megalis", RENNES, 2024, 2)
    oct_ = layout.profil_export_key("megalis", RENNES, 2024, 10)
    assert after[aug] == before[aug] + 1 and late_aug.ident in raw_store.get_bytes(aug).decode()
    assert after[feb] == before[feb] and late_feb.ident not in raw_store.get_bytes(feb).decode()
    assert oct_ in after and oct_ not in before
    assert {i.annee * 100 + i.mois for i in report.items} == {202407, 202408, 202409, 202410}
    # An operator sweep re-reads everything since January: February changes (and any older month that got
    # a modification entered since the first run); the months the overlap just read do not.
    sweep = capture_marches(client, raw_store, _options(RENNES, since=date(2024, 1, 1)), clock)
    swept = _versions(raw_store)
    captured = [i.mois for i in sweep.items if i.outcome == "captured"]
    assert 2 in captured and not {7, 8, 9, 10} & set(captured) and len(sweep.items) == 10
    assert swept[feb] == after[feb] + 1 and late_feb.ident in raw_store.get_bytes(feb).decode()


def test_a_failed_month_is_retried_next_run_and_never_overwrites_a_good_answer(
    sim, client_factory, raw_store, clock
) -> None:
    simulator, url = sim
    client = client_factory(url)
    capture_marches(client, raw_store, _options(RENNES), clock)
    good = raw_store.get_bytes(layout.profil_export_key("megalis", RENNES, 2024, 8))
    clock.current += timedelta(days=25)  # 5 Oct: mark − 62 days = July
    simulator.add_marche(RENNES, date(2024, 8, 5), entered=date(2024, 10, 4))
    simulator.inject("export", 200, body=b"<html><body>Erreur interne</body></html>", siren=RENNES)  # July
    simulator.malformed(siren=RENNES)  # August
    report = capture_marches(client, raw_store, _options(RENNES), clock)
    assert not report.ok
    assert [(i.mois, i.outcome, i.code) for i in report.items][:2] == [
        (7, "rejected", "html_au_lieu_de_json"),
        (8, "rejected", "json_invalide"),
    ]
    assert (
        raw_store.get_bytes(layout.profil_export_key("megalis", RENNES, 2024, 8)) == good
    )  # not overwritten
    reason = raw_store.get_json(layout.profil_rejected_key("megalis", RENNES, 2024, 8))
    assert reason["code"] == "json_invalide" and reason["body_head"].startswith("{")
    assert load_mark(raw_store, "megalis", RENNES).high_water == date(2024, 9, 10)  # did not move
    retry = capture_marches(client, raw_store, _options(RENNES), clock)
    assert retry.ok and [i.mois for i in retry.items if i.outcome == "captured"] == [8]  # October was read
    assert load_mark(raw_store, "megalis", RENNES).high_water == date(2024, 10, 5)


def test_transient_errors_are_retried_within_the_run(sim, client_factory, raw_store, clock) -> None:
    simulator, url = sim
    simulator.rate_limit(times=1, retry_after="2")
    simulator.fail(times=2, status=503)
    report = capture_marches(client_factory(url), raw_store, _options(RENNES), clock)
    assert report.ok and report.count("captured") == 9


def test_credentials_refused_stop_the_platform_forbidden_skips_the_buyer(
    sim_factory, client_factory, raw_store, clock
) -> None:
    _, url = sim_factory(forbidden_sirens=[RENNES])
    report = capture_marches(client_factory(url), raw_store, _options(RENNES, BREST), clock)
    by_siren = {}
    for item in report.items:
        by_siren.setdefault(item.siren, []).append(item.outcome)
    assert by_siren[RENNES] == ["error"] and set(by_siren[BREST]) == {"captured"}
    assert load_mark(raw_store, "megalis", RENNES) is None
    bad = capture_marches(client_factory(url, password="faux"), raw_store, _options(BREST, RENNES), clock)
    assert bad.fatal and [i.outcome for i in bad.items] == ["error", "skipped"]
    assert "faux" not in json.dumps(bad.model_dump(mode="json"))
