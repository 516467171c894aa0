"""A Keycloak-like OpenID Connect provider on loopback, for the back-office rehearsal (never in Lambda).

What it serves (realm ``regate``, paths as Keycloak's ``/realms/{realm}/…``):

* ``/.well-known/openid-configuration`` (discovery), ``/protocol/openid-connect/certs`` (JWKS);
* ``/protocol/openid-connect/auth``: authorization code flow, **PKCE S256 required**, a French login form;
  the redirect URI must be registered for the client (exact, or a ``…*`` prefix as Keycloak allows);
* ``/protocol/openid-connect/token``: ``authorization_code`` grant (single-use codes valid 60 s, verifier
  checked), answering an access token and an ID token (RS256, ``kid`` in the header);
* ``/protocol/openid-connect/userinfo`` and ``…/logout``; CORS for the clients' web origins.

Access tokens carry Keycloak's shape plus the mappers Rég@te needs: ``aud`` = the API's audience (Keycloak
needs an *Audience* protocol mapper for that, on a client scope), ``azp`` = the client, ``scope``, and the
user-attribute mappers ``siren`` (multivalued), ``usertype`` and ``role_opendata``. The RSA key is generated
at start (tests get a fresh one per run); :meth:`OidcSimulator.mint` signs any token a test needs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

DEMO_REALM = "regate"
DEMO_CLIENT_ID = "regate-admin"
DEMO_AUDIENCE = "regate-admin-api"
DEMO_SCOPE = "regate-admin"
ALLOWED_SCOPES = frozenset({"openid", "profile", "email", DEMO_SCOPE})
CODE_TTL_SECONDS = 60
MAX_FORM_BYTES = 16 * 1024


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    name: str
    email: str
    attributes: dict[str, Any] = field(default_factory=dict)  # siren, usertype, role_opendata

    @property
    def sub(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"regate-oidc-sim:{self.username}"))


#: The two demo accounts: an OPSN admin (every SIREN, RH) and an agent of the Ville de Rennes.
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser(
        "admin.opsn",
        "admin",
        "Alice Martin (OPSN)",
        "alice.martin@opsn.example.org",
        {"usertype": "ADMIN", "role_opendata": ["rh"], "siren": []},
    ),
    DemoUser(
        "agent.rennes",
        "agent",
        "Bruno Le Goff (Ville de Rennes)",
        "bruno.legoff@rennes.example.org",
        {"usertype": "COLLECTIVITE", "siren": ["213502388"]},
    ),
)


@dataclass
class Client:
    client_id: str
    redirect_uris: list[str] = field(default_factory=list)  # exact, or prefix ending with *
    web_origins: list[str] = field(default_factory=list)

    def accepts(self, uri: str) -> bool:
        for allowed in self.redirect_uris:
            if allowed.endswith("*") and uri.startswith(allowed[:-1]):
                return True
            if uri == allowed:
                return True
        return False


@dataclass
class _Pending:
    client_id: str
    redirect_uri: str
    state: str | None
    nonce: str | None
    scope: str
    challenge: str
    created: float


@dataclass
class _Code:
    user: DemoUser
    pending: _Pending
    created: float
    used: bool = False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


class OidcSimulator:
    """The provider; :meth:`start` serves it on loopback (``port=0``), :meth:`stop` releases the socket."""

    def __init__(
        self,
        users: tuple[DemoUser, ...] = DEMO_USERS,
        realm: str = DEMO_REALM,
        audience: str = DEMO_AUDIENCE,
        token_ttl_seconds: int = 300,
    ) -> None:
        self.users = {u.username: u for u in users}
        self.realm = realm
        self.audience = audience
        self.token_ttl = token_ttl_seconds
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = self.private_key.public_key().public_numbers()
        self.jwk = {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "n": _b64(public.n.to_bytes((public.n.bit_length() + 7) // 8, "big")),
            "e": _b64(public.e.to_bytes((public.e.bit_length() + 7) // 8, "big")),
        }
        thumbprint = json.dumps({k: self.jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"))
        self.kid = _b64(hashlib.sha256(thumbprint.encode()).digest())
        self.jwk["kid"] = self.kid
        self.clients: dict[str, Client] = {DEMO_CLIENT_ID: Client(DEMO_CLIENT_ID)}
        self._pending: dict[str, _Pending] = {}
        self._codes: dict[str, _Code] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # ------------------------------------------------------------------------------ lifecycle
    def start(self, host: str = "127.0.0.1", port: int = 0) -> OidcSimulator:
        handler = type("OidcSimHandler", (_Handler,), {"sim": self})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        bound_host, bound_port = self._server.server_address[:2]
        self.base_url = f"http://{bound_host}:{bound_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="oidc-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> OidcSimulator:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/realms/{self.realm}"

    def register_client(self, client_id: str, redirect_uris: list[str], web_origins: list[str]) -> None:
        with self._lock:
            client = self.clients.setdefault(client_id, Client(client_id))
            client.redirect_uris.extend(redirect_uris)
            client.web_origins.extend(web_origins)

    # -------------------------------------------------------------------------------- tokens
    def discovery(self) -> dict[str, Any]:
        base = f"{self.issuer}/protocol/openid-connect"
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{base}/auth",
            "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/userinfo",
            "end_session_endpoint": f"{base}/logout",
            "jwks_uri": f"{base}/certs",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": sorted(ALLOWED_SCOPES),
            "token_endpoint_auth_methods_supported": ["none"],
            "claims_supported": [
                "sub",
                "name",
                "email",
                "preferred_username",
                "siren",
                "usertype",
                "role_opendata",
            ],
        }

    def access_claims(
        self, user: DemoUser, client_id: str = DEMO_CLIENT_ID, scope: str | None = None
    ) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "exp": now + self.token_ttl,
            "iat": now,
            "auth_time": now,
            "jti": uuid.uuid4().hex,
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user.sub,
            "typ": "Bearer",
            "azp": client_id,
            "scope": scope or f"openid profile {DEMO_SCOPE}",
            "preferred_username": user.username,
            "name": user.name,
            "email": user.email,
        }
        claims.update(user.attributes)
        return claims

    def sign(self, claims: dict[str, Any], headers: dict[str, Any] | None = None, key: Any = None) -> str:
        return jwt.encode(
            claims, key or self.private_key, algorithm="RS256", headers={"kid": self.kid, **(headers or {})}
        )

    def mint(
        self,
        username: str = "agent.rennes",
        headers: dict[str, Any] | None = None,
        key: Any = None,
        **overrides: Any,
    ) -> str:
        """A signed access token for a demo user; ``overrides`` replace claims (``None`` removes one)."""
        claims = self.access_claims(self.users[username])
        for name, value in overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return self.sign(claims, headers, key)

    # ---------------------------------------------------------------------------- the flow
    def begin(self, params: dict[str, str]) -> tuple[str | None, str]:
        """Validate an authorization request: (pending id, "") or (None, French error)."""
        client = self.clients.get(params.get("client_id", ""))
        if client is None:
            return None, "Client inconnu."
        redirect = params.get("redirect_uri", "")
        if not client.accepts(redirect):
            return None, "Adresse de retour (redirect_uri) non enregistrée pour ce client."
        if params.get("response_type") != "code":
            return None, "Seul response_type=code est pris en charge."
        challenge = params.get("code_challenge", "")
        if params.get("code_challenge_method") != "S256" or not 43 <= len(challenge) <= 128:
            return None, "PKCE S256 obligatoire (code_challenge, code_challenge_method=S256)."
        requested = params.get("scope", "").split()
        if "openid" not in requested:
            return None, "La portée openid est obligatoire."
        scope = " ".join(s for s in requested if s in ALLOWED_SCOPES)
        pending_id = secrets.token_urlsafe(24)
        with self._lock:
            self._pending[pending_id] = _Pending(
                client.client_id,
                redirect,
                params.get("state"),
                params.get("nonce"),
                scope,
                challenge,
                time.time(),
            )
        return pending_id, ""

    def login(self, pending_id: str, username: str, password: str) -> tuple[str | None, str]:
        """Check the credentials: (redirect URL with the code, "") or (None, French error)."""
        with self._lock:
            pending = self._pending.get(pending_id)
            if pending is None or time.time() - pending.created > 600:
                return None, "Demande de connexion expirée : recommencez depuis l'application."
            user = self.users.get(username)
            if user is None or not hmac.compare_digest(user.password.encode(), password.encode()):
                return None, "Identifiant ou mot de passe incorrect."
            del self._pending[pending_id]
            code = secrets.token_urlsafe(32)
            self._codes[code] = _Code(user, pending, time.time())
        query = {"code": code, "session_state": uuid.uuid4().hex, "iss": self.issuer}
        if pending.state is not None:
            query["state"] = pending.state
        separator = "&" if "?" in pending.redirect_uri else "?"
        return f"{pending.redirect_uri}{separator}{urlencode(query)}", ""

    def exchange(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        with self._lock:
            found = self._codes.get(form.get("code", ""))
            if found is None or found.used or time.time() - found.created > CODE_TTL_SECONDS:
                return 400, {"error": "invalid_grant", "error_description": "Code invalide ou expiré"}
            found.used = True  # single use, even when the rest fails
        pending = found.pending
        if form.get("client_id") != pending.client_id or form.get("redirect_uri") != pending.redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": "client_id ou redirect_uri différent"}
        verifier = form.get("code_verifier", "")
        if _b64(hashlib.sha256(verifier.encode("ascii", "replace")).digest()) != pending.challenge:
            return 400, {"error": "invalid_grant", "error_description": "PKCE : code_verifier invalide"}
        access = self.access_claims(found.user, pending.client_id, pending.scope)
        identity = {
            "exp": access["exp"],
            "iat": access["iat"],
            "auth_time": access["auth_time"],
            "iss": self.issuer,
            "aud": pending.client_id,
            "sub": found.user.sub,
            "typ": "ID",
            "azp": pending.client_id,
            "preferred_username": found.user.username,
            "name": found.user.name,
            "email": found.user.email,
        }
        if pending.nonce:
            identity["nonce"] = pending.nonce
        return 200, {
            "access_token": self.sign(access),
            "id_token": self.sign(identity),
            "token_type": "Bearer",
            "expires_in": self.token_ttl,
            "scope": pending.scope,
        }

    def allowed_origin(self, origin: str | None) -> str | None:
        if not origin:
            return None
        for client in self.clients.values():
            if origin in client.web_origins:
                return origin
        return None


LOGIN_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;"
    "line-height:1.5;color:#1e1e1e}label{display:block;margin-top:1rem;font-weight:600}"
    "input{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box}"
    "button{margin-top:1.2rem;font-size:1rem;padding:.5rem 1.2rem;background:#000091;color:#fff;"
    "border:0;border-radius:4px}:focus-visible{outline:3px solid #0a76f6;outline-offset:2px}"
    ".erreur{color:#b00020;font-weight:600}code{background:#eee}"
)
LOGIN_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Connexion — fournisseur d'identité de démonstration</title><style>{style}</style>
</head><body><main>
<h1>Connexion</h1>
<p>Fournisseur d'identité <strong>de démonstration</strong> (Rég@te, répétition locale). Comptes :
{accounts}</p>
{error}
<form method="post" action="{action}">
<input type="hidden" name="request" value="{request}">
<label for="username">Identifiant</label>
<input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Mot de passe</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Se connecter</button>
</form></main></body></html>"""

