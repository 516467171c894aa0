"""Test data of the back-office tests: acts captured as capture writes them, normalised by the real chain.

Rennes (213502388, entity 12): a délibération à statuer with an annex, one published, an acte individuel à
statuer (RH only), a contract à statuer. Bruz (213500473, entity 13): one délibération à statuer.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

from regate.storage import layout

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "normalize" / "pull_deliberation.json"
#: the flux definition capture stores beside pulled acts (without it: ``a_statuer``, table_absente)
FLUX_DEFINITION = FIXTURE.with_name("flux_deliberations_studio_megalis.json")
RENNES = "213502388"
BRUZ = "213500473"
ACTS: tuple[dict[str, Any], ...] = (
    {
        "siren": RENNES,
        "id_e": "12",
        "id_d": "DelibQ01",
        "nature": "1",
        "pod": "2",
        "numero": "DEL2024_101",
        "objet": "Subvention au club de voile",
    },
    {
        "siren": RENNES,
        "id_e": "12",
        "id_d": "DelibP02",
        "nature": "1",
        "pod": "3",
        "numero": "DEL2024_102",
        "objet": "Budget annexe de l'eau",
    },
    {
        "siren": RENNES,
        "id_e": "12",
        "id_d": "IndivQ03",
        "nature": "3",
        "pod": "2",
        "numero": "ARR2024_103",
        "objet": "Nomination de Mme Durand",
    },
    {
        "siren": RENNES,
        "id_e": "12",
        "id_d": "ContrQ04",
        "nature": "4",
        "pod": "",
        "numero": "CON2024_104",
        "objet": "Convention avec le conservatoire",
    },
    {
        "siren": BRUZ,
        "id_e": "13",
        "id_d": "BruzQ01",
        "nature": "1",
        "pod": "2",
        "numero": "DEL2024_201",
        "objet": "Aménagement de la place",
    },
)


def seed_raw(raw: Any) -> None:
    template = json.loads(FIXTURE.read_text(encoding="utf-8"))
    raw.put_if_changed(layout.flux_definition_key(template["capture"]["flux"]), FLUX_DEFINITION.read_bytes())
    for act in ACTS:
        doc = copy.deepcopy(template)
        cap = doc["capture"]
        cap["id_e"], cap["id_d"], cap["siren"] = act["id_e"], act["id_d"], act["siren"]
        doc["entite"]["siren"], doc["entite"]["id_e"] = act["siren"], act["id_e"]
        doc["detail"]["info"]["id_d"] = act["id_d"]
        data = doc["detail"]["data"]
        data.update(
            {
                "acte_nature": act["nature"],
                "numero_de_lacte": act["numero"],
                "objet": act["objet"],
                "publication_open_data": act["pod"],
                "acte_unique_id": f"035-{act['siren']}-20240115-{act['numero']}-DE",
            }
        )
        files = []
        for f in cap["files"]:
            body = f"%PDF-1.4 {act['id_d']} {f['field']}".encode()
            key = layout.document_file_key(act["id_e"], act["id_d"], f["field"], f["num"], f["name"])
            raw.put_if_changed(key, body)
            files.append({**f, "key": key, "sha256": hashlib.sha256(body).hexdigest(), "size": len(body)})
        cap["files"] = files
        raw.put_if_changed(
            layout.document_detail_key(act["id_e"], act["id_d"]),
            json.dumps(doc, ensure_ascii=False, sort_keys=True).encode(),
        )


def normalise(raw: Any, curated: Any, settings: Any) -> Any:
    from regate.normalize.pipeline import Normalizer
    from regate.normalize.reports import RunReport

    report = RunReport()
    Normalizer.from_stores(raw, curated, settings, report=report).run_pending(report)
    return report


def claims(
    sub: str = "agent-rennes",
    siren: Any = RENNES,
    usertype: str | None = None,
    roles: Any = None,
    scope: str = "openid profile regate-admin",
    name: str = "Agent de Rennes",
) -> dict[str, Any]:
    out: dict[str, Any] = {"sub": sub, "name": name, "scope": scope}
    if siren is not None:
        out["siren"] = siren
    if usertype is not None:
        out["usertype"] = usertype
    if roles is not None:
        out["role_opendata"] = roles
    return out


ADMIN = claims(sub="admin-opsn", siren=None, usertype="ADMIN", roles="rh", name="Admin OPSN")
AGENT = claims()
AGENT_RH = claims(sub="rh-rennes", roles="rh", name="RH de Rennes")
AGENT_BRUZ = claims(sub="agent-bruz", siren=BRUZ, name="Agent de Bruz")


def event(
    method: str,
    path: str,
    token_claims: dict[str, Any] | None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: str = "",
) -> dict[str, Any]:
    from regate_local.serve.server import http_api_event

    target = path + (f"?{query}" if query else "")
    ev = http_api_event(method, target, {k.lower(): v for k, v in (headers or {}).items()})
    if body is not None:
        ev["body"] = body if isinstance(body, str) else json.dumps(body)
    if token_claims is not None:
        ev["requestContext"]["authorizer"] = {"jwt": {"claims": token_claims, "scopes": None}}
    return ev


class Caller:
    """Calls the resolver with events as API Gateway would (claims already validated)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(
        self, method: str, path: str, who: dict[str, Any] | None, **kwargs: Any
    ) -> tuple[int, Any, dict]:
        from regate_local.serve.server import _LocalContext

        result = self.app.resolve(event(method, path, who, **kwargs), _LocalContext())
        text = result.get("body") or ""
        headers = result.get("headers") or {}
        try:
            payload = json.loads(text) if text and "json" in headers.get("Content-Type", "") else text
        except json.JSONDecodeError:
            payload = text
        return result["statusCode"], payload, headers
