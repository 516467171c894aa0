"""End to end (issue 16): decisions taken through the write API are applied by the normal chain.

An agent withdraws a published act (``PUT …/decision`` ``retenir``) and hides one annex of another; an OPSN
admin corrects an objet. Only the normal chain runs (S3 events on ``config/decisions/…`` → normalise → dirty
markers → publish): the withdrawn act is gone from every API route, SCDL file, public document and the
simulated data.gouv.fr portal; the hidden annex is no longer stored nor served while its act stays; the
corrected objet is what is published. Lifting the decision (``publier``, with the ETag read) publishes the
act again. Every change is in the audit log."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from test_runtime_takedown import RENNES, World, assert_gone, internal_rows, public_rows

from regate.actes.model import ANNEX_FIELDS
from regate.storage import layout

pytestmark = [pytest.mark.integration, pytest.mark.slow]

AGENT = {"sub": "agent-rennes", "name": "Agent de Rennes", "siren": RENNES, "scope": "openid regate-admin"}
ADMIN = {"sub": "admin-opsn", "name": "Admin OPSN", "usertype": "ADMIN", "scope": "openid regate-admin"}


class WriteApi:
    """The write API Lambda handler (functions/admin), given claims as the JWT authorizer passes them."""

    def __init__(self) -> None:
        from regate_local.runtime.lambdas import LocalFunction

        self.function = LocalFunction("admin")

    def __call__(
        self, method: str, path: str, who: dict[str, Any] | None, body: Any, headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        from regate_local.serve.server import http_api_event

        event = http_api_event(method, path, {k.lower(): v for k, v in headers.items()})
        event["body"] = json.dumps(body)
        if who is not None:
            event["requestContext"]["authorizer"] = {"jwt": {"claims": who, "scopes": None}}
        result = self.function.invoke(event)
        return result["statusCode"], json.loads(result.get("body") or "{}")


def acte_path(row: dict[str, Any]) -> str:
    return f"/admin/v1/actes/{row['siren']}/{row['id_e']}/{row['id_d']}"


def test_a_withdrawal_through_the_write_api_reaches_every_route_file_and_the_portal(
    moto_endpoint: str, tmp_path: Path
) -> None:
    from regate_local.runtime.demo import push_depot_zips

    with ExitStack() as stack:
        world = World(stack, moto_endpoint, tmp_path, name="admin-takedown")
        push_depot_zips(world.pastell, world.raw)
        world.run()
        write = WriteApi()

        internal = {r["acte_id"]: r for r in internal_rows(world.curated)}
        before = [
            r
            for r in public_rows(world.curated)
            if r["nature"] == 1 and r["documents_publics"] and r["siren"] == RENNES
        ]
        with_annexes = [r for r in before if json.loads(r["annexes"] or "[]")]
        assert len(before) >= 3 and with_annexes, "the seed publishes Rennes acts with and without annexes"
        target = next(r for r in before if r not in with_annexes[:1])
        annexed = with_annexes[0]
        corrected = next(r for r in before if r not in (target, annexed))
        years, sirens = {r["annee"] for r in before}, {RENNES}
        assert (RENNES, target["delib_id"]) in world.api_ids(years, sirens) & world.portal_ids()

        # no claims (the authorizer refused or was bypassed): nothing is written
        path = f"{acte_path(internal[target['acte_id']])}/decision"
        denied = write("PUT", path, None, {"decision": "retenir", "motif": "x"}, {"If-None-Match": "*"})
        assert denied[0] == 401
        other = {**AGENT, "siren": "213500473"}
        assert (
            write("PUT", path, other, {"decision": "retenir", "motif": "x"}, {"If-None-Match": "*"})[0] == 403
        )
        assert not list(world.curated.list_keys(layout.ADMIN_DECISIONS_PREFIX))

        # 1. the agent withdraws one act, hides the first annex of another; the admin corrects an objet
        status, first = write(
            "PUT",
            f"{acte_path(internal[target['acte_id']])}/decision",
            AGENT,
            {"decision": "retenir", "motif": "publié par erreur"},
            {"If-None-Match": "*"},
        )
        assert status == 200 and first["modifie"], first
        annex_id = json.loads(annexed["annexes"])[0]["document_id"]
        fichiers = json.loads(internal[annexed["acte_id"]]["fichiers"])
        nom = json.loads(annexed["annexes"])[0]["nom"]
        annex = next(f for f in fichiers if f["field"] in ANNEX_FIELDS and f["name"] == nom)
        status, hidden = write(
            "PUT",
            f"{acte_path(internal[annexed['acte_id']])}/annexes/{annex['num']}",
            AGENT,
            {"publier": False, "motif": "nom d'un agent"},
            {"If-None-Match": "*"},
        )
        assert status == 200, hidden
        status, fixed = write(
            "PUT",
            f"{acte_path(internal[corrected['acte_id']])}/objet",
            ADMIN,
            {"objet": "Objet corrigé par l'OPSN", "motif": "faute de frappe"},
            {"If-None-Match": "*"},
        )
        assert status == 200, fixed
        keys = set(world.curated.list_keys(layout.admin_decisions_prefix(RENNES)))
        assert len(keys) == 3, keys

        # 2. only the normal chain runs: events on config/decisions/… → normalise → publish
        world.run()
        assert_gone(world, [target], years, sirens)
        decided = {r["acte_id"]: r for r in internal_rows(world.curated)}
        assert decided[target["acte_id"]]["decision"] == "retenir"
        assert decided[target["acte_id"]]["decision_motif"] == "surcharge_operateur"
        # the hidden annex is gone, its act and its other documents stay
        stored = {k.split("/")[2] for k in world.curated.list_keys(layout.PUBLIC_DOCUMENTS_PREFIX)}
        assert annex_id not in stored
        assert world.api(f"/v1/documents/{annex_id}")["statusCode"] == 404
        assert world.api(f"/v1/documents/{annexed['document_id']}")["statusCode"] == 302
        assert (RENNES, annexed["delib_id"]) in world.api_ids(years, sirens) & world.portal_ids()
        # the corrected objet is what is published (the record keeps the objet received)
        now = {r["acte_id"]: r for r in public_rows(world.curated)}
        assert now[corrected["acte_id"]]["delib_objet"] == "Objet corrigé par l'OPSN"
        page = json.loads(world.api(f"/v1/deliberations?siren={RENNES}&limit=1000")["body"])["data"]
        served = {r["delib_id"]: r for r in page}
        assert served[corrected["delib_id"]]["delib_objet"] == "Objet corrigé par l'OPSN", served

        # 3. lifting the decision (with the ETag read) publishes the act again
        status, lifted = write(
            "PUT",
            f"{acte_path(internal[target['acte_id']])}/decision",
            AGENT,
            {"decision": "publier", "motif": "vérifié"},
            {"If-Match": first["etag"]},
        )
        assert status == 200, lifted
        world.run()
        assert (RENNES, target["delib_id"]) in world.api_ids(years, sirens) & world.portal_ids()
        assert world.api(f"/v1/documents/{target['document_id']}")["statusCode"] == 302

        audit = [json.loads(world.curated.get_bytes(k)) for k in world.curated.list_keys("audit/admin/")]
        assert len(audit) == 4