MESSAGE_PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{title}</title></head>
<body><main><h1>{title}</h1><p role="alert">{message}</p></main></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    sim: OidcSimulator
    server_version = "regate-oidc-sim"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # ------------------------------------------------------------------------------ replies
    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        origin = self.sim.allowed_origin(self.headers.get("Origin"))
        if origin:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Vary", "Origin")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        self._send(status, json.dumps(value).encode(), "application/json")

    def _html(self, status: int, text: str) -> None:
        self._send(status, text.encode("utf-8"), "text/html; charset=utf-8")

    def _redirect(self, location: str) -> None:
        self._send(302, b"", "text/plain", {"Location": location})

    def _form(self) -> dict[str, str] | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_FORM_BYTES:
            return None
        raw = self.rfile.read(length).decode("utf-8", "replace")
        return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}

    # ------------------------------------------------------------------------------ routes
    def _route(self) -> str | None:
        path = urlsplit(self.path).path
        prefix = f"/realms/{self.sim.realm}"
        return path[len(prefix) :] if path.startswith(prefix) else None

    def do_OPTIONS(self) -> None:
        self._send(
            204,
            b"",
            "text/plain",
            {
                "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                "Access-Control-Allow-Headers": "Authorization, Content-Type, Accept",
                "Access-Control-Max-Age": "600",
            },
        )

    def do_GET(self) -> None:
        route = self._route()
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query, keep_blank_values=True).items()}
        if route == "/.well-known/openid-configuration":
            return self._json(200, self.sim.discovery())
        if route == "/protocol/openid-connect/certs":
            return self._json(200, {"keys": [self.sim.jwk]})
        if route == "/protocol/openid-connect/auth":
            pending, error = self.sim.begin(query)
            if pending is None:
                return self._html(
                    400, MESSAGE_PAGE.format(title="Connexion impossible", message=html.escape(error))
                )
            return self._html(200, self._login_page(pending, ""))
        if route == "/protocol/openid-connect/userinfo":
            return self._userinfo()
        if route == "/protocol/openid-connect/logout":
            target = query.get("post_logout_redirect_uri", "")
            if target and any(c.accepts(target) for c in self.sim.clients.values()):
                return self._redirect(target)
            return self._html(
                200,
                MESSAGE_PAGE.format(message="Vous êtes déconnecté.").replace(
                    "Connexion impossible", "Déconnexion"
                ),
            )
        return self._json(404, {"error": "not_found"})

    do_HEAD = do_GET

    def do_POST(self) -> None:
        route = self._route()
        form = self._form()
        if form is None:
            return self._json(413, {"error": "invalid_request", "error_description": "formulaire trop long"})
        if route == "/protocol/openid-connect/auth":
            redirect, error = self.sim.login(
                form.get("request", ""), form.get("username", ""), form.get("password", "")
            )
            if redirect is None:
                return self._html(401, self._login_page(form.get("request", ""), error))
            return self._redirect(redirect)
        if route == "/protocol/openid-connect/token":
            status, body = self.sim.exchange(form)
            return self._json(status, body)
        return self._json(404, {"error": "not_found"})

    def _login_page(self, pending: str, error: str) -> str:
        accounts = ", ".join(
            f"<code>{html.escape(u.username)}</code> / <code>{html.escape(u.password)}</code> "
            f"({html.escape(u.name)})"
            for u in self.sim.users.values()
        )
        return LOGIN_PAGE.format(
            style=LOGIN_STYLE,
            accounts=accounts,
            error=f'<p class="erreur" role="alert">{html.escape(error)}</p>' if error else "",
            action=html.escape(f"/realms/{self.sim.realm}/protocol/openid-connect/auth"),
            request=html.escape(pending),
        )

    def _userinfo(self) -> None:
        header = self.headers.get("Authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        try:
            claims = jwt.decode(
                token,
                self.sim.private_key.public_key(),
                algorithms=["RS256"],
                audience=self.sim.audience,
                issuer=self.sim.issuer,
            )
        except jwt.InvalidTokenError:
            return self._send(401, b"", "text/plain", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        user = next((u for u in self.sim.users.values() if u.sub == claims.get("sub")), None)
        if user is None:
            return self._json(401, {"error": "invalid_token"})
        return self._json(
            200,
            {
                "sub": user.sub,
                "name": user.name,
                "email": user.email,
                "preferred_username": user.username,
                **user.attributes,
            },
        )
