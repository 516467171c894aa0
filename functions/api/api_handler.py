"""Lambda entry point of the read API: the powertools resolver of :mod:`regate.api.app`.

Services (S3 client, DuckDB connection, partition cache in /tmp, collectivité directory) are built on
the first invocation and reused by the warm container; building them lazily keeps the import cheap and
lets tests point the settings at moto first. Resolvers keep per-request state, so each thread gets its
own over the shared services: Lambda runs one invocation at a time, but ``regate demo`` serves this
handler from a threaded HTTP server.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths

from regate.api.app import ApiServices, build_services, create_app
from regate.settings import get_settings

logger = Logger(service="regate-api")
tracer = Tracer(service="regate-api")
_local = threading.local()


@lru_cache(maxsize=1)
def services() -> ApiServices:
    return build_services(get_settings())


def resolver() -> APIGatewayHttpResolver:
    app = getattr(_local, "app", None)
    if app is None:
        app = _local.app = create_app(services())
    return app


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return resolver().resolve(event, context)
