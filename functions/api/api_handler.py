"""Lambda entry point of the read API: the powertools resolver of :mod:`regate.api.app`.

Services (S3 client, DuckDB connection, partition cache in /tmp, collectivité directory) are built on
the first invocation and reused by the warm container; building them lazily keeps the import cheap and
lets tests point the settings at moto first. Lambda resolves one event at a time per container, which
is what the resolver (:class:`regate.api.resolver.RequestScopedResolver`) allows; ``regate serve`` runs
one resolver per worker thread instead (:mod:`regate_local.serve.server`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging import correlation_paths

from regate.api.app import build_services, create_app
from regate.api.resolver import RequestScopedResolver
from regate.settings import get_settings

logger = Logger(service="regate-api")
tracer = Tracer(service="regate-api")


@lru_cache(maxsize=1)
def resolver() -> RequestScopedResolver:
    return create_app(build_services(get_settings()))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return resolver().resolve(event, context)
