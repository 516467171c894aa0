"""Directory and SIRET cache on S3 (moto server): operator file in the curated bucket, cached resolutions."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from regate.clock import FakeClock
from regate.collectivites import CollectiviteDirectory, SiretResolver
from regate.http import RetryingSession, RetryPolicy
from regate.storage import layout

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "collectivites"
BASE = "https://recherche-entreprises.test"


def response(status: int, body: Any) -> requests.Response:
    out = requests.Response()
    out.status_code = status
    out._content = json.dumps(body).encode()
    out._content_consumed = True
    return out


class FakeHttp:
    def __init__(self, answer: Callable[[str, dict[str, Any]], requests.Response]) -> None:
        self.answer = answer
        self.calls = 0

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.calls += 1
        return self.answer(url, kwargs)


def rennes_answer(url: str, kwargs: dict[str, Any]) -> requests.Response:
    return response(200, json.loads((FIXTURES / "recherche_entreprises_rennes.json").read_text("utf-8")))


def down(url: str, kwargs: dict[str, Any]) -> requests.Response:
    raise requests.ConnectionError("no route to host")


def session_for(fake: FakeHttp, clock: FakeClock) -> RetryingSession:
    return RetryingSession(RetryPolicy(max_attempts=2, backoff_base=0.01), fake, clock)  # type: ignore[arg-type]


def test_from_store_reads_the_operator_file(settings, curated_store) -> None:
    curated_store.put_if_changed(
        layout.CONFIG_COLLECTIVITES_KEY, (FIXTURES / "valid.csv").read_bytes(), "text/csv"
    )
    directory, problems = CollectiviteDirectory.from_store(curated_store, settings)
    assert problems == []
    rennes = directory.describe("213502388", "MAIRIE DE RENNES")
    assert (rennes.nom, rennes.siret, rennes.code_insee) == ("Ville de Rennes", "21350238800019", "35238")
    assert directory.config("213502388").annexes is False
    assert directory.config("200053668").open_data is False


def test_from_store_without_a_file_gives_defaults(settings, curated_store) -> None:
    directory, problems = CollectiviteDirectory.from_store(curated_store, settings)
    assert problems == []
    assert directory.config("213502388").open_data is None
    assert directory.describe("213502388").nom == "Rennes"
    # settings fixture disables the API: nothing resolved, nothing cached
    assert directory.describe("213502388").siret is None
    assert list(curated_store.list_keys(layout.SIRET_CACHE_PREFIX)) == []


def test_from_store_reads_a_windows_1252_file(settings, curated_store) -> None:
    curated_store.put_if_changed(layout.CONFIG_COLLECTIVITES_KEY, (FIXTURES / "latin1.csv").read_bytes())
    directory, problems = CollectiviteDirectory.from_store(curated_store, settings)
    assert [p.code for p in problems] == ["cp1252"]
    assert directory.describe("243500139").nom == "Rennes Métropole"
    assert directory.config_file.status == "current"


@pytest.mark.parametrize("damaged", ["nul_bytes.csv", "unclosed_quote.csv", "quote_swallows_rows.csv"])
def test_from_store_keeps_the_last_good_version_of_a_damaged_file(settings, curated_store, damaged) -> None:
    """v1 says Métropole open_data=non; v2 is damaged: v1 stays in force (never the defaults)."""
    key = layout.CONFIG_COLLECTIVITES_KEY
    curated_store.put_if_changed(key, (FIXTURES / "valid.csv").read_bytes())
    curated_store.put_if_changed(key, b"siren,open_data\n243500139,non\n")
    good_version = curated_store.head(key)["VersionId"]
    curated_store.put_if_changed(key, (FIXTURES / damaged).read_bytes())
    directory, problems = CollectiviteDirectory.from_store(curated_store, settings)
    assert directory.config_file.status == "last_good" and directory.config_file.version_id == good_version
    assert directory.config_file.refused and "last good" in directory.config_file.summary()
    assert any(p.severity == "error" for p in problems)
    assert directory.config("243500139").open_data is False
    assert directory.config("213502388").open_data is None  # v2, not v1: the newest good version


def test_from_store_with_no_readable_version_says_unreadable(settings, curated_store) -> None:
    curated_store.put_if_changed(layout.CONFIG_COLLECTIVITES_KEY, (FIXTURES / "nul_bytes.csv").read_bytes())
    directory, _ = CollectiviteDirectory.from_store(curated_store, settings)
    assert directory.config_file.status == "unreadable"


def test_from_store_a_deleted_file_before_the_damage_means_no_file(settings, curated_store) -> None:
    key = layout.CONFIG_COLLECTIVITES_KEY
    curated_store.put_if_changed(key, b"siren,open_data\n243500139,non\n")
    time.sleep(1.1)  # S3 dates versions to the second: keep the order unambiguous
    curated_store.delete(key)
    time.sleep(1.1)
    curated_store.put_if_changed(key, (FIXTURES / "nul_bytes.csv").read_bytes())
    directory, _ = CollectiviteDirectory.from_store(curated_store, settings)
    assert (directory.config_file.status, directory.config_file.version_id) == ("last_good", "delete-marker")
    assert directory.config("243500139").open_data is None


def test_from_store_uses_the_api_when_enabled_and_caches(settings, curated_store) -> None:
    fake, clock = FakeHttp(rennes_answer), FakeClock()
    enabled = settings.model_copy(
        update={"recherche_entreprises_enabled": True, "recherche_entreprises_url": BASE}
    )
    directory, _ = CollectiviteDirectory.from_store(
        curated_store, enabled, session=session_for(fake, clock), clock=clock
    )
    assert directory.describe("213502388").siret == "21350238800019"
    cached = curated_store.get_json(layout.siret_cache_key("213502388"))
    assert cached["siret"] == "21350238800019" and cached["status"] == "found"
    assert cached["checked_at"] == "2024-06-01T12:00:00Z"

    # another process (new directory) reads the cache instead of calling the API
    fake2 = FakeHttp(down)
    again, _ = CollectiviteDirectory.from_store(
        curated_store, enabled, session=session_for(fake2, clock), clock=clock
    )
    assert again.describe("213502388").siret == "21350238800019"
    assert fake2.calls == 0


def test_miss_is_cached_with_its_date_and_retried_after_the_ttl(curated_store) -> None:
    clock = FakeClock()
    fake = FakeHttp(lambda url, kw: response(200, {"results": []}))
    resolver = SiretResolver(
        curated_store, session_for(fake, clock), True, BASE, clock, miss_ttl=timedelta(days=1)
    )
    assert resolver.resolve("213502388") is None
    cached = curated_store.get_json(layout.siret_cache_key("213502388"))
    assert (cached["siret"], cached["status"], cached["checked_at"]) == (
        None,
        "not_found",
        "2024-06-01T12:00:00Z",
    )

    # a fresh resolver within the TTL trusts the cached miss
    fresh = SiretResolver(
        curated_store, session_for(fake, clock), True, BASE, clock, miss_ttl=timedelta(days=1)
    )
    assert fresh.resolve("213502388") is None
    assert fake.calls == 1

    # after the TTL the API is asked again, and the hit replaces the miss
    clock.current += timedelta(days=2)
    fake_hit = FakeHttp(rennes_answer)
    later = SiretResolver(curated_store, session_for(fake_hit, clock), True, BASE, clock)
    assert later.resolve("213502388") == "21350238800019"
    assert fake_hit.calls == 1
    assert curated_store.get_json(layout.siret_cache_key("213502388"))["status"] == "found"


def test_down_api_is_cached_as_an_error_so_it_is_not_hammered(curated_store) -> None:
    clock = FakeClock()
    fake = FakeHttp(down)
    resolver = SiretResolver(curated_store, session_for(fake, clock), True, BASE, clock)
    assert resolver.resolve("213502388") is None
    assert fake.calls == 2  # two attempts, then give up
    assert curated_store.get_json(layout.siret_cache_key("213502388"))["status"] == "error"

    other_run = SiretResolver(curated_store, session_for(fake, clock), True, BASE, clock)
    assert other_run.resolve("213502388") is None
    assert fake.calls == 2


def test_stale_hit_survives_an_outage(curated_store) -> None:
    clock = FakeClock()
    SiretResolver(curated_store, session_for(FakeHttp(rennes_answer), clock), True, BASE, clock).resolve(
        "213502388"
    )
    clock.current += timedelta(days=365)
    fake = FakeHttp(down)
    assert SiretResolver(curated_store, session_for(fake, clock), True, BASE, clock).resolve("213502388") == (
        "21350238800019"
    )
    assert fake.calls == 2
    assert curated_store.get_json(layout.siret_cache_key("213502388"))["status"] == "found"
    # disabled API: the stale cache is still better than nothing
    assert SiretResolver(curated_store, None, False, BASE, clock).resolve("213502388") == "21350238800019"


def test_damaged_cache_entry_is_a_miss_and_gets_rewritten(curated_store) -> None:
    clock = FakeClock()
    curated_store.put_if_changed(layout.siret_cache_key("213502388"), b"{not json")
    fake = FakeHttp(rennes_answer)
    assert SiretResolver(curated_store, session_for(fake, clock), True, BASE, clock).resolve("213502388") == (
        "21350238800019"
    )
    assert curated_store.get_json(layout.siret_cache_key("213502388"))["siret"] == "21350238800019"


def test_cache_write_is_idempotent(curated_store) -> None:
    clock = FakeClock()
    for _ in range(2):
        resolver = SiretResolver(
            curated_store,
            session_for(FakeHttp(rennes_answer), clock),
            True,
            BASE,
            clock,
            hit_ttl=timedelta(0),
        )
        resolver.resolve("213502388")
    assert len(curated_store.list_versions(layout.siret_cache_key("213502388"))) == 1


def test_hand_edited_cache_entries_are_read_safely(curated_store) -> None:
    clock = FakeClock()
    key = layout.siret_cache_key("213502388")
    entry = {
        "siren": "213502388",
        "siret": "21350238800019",
        "status": "found",
        "checked_at": "2024-05-30T08:00:00",
    }
    curated_store.put_json_if_changed(key, entry)
    fake = FakeHttp(down)
    assert SiretResolver(curated_store, session_for(fake, clock), True, BASE, clock).resolve("213502388") == (
        "21350238800019"
    )
    assert fake.calls == 0  # naive date read as UTC: still fresh
