"""Who is calling, from the token's claims — and what they may touch. Decided server-side, never from input.

The JWT authorizer of API Gateway (or :mod:`regate.admin.tokens` under ``regate serve``) has already checked
the signature, ``iss``, ``aud``, ``exp``; this module reads ``requestContext.authorizer.jwt.claims``:

* ``sub`` (required), ``name`` / ``preferred_username``, ``email``;
* the SIREN claim (``REGATE_ADMIN_CLAIM_SIREN``, default ``siren``): one or several 9-digit SIRENs;
* the user-type claim (``REGATE_ADMIN_CLAIM_USERTYPE``, ``usertype``): ``ADMIN`` = OPSN admin, every SIREN;
* the role claim (``REGATE_ADMIN_CLAIM_ROLES``, ``role_opendata``): ``rh`` = may see and decide actes
  individuels (nature 3), admins included;
* ``scope`` must contain ``REGATE_ADMIN_REQUIRED_SCOPE`` (an ID token has none: refused).

API Gateway hands claims over as strings: a list claim arrives as ``"[a b]"``; a real JSON list (``regate
serve``), a JSON array in a string, or one value are read the same. Any SIREN that is not 9 digits makes the
whole claim unreadable: refused (403), never "all" nor "none but continue".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from regate.api.errors import ApiError

ADMIN_USERTYPE = "ADMIN"
RH_ROLE = "rh"
#: Actes individuels: only users with the RH role see or decide them.
RH_NATURES = frozenset({3})
_SIREN = re.compile(r"\d{9}")


class ClaimError(ValueError):
    """A claim is present but unreadable."""


@dataclass(frozen=True)
class Principal:
    sub: str
    nom: str | None
    email: str | None
    sirens: frozenset[str]
    admin: bool
    rh: bool

    def may_act_on(self, siren: str) -> bool:
        return self.admin or siren in self.sirens

    def may_see_nature(self, nature: int | None) -> bool:
        return nature not in RH_NATURES or self.rh

    def scope(self, requested: Iterable[str] = ()) -> tuple[str, ...] | None:
        """SIRENs a request may read: ``requested`` checked against the scope (403 outside it); ``None``
        = every SIREN (admins asking for no particular one)."""
        wanted = tuple(sorted(set(requested)))
        for siren in wanted:
            self.require_siren(siren)
        if wanted:
            return wanted
        return None if self.admin else tuple(sorted(self.sirens))

    def require_siren(self, siren: str) -> None:
        if not self.may_act_on(siren):
            raise ApiError(403, f"Vous n'avez pas accès à la collectivité {siren[:9]}.", {"siren": siren[:9]})

    def require_nature(self, nature: int | None) -> None:
        if not self.may_see_nature(nature):
            raise ApiError(403, "Les actes individuels (nature 3) sont réservés aux utilisateurs RH.")


def claim_values(value: Any) -> list[str]:
    """A claim as a list of strings, whatever its transport (see the module docstring)."""
    if value is None:
        return []
    if isinstance(value, bool):
        raise ClaimError("booléen inattendu")
    if isinstance(value, int):
        return [str(value)]
    if isinstance(value, list | tuple):
        out: list[str] = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, str | int):
                raise ClaimError("valeur de liste inattendue")
            out.append(str(item).strip())
        return [item for item in out if item]
    if not isinstance(value, str):
        raise ClaimError("type inattendu")
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            return claim_values(parsed)
        text = text[1:-1]  # API Gateway: "[a b c]"
    return [part for part in re.split(r"[\s,]+", text) if part]


def principal_from_claims(
    claims: Mapping[str, Any] | None,
    *,
    siren_claim: str = "siren",
    usertype_claim: str = "usertype",
    roles_claim: str = "role_opendata",
    required_scope: str = "",
    scopes: Iterable[str] | None = None,
) -> Principal:
    """The caller, or 401 (no identity) / 403 (identity unusable for the back-office)."""
    if not claims or not isinstance(claims, Mapping):
        raise ApiError(401, "Authentification requise : jeton d'accès absent ou invalide.")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip():
        raise ApiError(401, "Jeton sans identifiant d'utilisateur (sub).")
    try:
        sirens = claim_values(claims.get(siren_claim))
        usertypes = claim_values(claims.get(usertype_claim))
        roles = claim_values(claims.get(roles_claim))
        token_scopes = set(claim_values(claims.get("scope"))) | set(scopes or ())
    except ClaimError as exc:
        raise ApiError(403, f"Revendication illisible dans le jeton : {exc}.") from exc
    bad = [s for s in sirens if not _SIREN.fullmatch(s)]
    if bad:
        raise ApiError(403, f"Revendication « {siren_claim} » illisible : un SIREN a 9 chiffres.")
    if required_scope and required_scope not in token_scopes:
        raise ApiError(403, f"Jeton sans la portée « {required_scope} » (un jeton d'accès est attendu).")
    admin = ADMIN_USERTYPE in usertypes
    if not admin and not sirens:
        raise ApiError(403, "Aucune collectivité n'est rattachée à votre compte.")
    nom = claims.get("name") or claims.get("preferred_username")
    email = claims.get("email")
    return Principal(
        sub=sub.strip(),
        nom=str(nom)[:200] if isinstance(nom, str) else None,
        email=str(email)[:200] if isinstance(email, str) else None,
        sirens=frozenset(sirens),
        admin=admin,
        rh=RH_ROLE in roles,
    )


def principal_from_event(event: Mapping[str, Any], settings: Any) -> Principal:
    """Claims and scopes put in the event by the JWT authorizer (payload 2.0)."""
    context = event.get("requestContext") if isinstance(event, Mapping) else None
    authorizer = context.get("authorizer") if isinstance(context, Mapping) else None
    jwt = authorizer.get("jwt") if isinstance(authorizer, Mapping) else None
    claims = jwt.get("claims") if isinstance(jwt, Mapping) else None
    scopes = jwt.get("scopes") if isinstance(jwt, Mapping) else None
    return principal_from_claims(
        claims,
        siren_claim=settings.admin_claim_siren,
        usertype_claim=settings.admin_claim_usertype,
        roles_claim=settings.admin_claim_roles,
        required_scope=settings.admin_required_scope,
        scopes=scopes if isinstance(scopes, list) else None,
    )
