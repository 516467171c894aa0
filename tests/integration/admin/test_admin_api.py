"""The write API end to end on moto, with acts normalised by the real chain and claims as API Gateway gives
them: authentication, SIREN scoping on every route, RH gating, decisions, conflicts, audit."""

from __future__ import annotations

import json

import pytest
from admin_scenario import ADMIN, AGENT, AGENT_RH, BRUZ, RENNES

from regate.admin.fold import load_decision_inputs
from regate.admin.routes import ROUTES
from regate.storage import layout
from regate.storage.store import PreconditionFailed

pytestmark = pytest.mark.integration

Q01 = f"/admin/v1/actes/{RENNES}/12/DelibQ01"
INDIV = f"/admin/v1/actes/{RENNES}/12/IndivQ03"
NEW = {"If-None-Match": "*"}


def concrete(path: str, siren: str) -> str:
    return (
        path.replace("{siren}", siren)
        .replace("{id_e}", "12" if siren == RENNES else "13")
        .replace("{id_d}", "DelibQ01" if siren == RENNES else "BruzQ01")
        .replace("{rang}", "0")
        .replace("{name}", "admin.js")
    )


BODIES = {
    "decider_acte": {"decision": "retenir", "motif": "test"},
    "corriger_objet": {"objet": "Nouvel objet", "motif": "test"},
    "decider_annexe": {"publier": False, "motif": "test"},
    "modifier_reglages": {"open_data": False, "documents": None, "annexes": None, "motif": "test"},
}


@pytest.mark.parametrize("route", [r for r in ROUTES if r.auth], ids=lambda r: r.operation_id)
def test_no_token_is_401_and_other_siren_is_403_on_every_route(admin, curated_store, route):
    path = concrete(route.path, BRUZ)
    body = BODIES.get(route.operation_id)
    query = ""
    if route.operation_id == "decider_lot":
        body = {
            "client_request_id": "lot-1",
            "motif": "m",
            "items": [{"siren": BRUZ, "id_e": "13", "id_d": "BruzQ01", "decision": "retenir", "etag": None}],
        }
    if route.operation_id in {"actes", "journal"}:
        query = f"siren={BRUZ}"
    status, payload, headers = admin(route.method, path, None, body=body, headers=NEW, query=query)
    assert status == 401, payload
    assert headers.get("WWW-Authenticate", "").startswith("Bearer")
    if route.operation_id == "moi":
        return  # no SIREN in it: the caller sees only themself
    status, payload, _ = admin(route.method, path, AGENT, body=body, headers=NEW, query=query)
    assert status == 403, (route.operation_id, payload)
    assert "erreur" in payload and payload["erreur"]["code"] == 403
    # nothing was written for Bruz
    assert list(curated_store.list_keys(layout.admin_decisions_prefix(BRUZ))) == []
    assert not curated_store.exists(layout.admin_collectivite_key(BRUZ))


def test_unknown_route_needs_a_token_and_public_routes_do_not(admin):
    assert admin("GET", "/admin/v1/nimporte", None)[0] == 401
    assert admin("GET", "/admin/v1/nimporte", AGENT)[0] == 404
    for route in (r for r in ROUTES if not r.auth):
        status, _, _ = admin(
            "GET", concrete(route.path, RENNES).replace("admin.js", "oidc-client-ts.min.js"), None
        )
        assert status == 200, route.operation_id


def test_claims_as_api_gateway_strings_and_hostile_claims(admin):
    status, me, _ = admin("GET", "/admin/v1/moi", {**AGENT, "siren": f"[{RENNES} {BRUZ}]"})
    assert status == 200 and me["sirens"] == sorted([RENNES, BRUZ]) and not me["admin"]
    for bad in ({**AGENT, "siren": "[21350238 x]"}, {**AGENT, "siren": "*"}, {**AGENT, "siren": None}):
        assert admin("GET", "/admin/v1/moi", bad)[0] == 403
    assert admin("GET", "/admin/v1/moi", {**AGENT, "scope": "openid profile"})[0] == 403  # an ID token
    assert admin("GET", "/admin/v1/moi", {"siren": RENNES, "scope": "regate-admin"})[0] == 401  # no sub
    assert admin("GET", "/admin/v1/moi", {**AGENT, "usertype": "admin"})[1]["admin"] is False  # exact value


