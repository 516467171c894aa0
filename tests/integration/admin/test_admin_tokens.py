"""Tokens as `regate serve` checks them, against the local OIDC stand-in: hostile tokens refused, the code +
PKCE flow, and the local JWT authorizer in front of the write API (401 before any route runs)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from admin_scenario import BRUZ, RENNES
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from regate.admin.tokens import TokenRefused, TokenVerifier
from regate_local.oidc_sim import DEMO_AUDIENCE, DEMO_CLIENT_ID, OidcSimulator
from regate_local.serve.admin import make_admin_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim():
    with OidcSimulator() as running:
        yield running


@pytest.fixture()
def verifier(sim, settings) -> TokenVerifier:
    return TokenVerifier.from_settings(settings.model_copy(update={"admin_oidc_issuer": sim.issuer}))


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _hs256(claims: dict, secret: bytes, kid: str) -> str:
    """Algorithm confusion: HMAC "signed" with the RSA public key (PyJWT itself refuses to make one)."""
    signing = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{_b64(claims)}"
    mac = hmac.new(secret, signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def test_valid_token_and_keycloak_like_claims(sim, verifier):
    claims = verifier.verify(sim.mint("agent.rennes"))
    assert claims["aud"] == DEMO_AUDIENCE and claims["azp"] == DEMO_CLIENT_ID
    assert claims["siren"] == [RENNES] and "regate-admin" in claims["scope"].split()
    assert verifier.verify(sim.mint("admin.opsn"))["usertype"] == "ADMIN"


def test_hostile_tokens_are_refused(sim, verifier):
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    public_pem = sim.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    good = sim.mint()
    header, payload, _sig = good.split(".")
    unverified = jwt.decode(good, options={"verify_signature": False})
    cases = {
        "signature invalide": sim.mint(key=other_key),  # same kid, another key
        "alg none": f"{_b64({'alg': 'none', 'kid': sim.kid, 'typ': 'JWT'})}.{payload}.",
        "HS256 with the public key": _hs256(
            sim.access_claims(sim.users["agent.rennes"]), public_pem, sim.kid
        ),
        "expired": sim.mint(exp=now - 3600, iat=now - 7200),
        "not yet valid": sim.mint(nbf=now + 3600),
        "wrong aud": sim.mint(aud="account"),
        "wrong iss": sim.mint(iss="http://127.0.0.1:1/realms/autre"),
        "no exp": sim.mint(exp=None),
        "no sub": sim.mint(sub=None),
        "no iat": sim.mint(iat=None),
        "unknown kid": sim.mint(headers={"kid": "inconnu"}),
        "no kid": jwt.encode(
            sim.access_claims(sim.users["agent.rennes"]), sim.private_key, algorithm="RS256"
        ),
        "jku to attacker key": sim.mint(key=other_key, headers={"jku": "http://127.0.0.1:1/jwks"}),
        "oversized": sim.mint(padding="x" * 9000),
        "tampered payload": f"{header}.{_b64({**unverified, 'siren': [BRUZ]})}.{_sig}",
        "garbage": "abc",
        "three dots": "a.b.c",
        "empty parts": "..",
        "non ascii": "é.é.é",
    }
    for name, token in cases.items():
        with pytest.raises(TokenRefused):
            verifier.verify(token)
            pytest.fail(f"accepted: {name}")


def _serve(settings, s3_client, sim):
    cfg = settings.model_copy(update={"admin_oidc_issuer": sim.issuer})
    server = make_admin_server(cfg, s3_client=s3_client)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def test_local_authorizer_in_front_of_the_api(chain, s3_client, sim):
    server, base = _serve(chain["settings"], s3_client, sim)
    try:
        assert requests.get(f"{base}/admin/v1/moi", timeout=10).status_code == 401
        assert (
            requests.get(
                f"{base}/admin/v1/moi", headers={"Authorization": "Basic eDp5"}, timeout=10
            ).status_code
            == 401
        )
        refused = requests.get(
            f"{base}/admin/v1/moi", headers={"Authorization": "Bearer " + sim.mint(aud="x")}, timeout=10
        )
        assert refused.status_code == 401 and "aud" in refused.json()["erreur"]["message"]
        token = {"Authorization": "Bearer " + sim.mint("agent.rennes")}
        me = requests.get(f"{base}/admin/v1/moi", headers=token, timeout=10)
        assert me.status_code == 200 and me.json()["sirens"] == [RENNES]  # claims went through as strings
        assert (
            requests.get(
                f"{base}/admin/v1/collectivites/{BRUZ}/reglages", headers=token, timeout=10
            ).status_code
            == 403
        )
        assert requests.get(f"{base}/admin/v1/actes", headers=token, timeout=10).status_code == 200
        # a client cannot smuggle claims: there is no way to pass requestContext, and no header does it
        forged = requests.get(
            f"{base}/admin/v1/moi", headers={"X-Amzn-Authorizer": json.dumps({"sub": "x"})}, timeout=10
        )
        assert forged.status_code == 401
        page = requests.get(f"{base}/admin/v1/", timeout=10)
        assert page.status_code == 200 and "Content-Security-Policy" in page.headers
    finally:
        server.shutdown()
        server.server_close()


def test_authorization_code_flow_with_pkce(sim):
    redirect = "http://127.0.0.1:9/admin/v1/"
    sim.register_client(DEMO_CLIENT_ID, [redirect], ["http://127.0.0.1:9"])
    verifier_text = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier_text.encode()).digest()).decode().rstrip("=")
    auth = f"{sim.issuer}/protocol/openid-connect/auth"
    params = {
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": redirect,
        "response_type": "code",
        "state": "s1",
        "nonce": "n1",
        "scope": "openid profile regate-admin",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    assert (
        requests.get(auth, params={**params, "redirect_uri": "http://evil.example/"}, timeout=10).status_code
        == 400
    )
    assert (
        requests.get(auth, params={**params, "code_challenge_method": "plain"}, timeout=10).status_code == 400
    )
    page = requests.get(auth, params=params, timeout=10)
    assert page.status_code == 200 and 'lang="fr"' in page.text
    request_id = re.search(r'name="request" value="([^"]+)"', page.text).group(1)
    wrong = requests.post(
        auth,
        data={"request": request_id, "username": "agent.rennes", "password": "non"},
        allow_redirects=False,
        timeout=10,
    )
    assert wrong.status_code == 401
    ok = requests.post(
        auth,
        data={"request": request_id, "username": "agent.rennes", "password": "agent"},
        allow_redirects=False,
        timeout=10,
    )
    assert ok.status_code == 302
    location = urlsplit(ok.headers["Location"])
    query = parse_qs(location.query)
    assert query["state"] == ["s1"] and location.geturl().startswith(redirect)
    token_url = f"{sim.issuer}/protocol/openid-connect/token"
    form = {
        "grant_type": "authorization_code",
        "code": query["code"][0],
        "redirect_uri": redirect,
        "client_id": DEMO_CLIENT_ID,
        "code_verifier": verifier_text,
    }
    bad = requests.post(token_url, data={**form, "code_verifier": "x" * 50}, timeout=10)
    assert bad.status_code == 400  # and the code is now spent
    assert requests.post(token_url, data=form, timeout=10).status_code == 400
    # a fresh code with the right verifier
    page = requests.get(auth, params=params, timeout=10)
    request_id = re.search(r'name="request" value="([^"]+)"', page.text).group(1)
    ok = requests.post(
        auth,
        data={"request": request_id, "username": "agent.rennes", "password": "agent"},
        allow_redirects=False,
        timeout=10,
    )
    form["code"] = parse_qs(urlsplit(ok.headers["Location"]).query)["code"][0]
    tokens = requests.post(token_url, data=form, headers={"Origin": "http://127.0.0.1:9"}, timeout=10)
    assert tokens.status_code == 200 and tokens.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:9"
    body = tokens.json()
    identity = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert identity["nonce"] == "n1" and identity["aud"] == DEMO_CLIENT_ID
    access = jwt.decode(
        body["access_token"], sim.private_key.public_key(), algorithms=["RS256"], audience=DEMO_AUDIENCE
    )
    assert access["siren"] == [RENNES]
