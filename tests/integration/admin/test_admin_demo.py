"""`regate demo` serves the back-office with two demo users on the API's port (issue 16 part 3): the real
handlers behind the local JWT authorizer, tokens from the OIDC stand-in, scoping from their claims."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from admin_scenario import BRUZ, RENNES

from regate.settings import get_settings
from regate_local.oidc_sim import DEMO_USERS, OidcSimulator
from regate_local.runtime.demo import demo_resolver, load_demo_extension
from regate_local.runtime.environment import export_settings
from regate_local.serve.server import http_api_event

pytestmark = pytest.mark.integration
ORIGIN = "http://127.0.0.1:8000"


@pytest.fixture()
def demo(chain):
    saved = dict(os.environ)
    try:
        with OidcSimulator() as sim:
            settings, accounts = load_demo_extension("back_office")(chain["settings"], sim, ORIGIN)
            export_settings(settings)
            yield {"sim": sim, "accounts": accounts, "resolve": demo_resolver(settings)}
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()


def call(
    demo: dict[str, Any], path: str, user: str | None = None, token: str | None = None
) -> tuple[int, Any]:
    headers = {}
    if user is not None or token is not None:
        headers["authorization"] = f"Bearer {token or demo['sim'].mint(user)}"
    result = demo["resolve"](http_api_event("GET", path, headers))
    body = result.get("body") or ""
    is_json = "json" in (result.get("headers") or {}).get("Content-Type", "")
    return result["statusCode"], json.loads(body) if is_json else body


def test_two_demo_users_with_their_credentials(demo) -> None:
    printed = "\n".join(f"{who}: {credentials}" for who, credentials in demo["accounts"].items())
    for user in DEMO_USERS:
        assert f"{user.username} / {user.password}" in printed and user.name in printed
    assert len(demo["accounts"]) == 2 and RENNES in printed
    # the stand-in accepts the page's redirect URI on the demo's origin
    assert demo["sim"].clients["regate-admin"].accepts(f"{ORIGIN}/admin/v1/")


def test_the_admin_and_the_agent_are_scoped_by_their_claims(demo) -> None:
    status, config = call(demo, "/admin/v1/config.json")
    assert status == 200 and config["authority"] == demo["sim"].issuer
    assert call(demo, "/admin/v1/actes")[0] == 401  # no token
    assert call(demo, "/admin/v1/actes", token="not.a.token")[0] == 401
    status, agent = call(demo, f"/admin/v1/actes?siren={RENNES}", "agent.rennes")
    assert status == 200 and {r["siren"] for r in agent["data"]} == {RENNES}
    assert call(demo, f"/admin/v1/collectivites/{BRUZ}/reglages", "agent.rennes")[0] == 403
    status, everyone = call(demo, "/admin/v1/actes", "admin.opsn")
    assert status == 200 and {r["siren"] for r in everyone["data"]} == {RENNES, BRUZ}
    assert call(demo, f"/admin/v1/collectivites/{BRUZ}/reglages", "admin.opsn")[0] == 200
    # the read API is served on the same port, without a token
    assert call(demo, "/v1/docs")[0] == 200
