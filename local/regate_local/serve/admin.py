"""The write API on a local port, with the JWT authorizer API Gateway provides in AWS played in-process.

:func:`jwt_authorizer` wraps a resolver: on routes that need a token (:func:`routes.requires_token`)
it verifies the bearer token (:class:`~regate.admin.tokens.TokenVerifier`) and puts its claims in
``requestContext.authorizer.jwt.claims`` **as API Gateway does, every value a string** (a list becomes
``"[a b]"``), so the Lambda's claim parsing is exercised unchanged. A missing or refused token is a 401
before the resolver runs; an ``authorizer`` already in the event is dropped (never trusted from outside).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from regate.admin.routes import PREFIX, requires_token
from regate.admin.tokens import TokenRefused

Resolve = Callable[[dict[str, Any]], dict[str, Any]]


def gateway_claim(value: Any) -> str:
    """A claim value the way the HTTP API JWT authorizer hands it to Lambda."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + " ".join(gateway_claim(v) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def unauthorized(reason: str) -> dict[str, Any]:
    body = {"erreur": {"code": 401, "message": f"Authentification requise : {reason}."}}
    return {
        "statusCode": 401,
        "headers": {
            "Content-Type": "application/json",
            "Cache-Control": "no-store",
            "WWW-Authenticate": 'Bearer realm="regate-admin", error="invalid_token"',
        },
        "body": json.dumps(body, ensure_ascii=False),
        "isBase64Encoded": False,
    }


def jwt_authorizer(resolve: Resolve, verify: Callable[[str], dict[str, Any]]) -> Resolve:
    def authorized(event: dict[str, Any]) -> dict[str, Any]:
        context = event.setdefault("requestContext", {})
        context.pop("authorizer", None)
        method = (context.get("http") or {}).get("method", "GET")
        path = event.get("rawPath") or "/"
        if not path.startswith(PREFIX) or not requires_token(method, path):
            return resolve(event)
        header = (event.get("headers") or {}).get("authorization") or ""
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return unauthorized("jeton d'accès absent (en-tête Authorization: Bearer …)")
        try:
            claims = verify(token.strip())
        except TokenRefused as exc:
            return unauthorized(exc.reason)
        scopes = str(claims.get("scope", "")).split()
        context["authorizer"] = {
            "jwt": {"claims": {k: gateway_claim(v) for k, v in claims.items()}, "scopes": scopes or None}
        }
        return resolve(event)

    return authorized


def make_admin_server(
    settings: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    s3_client: Any | None = None,
    verify: Callable[[str], dict[str, Any]] | None = None,
    verbose: bool = False,
) -> Any:
    """A threaded loopback server for ``/admin/v1`` (``port=0``: any free port); call ``serve_forever``."""
    from regate.admin.app import build_admin_services, create_admin_app
    from regate.admin.tokens import TokenVerifier
    from regate_local.serve.server import make_server

    services = build_admin_services(settings, s3_client)
    checked = verify or TokenVerifier.from_settings(settings).verify

    class _AuthorizedResolver:
        """One per worker of ``regate serve``: its own resolver behind the local JWT authorizer."""

        def __init__(self) -> None:
            app = create_admin_app(services)
            self._resolve = jwt_authorizer(lambda event: app.resolve(event, None), checked)

        def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
            return self._resolve(event)

    return make_server(host, port, factory=_AuthorizedResolver, verbose=verbose)


def serve_with_admin(
    settings: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    s3_client: Any | None = None,
    verify: Callable[[str], dict[str, Any]] | None = None,
    verbose: bool = True,
) -> Any:
    """``regate serve`` when ``REGATE_ADMIN_OIDC_ISSUER`` is set: the read API (``/v1``) and the write API
    (``/admin/v1``, behind :func:`jwt_authorizer`) on one port, one pair of resolvers per worker."""
    from regate.admin.app import build_admin_services, create_admin_app
    from regate.admin.tokens import TokenVerifier
    from regate.api.app import build_services, create_app
    from regate_local.serve.server import ServeLimits, make_server

    api_services = build_services(settings)
    admin_services = build_admin_services(settings, s3_client)
    checked = verify or TokenVerifier.from_settings(settings).verify

    class _BothResolvers:
        def __init__(self) -> None:
            self.api = create_app(api_services)
            admin = create_admin_app(admin_services)
            self.admin = jwt_authorizer(lambda event: admin.resolve(event, None), checked)

        def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
            path = event.get("rawPath") or "/"
            if path == PREFIX or path.startswith(f"{PREFIX}/"):
                return self.admin(event)
            return self.api.resolve(event, context)

    limits = ServeLimits.from_settings(settings)
    return make_server(host, port, factory=_BothResolvers, limits=limits, verbose=verbose)
