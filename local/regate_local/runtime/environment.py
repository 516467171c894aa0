"""Local services on loopback: an S3 endpoint (moto's threaded server) and the two simulators."""

from __future__ import annotations

import logging
import os
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from regate.settings import Settings, get_settings


def start_s3(stack: ExitStack, host: str = "127.0.0.1", port: int = 0) -> str:
    """moto's S3 server on loopback; returns its endpoint URL. Stopped when ``stack`` closes."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-3")
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    from moto.server import ThreadedMotoServer

    # moto's server logs every request through werkzeug: keep the demo's output readable.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    stack.callback(server.stop)
    bound_host, bound_port = server.get_host_and_port()
    return f"http://{bound_host}:{bound_port}"


def create_buckets(client: Any, settings: Settings) -> None:
    """Versioned raw and curated buckets, as the template creates them."""
    for bucket in (settings.raw_bucket, settings.curated_bucket):
        client.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": settings.s3_region}
        )
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def export_settings(settings: Settings) -> None:
    """Expose ``settings`` as REGATE_* variables for the handlers (they read ``get_settings()``)."""
    for name, value in settings.model_dump().items():
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        if isinstance(value, tuple | list):
            value = ",".join(value)
        os.environ[f"REGATE_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    get_settings.cache_clear()


@dataclass
class LocalServices:
    s3_endpoint: str
    pastell: Any
    pastell_url: str
    datagouv: Any
    datagouv_url: str
