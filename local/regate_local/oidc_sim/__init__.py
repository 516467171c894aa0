"""Keycloak-like OIDC stand-in for the back-office rehearsal: keys, discovery, JWKS, code + PKCE, tokens."""

from regate_local.oidc_sim.server import (
    DEMO_AUDIENCE,
    DEMO_CLIENT_ID,
    DEMO_REALM,
    DEMO_SCOPE,
    DEMO_USERS,
    DemoUser,
    OidcSimulator,
)

__all__ = [
    "DEMO_AUDIENCE",
    "DEMO_CLIENT_ID",
    "DEMO_REALM",
    "DEMO_SCOPE",
    "DEMO_USERS",
    "DemoUser",
    "OidcSimulator",
]
