"""Fixtures of the API tests: a seeded curated bucket on moto, a fake collectivité directory, the app."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_scenario import Client, FakeDirectory, seed

from regate.api.app import ApiServices, build_services, create_app
from regate_local.serve.server import make_server


def _buckets(moto_endpoint: str, cache_dir: Path) -> tuple[Any, Any, Any]:
    """Fresh versioned raw + curated buckets and settings for them."""
    from regate.settings import Settings
    from regate.storage import ObjectStore, make_s3_client

    suffix = uuid.uuid4().hex[:10]
    settings = Settings(
        s3_endpoint_url=moto_endpoint,
        raw_bucket=f"raw-api-{suffix}",
        curated_bucket=f"curated-api-{suffix}",
        public_base_url="https://regate.example.org",
        recherche_entreprises_enabled=False,
        api_cache_dir=str(cache_dir),
    )
    client = make_s3_client(settings)
    for bucket in (settings.raw_bucket, settings.curated_bucket):
        client.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": settings.s3_region}
        )
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return settings, client, ObjectStore(client, settings.curated_bucket)


@pytest.fixture(scope="module")
def shared_env(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, Any]:
    """One seeded bucket shared by the read-only tests of a module (seeding costs ~1 s)."""
    settings, client, curated = _buckets(moto_endpoint, tmp_path_factory.mktemp("api-cache"))
    seed(curated, settings)
    return settings, client, curated


@pytest.fixture(scope="module")
def services(shared_env: tuple[Any, Any, Any]) -> ApiServices:
    settings, client, _ = shared_env
    # list_ttl 0: every request re-lists, so tests see writes at once; memory_threshold 2: national
    # requests go through the in-memory table, per-collectivité ones through read_parquet on files
    return build_services(settings, client, directory=FakeDirectory(), list_ttl_seconds=0, memory_threshold=2)


@pytest.fixture()
def fresh_env(moto_endpoint: str, tmp_path: Path) -> tuple[Any, Any, Any]:
    settings, client, curated = _buckets(moto_endpoint, tmp_path / "cache")
    seed(curated, settings)
    return settings, client, curated


@pytest.fixture()
def api_settings(fresh_env: tuple[Any, Any, Any]) -> Any:
    return fresh_env[0]


@pytest.fixture()
def seeded(fresh_env: tuple[Any, Any, Any]) -> Any:
    """The curated store of the fresh environment (tests that write)."""
    return fresh_env[2]


@pytest.fixture()
def raw_store(fresh_env: tuple[Any, Any, Any]) -> Any:
    from regate.storage import ObjectStore

    return ObjectStore(fresh_env[1], fresh_env[0].raw_bucket)


@pytest.fixture()
def fresh_services(fresh_env: tuple[Any, Any, Any]) -> ApiServices:
    settings, client, _ = fresh_env
    return build_services(settings, client, directory=FakeDirectory(), list_ttl_seconds=0)


@pytest.fixture(scope="module")
def client(services: ApiServices) -> Client:
    return Client(services)


@pytest.fixture()
def fresh_client(fresh_services: ApiServices) -> Client:
    return Client(fresh_services)


@pytest.fixture(scope="module")
def server_url(services: ApiServices) -> Iterator[str]:
    """The resolver served over real HTTP, as ``regate serve`` does (port chosen by the OS)."""
    server = make_server("127.0.0.1", 0, factory=lambda: create_app(services))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}"
    server.shutdown()
    server.server_close()
