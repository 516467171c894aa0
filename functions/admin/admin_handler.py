"""Lambda entry point of the back-office write API (``/admin/v1``): the resolver of :mod:`regate.admin.app`.

In AWS the HTTP API's JWT authorizer has verified the bearer token (signature, ``iss``, ``aud``, ``exp``)
before this function runs, and hands its claims over in ``requestContext.authorizer.jwt.claims``; the
resolver decides who may touch which SIREN from them (:mod:`regate.admin.identity`). The page, its static
files and its configuration are the only routes without a token (``auth=False`` in
:mod:`regate.admin.routes`), and the template declares exactly those without the authorizer. PyJWT is not
shipped: nothing here verifies a token.

Services (S3 client, DuckDB queue reader with its /tmp cache) are built on the first invocation and kept by
the warm container; Lambda resolves one event at a time per container.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging import correlation_paths

from regate.admin.app import build_admin_services, create_admin_app
from regate.settings import get_settings

logger = Logger(service="regate-admin")
tracer = Tracer(service="regate-admin")


@lru_cache(maxsize=1)
def resolver() -> Any:
    return create_admin_app(build_admin_services(get_settings()))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return resolver().resolve(event, context)