def test_queue_scoped_to_the_callers_sirens_and_rh_gating(admin):
    status, page, _ = admin("GET", "/admin/v1/actes", AGENT)
    assert status == 200
    ids = {(r["siren"], r["id_d"]) for r in page["data"]}
    assert ids == {(RENNES, "DelibQ01"), (RENNES, "ContrQ04")}  # no Bruz, no acte individuel, no publier
    assert all(r["decision"] == "a_statuer" for r in page["data"])
    row = next(r for r in page["data"] if r["id_d"] == "DelibQ01")
    assert [a["role"] for a in row["apercus"]] == ["acte", "annexe"]
    assert "response-content-disposition=attachment" in row["apercus"][0]["url"]
    assert "X-Amz-Expires=300" in row["apercus"][0]["url"]
    # RH agent sees the acte individuel; the plain agent cannot read, decide or list it
    assert (RENNES, "IndivQ03") in {
        (r["siren"], r["id_d"]) for r in admin("GET", "/admin/v1/actes", AGENT_RH)[1]["data"]
    }
    assert admin("GET", INDIV, AGENT)[0] == 403
    assert (
        admin("PUT", f"{INDIV}/decision", AGENT, body={"decision": "publier", "motif": "x"}, headers=NEW)[0]
        == 403
    )
    assert admin("PUT", f"{INDIV}/objet", AGENT, body={"objet": "x", "motif": "x"}, headers=NEW)[0] == 403
    assert admin("GET", "/admin/v1/actes", AGENT, query="nature=3")[0] == 403
    assert (
        admin(
            "PUT",
            f"{INDIV}/decision",
            AGENT_RH,
            body={"decision": "retenir", "motif": "nominatif"},
            headers=NEW,
        )[0]
        == 200
    )
    # the journal hides it from non-RH users of the same SIREN
    assert [e["id_d"] for e in admin("GET", "/admin/v1/journal", AGENT)[1]["data"]] == []
    assert [e["id_d"] for e in admin("GET", "/admin/v1/journal", AGENT_RH)[1]["data"]] == ["IndivQ03"]
    # the admin sees every SIREN
    sirens = {r["siren"] for r in admin("GET", "/admin/v1/actes", ADMIN)[1]["data"]}
    assert sirens == {RENNES, BRUZ}


def test_decide_conflict_audit_and_fold(admin, curated_store):
    assert admin("PUT", f"{Q01}/decision", AGENT, body={"decision": "publier", "motif": "ok"})[0] == 428
    status, first, headers = admin(
        "PUT", f"{Q01}/decision", AGENT, body={"decision": "publier", "motif": "vu"}, headers=NEW
    )
    assert status == 200 and first["modifie"] and headers["ETag"] == first["etag"]
    # a second user who also saw "no decision" gets 412 with the state that won
    status, conflict, _ = admin(
        "PUT", f"{Q01}/decision", AGENT_RH, body={"decision": "retenir", "motif": "non"}, headers=NEW
    )
    assert status == 412
    assert conflict["erreur"]["details"]["actuel"]["decision"] == "publier"
    assert conflict["erreur"]["details"]["etag"] == first["etag"]
    # with the current ETag the change goes through; replaying it is a no-op
    status, second, _ = admin(
        "PUT",
        f"{Q01}/decision",
        AGENT_RH,
        body={"decision": "retenir", "motif": "non"},
        headers={"If-Match": first["etag"]},
    )
    assert status == 200 and second["modifie"]
    status, again, _ = admin(
        "PUT",
        f"{Q01}/decision",
        AGENT_RH,
        body={"decision": "retenir", "motif": "non"},
        headers={"If-Match": second["etag"]},
    )
    assert status == 200 and not again["modifie"] and again["etag"] == second["etag"]
    # the act left the queue at once
    assert "DelibQ01" not in {r["id_d"] for r in admin("GET", "/admin/v1/actes", AGENT)[1]["data"]}
    # the journal has both changes, chained (before of the 2nd = after of the 1st), newest first
    entries = admin("GET", "/admin/v1/journal", AGENT)[1]["data"]
    assert [e["apres"]["decision"] for e in entries] == ["retenir", "publier"]
    assert entries[0]["avant"] == entries[1]["apres"] and entries[1]["avant"] is None
    assert entries[1]["auteur"]["sub"] == "agent-rennes" and entries[0]["auteur"]["sub"] == "rh-rennes"
    assert entries[1]["contexte"]["decision_en_vigueur"] == "a_statuer"
    # the adapter turns it into an override of the decision code
    inputs = load_decision_inputs(curated_store)
    found = inputs.overrides.find(RENNES, "DelibQ01", "DEL2024_101")
    assert found is not None and found.decision == "retenir"


