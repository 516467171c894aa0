"""``regate demo``'s back-office: the write API pointed at the OIDC stand-in, with the two demo accounts.

Reached by the demo through the ``regate.demo`` entry points (``pyproject.toml``), so the product never
imports the rehearsal kit."""

from __future__ import annotations

from typing import Any

from regate.settings import Settings
from regate_local.oidc_sim.server import DEMO_AUDIENCE, DEMO_CLIENT_ID, DEMO_USERS


def back_office(settings: Settings, oidc: Any, origin: str) -> tuple[Settings, dict[str, str]]:
    """Point the write API at the OIDC stand-in ``oidc`` (running) for a page served at ``origin``.

    Returns the settings to export and, per demo account, what to type on the stand-in's login form."""
    oidc.register_client(DEMO_CLIENT_ID, [f"{origin}/admin/v1/"], [origin])
    settings = settings.model_copy(
        update={
            "admin_oidc_issuer": oidc.issuer,
            "admin_oidc_audience": DEMO_AUDIENCE,
            "admin_oidc_client_id": DEMO_CLIENT_ID,
        }
    )
    accounts: dict[str, str] = {}
    for user in DEMO_USERS:
        attributes = user.attributes
        if attributes.get("usertype") == "ADMIN":
            scope = "toutes les collectivités, actes individuels / every SIREN, RH acts"
        else:
            scope = "SIREN " + ", ".join(attributes.get("siren") or []) + " seulement / only"
        accounts[f"{user.name} ({scope})"] = f"{user.username} / {user.password}"
    return settings, accounts
