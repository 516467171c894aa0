"""`regate serve` with REGATE_ADMIN_OIDC_ISSUER set serves /v1 and /admin/v1 on one port (issue 16.1), tokens
verified against the OIDC stand-in's JWKS, over real HTTP."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any

import pytest
from admin_scenario import BRUZ, RENNES

from regate_local.oidc_sim import DEMO_AUDIENCE, DEMO_CLIENT_ID, OidcSimulator
from regate_local.serve.admin import serve_with_admin

pytestmark = pytest.mark.integration


@pytest.fixture()
def served(chain, s3_client):
    with OidcSimulator() as sim:
        settings = chain["settings"].model_copy(
            update={
                "admin_oidc_issuer": sim.issuer,
                "admin_oidc_audience": DEMO_AUDIENCE,
                "admin_oidc_client_id": DEMO_CLIENT_ID,
            }
        )
        server = serve_with_admin(settings, s3_client=s3_client, verbose=False)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield {"url": f"http://127.0.0.1:{server.server_address[1]}", "sim": sim}
        finally:
            server.shutdown()
            server.server_close()


def http(
    served: dict[str, Any], method: str, path: str, user: str | None = None, body: Any = None, **headers: str
) -> tuple[int, Any]:
    if user is not None:
        headers["Authorization"] = f"Bearer {served['sim'].mint(user)}"
    data = json.dumps(body).encode() if body is not None else None
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(served["url"] + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode()
    try:
        return status, json.loads(text)
    except json.JSONDecodeError:
        return status, text


def test_serve_answers_both_apis_with_tokens_checked(served) -> None:
    assert http(served, "GET", "/v1/docs")[0] == 200
    assert http(served, "GET", "/admin/v1/")[0] == 200  # the page needs no token
    assert http(served, "GET", "/admin/v1/actes")[0] == 401
    status, me = http(served, "GET", "/admin/v1/moi", "agent.rennes")
    assert status == 200 and RENNES in json.dumps(me)
    assert http(served, "GET", f"/admin/v1/collectivites/{BRUZ}/reglages", "agent.rennes")[0] == 403
    path = f"/admin/v1/actes/{RENNES}/12/DelibQ01/decision"
    body = {"decision": "retenir", "motif": "test"}
    status, written = http(served, "PUT", path, "agent.rennes", body, **{"If-None-Match": "*"})
    assert status == 200 and written["modifie"], written
    # a token of another issuer (not the configured one) is refused
    forged = served["sim"].mint("admin.opsn", iss="http://127.0.0.1:1/realms/autre")
    status, _ = http(served, "GET", "/admin/v1/actes", Authorization=f"Bearer {forged}")
    assert status == 401
