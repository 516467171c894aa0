"""Shared fixtures: an S3-compatible endpoint on loopback (moto's threaded server) and settings."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-3")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
EVENTS = Path(__file__).resolve().parent / "events"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto S3 server per test session (per xdist worker)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture()
def settings(moto_endpoint: str):
    """Settings pointing at fresh, versioned raw and curated buckets on the moto endpoint."""
    from regate.settings import Settings
    from regate.storage import make_s3_client

    suffix = uuid.uuid4().hex[:10]
    s = Settings(
        s3_endpoint_url=moto_endpoint,
        raw_bucket=f"raw-{suffix}",
        curated_bucket=f"curated-{suffix}",
        public_base_url="https://regate.example.org",
        recherche_entreprises_enabled=False,
    )
    client = make_s3_client(s)
    for bucket in (s.raw_bucket, s.curated_bucket):
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": s.s3_region})
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return s


@pytest.fixture()
def s3_client(settings):
    from regate.storage import make_s3_client

    return make_s3_client(settings)


@pytest.fixture()
def raw_store(settings, s3_client):
    from regate.storage import ObjectStore

    return ObjectStore(s3_client, settings.raw_bucket)


@pytest.fixture()
def curated_store(settings, s3_client):
    from regate.storage import ObjectStore

    return ObjectStore(s3_client, settings.curated_bucket)


@pytest.fixture()
def monkeypatch_env():
    """Set environment variables for one test and restore them afterwards (settings are env-driven)."""
    saved: dict[str, str | None] = {}

    def apply(**values: str) -> None:
        for name, value in values.items():
            saved.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    yield apply
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
