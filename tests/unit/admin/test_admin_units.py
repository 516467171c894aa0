"""Pure logic of the back-office: keys and their parsers, claims, precedence of the fold, vendored file."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from regate.admin.fold import fold_overrides
from regate.admin.identity import claim_values, principal_from_claims
from regate.admin.models import ActeSurcharge, Auteur, Trace
from regate.api.errors import ApiError
from regate.normalize.decision import Override, Overrides
from regate.storage import layout

VENDORED = (
    Path(layout.__file__).resolve().parents[1] / "admin" / "static" / "vendor" / "oidc-client-ts.min.js"
)


def test_keys_round_trip_and_hostile_segments():
    key = layout.admin_acte_decision_key("213502388", "12", "Xk3P9aQ")
    assert key == "config/decisions/213502388/12/Xk3P9aQ.json"
    assert layout.parse_admin_config_key(key) == ("acte", "213502388", "12", "Xk3P9aQ", None)
    annex = layout.admin_annexe_decision_key("213502388", "12", "Xk3P9aQ", 3)
    assert layout.parse_admin_config_key(annex) == ("annexe", "213502388", "12", "Xk3P9aQ", 3)
    assert layout.parse_admin_config_key("config/collectivites/213502388.json")[0] == "collectivite"
    for other in (
        "config/overrides.csv",
        "config/collectivites.csv",
        "config/decisions/1/2/3.json",
        "config/decisions/213502388/../x.json",
        "config/decisions/213502388/12/a/annexes/x.json",
    ):
        assert layout.parse_admin_config_key(other) is None
    for bad in ("../1", "12\n", "a/b"):
        with pytest.raises(ValueError):
            layout.admin_acte_decision_key("213502388", bad, "x")
    with pytest.raises(ValueError):
        layout.admin_collectivite_key("21350238")
    at = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    audit = layout.admin_audit_key(at, "213502388", "a" * 32)
    assert audit == f"audit/admin/2026/03/04/050607890123Z-213502388-{'a' * 32}.json"
    assert layout.parse_admin_audit_key(audit) == (at, "213502388", "a" * 32)
    with pytest.raises(ValueError):
        layout.admin_audit_key(datetime(2026, 1, 1), "213502388", "a" * 32)  # naive time


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["213502388", "243500139"], ["213502388", "243500139"]),
        ("[213502388 243500139]", ["213502388", "243500139"]),  # API Gateway's flattening
        ('["213502388"]', ["213502388"]),
        ("213502388", ["213502388"]),
        (None, []),
    ],
)
def test_claim_values(value, expected):
    assert claim_values(value) == expected


def test_principal_rules():
    agent = principal_from_claims(
        {"sub": "a", "siren": "213502388", "scope": "regate-admin"}, required_scope="regate-admin"
    )
    assert agent.may_act_on("213502388") and not agent.may_act_on("243500139") and not agent.rh
    assert not agent.may_see_nature(3) and agent.may_see_nature(1)
    admin = principal_from_claims({"sub": "b", "usertype": "ADMIN", "role_opendata": ["rh"]})
    assert admin.may_act_on("243500139") and admin.may_see_nature(3) and admin.scope() is None
    for claims, status in (
        (None, 401),
        ({"siren": "213502388"}, 401),
        ({"sub": "a"}, 403),
        ({"sub": "a", "siren": ["2135"]}, 403),
        ({"sub": "a", "siren": {"x": 1}}, 403),
        ({"sub": "a", "siren": "213502388", "scope": "openid"}, 403),
    ):
        with pytest.raises(ApiError) as exc:
            principal_from_claims(
                claims, required_scope="regate-admin" if claims and "scope" in claims else ""
            )
        assert exc.value.status == status


def _stored(decision: str) -> ActeSurcharge:
    trace = Trace(modifie_par=Auteur(sub="x"), modifie_le=datetime.now(UTC), audit_id="0" * 32)
    return ActeSurcharge(
        siren="213502388",
        id_e="12",
        id_d="D1",
        numero="DEL1",
        nature=1,
        decision=decision,
        motif="m",
        trace=trace,
    )


@pytest.mark.parametrize(
    ("csv", "mine", "expected"),
    [
        (None, "publier", "publier"),
        ("retenir", "publier", "retenir"),  # a CSV takedown is not lifted from the back-office
        ("publier", "retenir", "retenir"),  # a back-office takedown applies whatever the CSV says
        ("a_statuer", "metadonnees", "a_statuer"),
        ("metadonnees", "metadonnees", "metadonnees"),
    ],
)
def test_fold_more_restrictive_wins(csv, mine, expected):
    overrides = Overrides()
    if csv:
        line = Override(siren="213502388", numero="DEL1", decision=csv, motif="csv", line=2)
        overrides.by_numero["213502388/DEL1"] = line
    merged = fold_overrides(overrides, [_stored(mine)])
    assert merged.find("213502388", "D1", "DEL1").decision == expected


def test_unreadable_object_fails_closed():
    merged = fold_overrides(Overrides(), [], unreadable=[("213502388", "D9")])
    assert merged.find("213502388", "D9", None).decision == "a_statuer"


def test_vendored_oidc_client_is_the_npm_file():
    digest = hashlib.sha256(VENDORED.read_bytes()).hexdigest()
    assert digest == "f999daa383f09eb090d0ae32211e9ca931c76840e08e47fcf334fc8f5f74f1ef"
    assert "Apache License" in (VENDORED.parent / "oidc-client-ts.LICENSE.txt").read_text()