def test_audit_log_cannot_be_overwritten(admin, curated_store):
    admin("PUT", f"{Q01}/decision", AGENT, body={"decision": "publier", "motif": "vu"}, headers=NEW)
    [key] = list(curated_store.list_keys(layout.ADMIN_AUDIT_PREFIX))
    before = curated_store.get_bytes(key)
    with pytest.raises(PreconditionFailed):  # the only write path used for audit entries is create-only
        curated_store.put_conditional(key, b"{}", if_match=None)
    assert curated_store.get_bytes(key) == before
    for method in ("PUT", "POST", "DELETE"):  # and no route writes or deletes the journal
        assert admin(method, "/admin/v1/journal", ADMIN, body={})[0] in {404, 405}
    assert admin("DELETE", f"{Q01}/decision", ADMIN)[0] in {404, 405}


def test_batch_is_all_or_nothing_on_scope_idempotent_and_reports_conflicts(admin, curated_store):
    items = [
        {"siren": RENNES, "id_e": "12", "id_d": "DelibQ01", "decision": "publier", "etag": None},
        {"siren": RENNES, "id_e": "12", "id_d": "ContrQ04", "decision": "metadonnees", "etag": None},
    ]
    lot = {"client_request_id": "lot-42", "motif": "revue hebdomadaire", "items": items}
    bad = {
        **lot,
        "items": [
            *items,
            {"siren": BRUZ, "id_e": "13", "id_d": "BruzQ01", "decision": "publier", "etag": None},
        ],
    }
    assert admin("POST", "/admin/v1/decisions", AGENT, body=bad)[0] == 403
    assert list(curated_store.list_keys(layout.admin_decisions_prefix(RENNES))) == []
    status, out, _ = admin("POST", "/admin/v1/decisions", AGENT, body=lot)
    assert status == 200 and out["appliques"] == 2 and out["conflits"] == 0
    status, replay, _ = admin("POST", "/admin/v1/decisions", AGENT, body=lot)  # network retry
    assert status == 200 and replay["appliques"] == 2 and not any(r["modifie"] for r in replay["resultats"])
    assert len(list(curated_store.list_keys(layout.ADMIN_AUDIT_PREFIX))) == 2
    other = {**lot, "client_request_id": "lot-43"}  # another batch built on the same stale view
    status, out, _ = admin("POST", "/admin/v1/decisions", AGENT_RH, body=other)
    assert out["conflits"] == 2 and out["resultats"][0]["actuel"]["decision"] == "publier"
    indiv = {
        "client_request_id": "lot-44",
        "motif": "m",
        "items": [{"siren": RENNES, "id_e": "12", "id_d": "IndivQ03", "decision": "publier", "etag": None}],
    }
    assert admin("POST", "/admin/v1/decisions", AGENT, body=indiv)[1]["resultats"][0]["statut"] == 403


