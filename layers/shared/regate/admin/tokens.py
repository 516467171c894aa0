"""Access-token verification for ``regate serve`` — the checks API Gateway's JWT authorizer makes in AWS.

PyJWT does the cryptography; this module fixes the policy: RSA signatures only (RS256/384/512, as API
Gateway), a ``kid`` found in the issuer's JWKS, exact ``iss``, the API's ``aud``, ``exp``/``iat`` required
and checked with a small leeway, ``nbf`` honoured, a size cap before anything is decoded. ``alg: none``,
HMAC tokens signed with the public key, ``jku``/``x5u``/embedded ``jwk`` headers are refused or ignored:
keys come only from the configured issuer's discovery document.

The JWKS is fetched with :mod:`requests` (timeout, byte cap), kept ``REGATE_ADMIN_JWKS_REFRESH_SECONDS``,
and refetched early (at most every 10 s) when a token names an unknown ``kid`` (key rotation).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt
import requests

ALGORITHMS = ("RS256", "RS384", "RS512")
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")
MAX_JWKS_BYTES = 512 * 1024


class TokenRefused(Exception):
    """The token cannot be accepted; ``reason`` is a short French text (safe to show)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def fetch_json(url: str, timeout: float = 5.0, max_bytes: int = MAX_JWKS_BYTES) -> Any:
    with requests.get(url, timeout=timeout, stream=True, headers={"Accept": "application/json"}) as response:
        response.raise_for_status()
        body = response.raw.read(max_bytes + 1, decode_content=True)
    if len(body) > max_bytes:
        raise ValueError(f"réponse trop volumineuse : {url}")
    return json.loads(body)


class JwksKeys:
    """The issuer's signing keys (from ``jwks_uri`` of its discovery document), cached and refreshed."""

    def __init__(
        self,
        issuer: str,
        refresh_seconds: float = 300.0,
        fetch: Callable[[str], Any] = fetch_json,
        monotonic: Callable[[], float] = time.monotonic,
        jwks_uri: str | None = None,
        unknown_kid_refetch: float = 10.0,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.unknown_kid_refetch = unknown_kid_refetch
        self.refresh_seconds = refresh_seconds
        self.fetch = fetch
        self.monotonic = monotonic
        self.jwks_uri = jwks_uri
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def key(self, kid: str) -> jwt.PyJWK | None:
        """The key ``kid``; an unknown ``kid`` refetches the JWKS, at most every ``unknown_kid_refetch``
        seconds (a flood of random kids cannot make us hammer the issuer)."""
        with self._lock:
            now = self.monotonic()
            age = None if self._fetched_at is None else now - self._fetched_at
            missing = kid not in self._keys
            if age is None or age >= self.refresh_seconds or (missing and age >= self.unknown_kid_refetch):
                self._load(now)
            return self._keys.get(kid)

    def _load(self, now: float) -> None:
        uri = self.jwks_uri
        if uri is None:
            discovery = self.fetch(f"{self.issuer}/.well-known/openid-configuration")
            if not isinstance(discovery, dict) or discovery.get("issuer") != self.issuer:
                raise TokenRefused("document de découverte OIDC incohérent (issuer)")
            uri = discovery.get("jwks_uri")
            if not isinstance(uri, str):
                raise TokenRefused("document de découverte OIDC sans jwks_uri")
        document = self.fetch(uri)
        keys: dict[str, jwt.PyJWK] = {}
        for item in document.get("keys", []) if isinstance(document, dict) else []:
            if not isinstance(item, dict) or item.get("kty") != "RSA" or not isinstance(item.get("kid"), str):
                continue
            if item.get("use", "sig") != "sig":
                continue
            try:
                keys[item["kid"]] = jwt.PyJWK(item)
            except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
                continue
        self._keys = keys
        self._fetched_at = now


class TokenVerifier:
    """``verify(token) -> claims`` or :class:`TokenRefused`."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        keys: JwksKeys,
        *,
        leeway_seconds: int = 30,
        max_token_bytes: int = 8192,
        required_scope: str = "",
    ) -> None:
        if not issuer:
            raise ValueError("REGATE_ADMIN_OIDC_ISSUER est requis pour vérifier les jetons")
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.keys = keys
        self.leeway = leeway_seconds
        self.max_token_bytes = max_token_bytes
        self.required_scope = required_scope

    @classmethod
    def from_settings(cls, settings: Any, fetch: Callable[[str], Any] = fetch_json) -> TokenVerifier:
        keys = JwksKeys(settings.admin_oidc_issuer, settings.admin_jwks_refresh_seconds, fetch=fetch)
        return cls(
            settings.admin_oidc_issuer,
            settings.admin_oidc_audience,
            keys,
            leeway_seconds=settings.admin_jwt_leeway_seconds,
            max_token_bytes=settings.admin_max_token_bytes,
            required_scope=settings.admin_required_scope,
        )

    def verify(self, token: str) -> dict[str, Any]:
        if not isinstance(token, str) or not token:
            raise TokenRefused("jeton absent")
        if len(token.encode("utf-8", "surrogatepass")) > self.max_token_bytes:
            raise TokenRefused("jeton trop long")
        if token.count(".") != 2:
            raise TokenRefused("jeton mal formé")
        key, alg = self._signing_key(token)
        claims = self._decode(token, key, alg)
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise TokenRefused("revendication sub invalide")
        return claims

    def _signing_key(self, token: str) -> tuple[jwt.PyJWK, str]:
        """The issuer's key named by the header's ``kid`` and the header's (RSA) algorithm."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise TokenRefused("en-tête de jeton illisible") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise TokenRefused("algorithme de signature refusé (RSA attendu)")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > 200:
            raise TokenRefused("jeton sans identifiant de clé (kid)")
        try:
            key = self.keys.key(kid)
        except (requests.RequestException, ValueError) as exc:
            raise TokenRefused(f"clés de l'émetteur indisponibles ({type(exc).__name__})") from None
        if key is None:
            raise TokenRefused("clé de signature inconnue")
        return key, alg

    def _decode(self, token: str, key: jwt.PyJWK, alg: str) -> dict[str, Any]:
        """The verified claims (signature, audience, issuer, times, required claims), or a clear refusal."""
        try:
            return jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": list(REQUIRED_CLAIMS), "verify_signature": True},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRefused("jeton expiré") from None
        except jwt.ImmatureSignatureError:
            raise TokenRefused("jeton pas encore valable") from None
        except jwt.InvalidAudienceError:
            raise TokenRefused("jeton destiné à une autre application (aud)") from None
        except jwt.InvalidIssuerError:
            raise TokenRefused("jeton d'un autre émetteur (iss)") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRefused(f"revendication obligatoire absente ({exc.claim})") from None
        except jwt.InvalidSignatureError:
            raise TokenRefused("signature invalide") from None
        except jwt.InvalidTokenError:
            raise TokenRefused("jeton invalide") from None