def test_annex_objet_and_switches(admin, curated_store):
    status, detail, _ = admin("GET", Q01, AGENT)
    assert status == 200 and [a["rang"] for a in detail["annexes"]] == [0]
    assert (
        admin("PUT", f"{Q01}/annexes/7", AGENT, body={"publier": False, "motif": "x"}, headers=NEW)[0] == 404
    )
    status, out, _ = admin(
        "PUT", f"{Q01}/annexes/0", AGENT, body={"publier": False, "motif": "nom propre"}, headers=NEW
    )
    assert status == 200
    status, out, _ = admin(
        "PUT",
        f"{Q01}/objet",
        AGENT,
        body={"objet": "Subvention au club nautique", "motif": "coquille"},
        headers=NEW,
    )
    assert status == 200 and out["objet"]["objet"] == "Subvention au club nautique"
    status, vue, _ = admin("GET", f"/admin/v1/collectivites/{RENNES}/reglages", AGENT)
    assert (
        status == 200
        and vue["etag"] is None
        and vue["effectif"] == {"open_data": True, "documents": True, "annexes": True}
    )
    status, out, _ = admin(
        "PUT",
        f"/admin/v1/collectivites/{RENNES}/reglages",
        AGENT,
        body={"open_data": None, "documents": False, "annexes": None, "motif": "élus"},
        headers=NEW,
    )
    assert status == 200
    inputs = load_decision_inputs(curated_store, sirens=[RENNES])
    sha = detail["annexes"][0]["sha256"]
    assert inputs.annexe_publique(RENNES, "DelibQ01", 0, sha, par_defaut=True) is False
    assert inputs.objet(RENNES, "DelibQ01", "reçu") == "Subvention au club nautique"
    assert inputs.switches(RENNES).documents is False and inputs.switches(RENNES).open_data is None
    actions = [e["action"] for e in admin("GET", "/admin/v1/journal", ADMIN)[1]["data"]]
    assert actions == ["reglages_collectivite", "objet_acte", "decision_annexe"]


def test_hostile_bodies_and_headers(admin):
    put = f"{Q01}/decision"
    assert admin("PUT", put, AGENT, body="{not json", headers=NEW)[0] == 400
    status, payload, _ = admin(
        "PUT", put, AGENT, body={"decision": "publier", "motif": "x", "siren": BRUZ}, headers=NEW
    )
    assert status == 422 and "siren" in payload["erreur"]["message"]  # unknown field, never a SIREN override
    assert admin("PUT", put, AGENT, body={"decision": "peut-etre", "motif": "x"}, headers=NEW)[0] == 422
    assert admin("PUT", put, AGENT, body={"decision": "publier", "motif": "\x00"}, headers=NEW)[0] == 422
    assert admin("PUT", put, AGENT, body={"decision": "publier", "motif": "x" * 600}, headers=NEW)[0] == 422
    assert (
        admin(
            "PUT", put, AGENT, body=json.dumps({"decision": "publier", "motif": "x" * 300_000}), headers=NEW
        )[0]
        == 413
    )
    assert (
        admin("PUT", put, AGENT, body={"decision": "publier", "motif": "x"}, headers={"If-Match": 'W/"a"'})[0]
        == 400
    )
    assert (
        admin("PUT", put, AGENT, body={"decision": "publier", "motif": "x"}, headers={"If-Match": '"zzz"'})[0]
        == 412
    )
    assert admin("GET", f"/admin/v1/actes/{RENNES}/12/..", AGENT)[0] == 404
    assert admin("GET", "/admin/v1/actes", AGENT, query="siren=1234")[0] == 422
    assert admin("GET", "/admin/v1/actes", AGENT, query="inconnu=1")[0] == 400
    assert admin("GET", "/admin/v1/journal", AGENT, query="cursor=AAAA")[0] == 422
