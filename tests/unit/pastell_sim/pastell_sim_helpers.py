"""Simulator unit-test helpers: a small seed whose dates sit on filter bounds, a socket-free caller."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

from regate_local.pastell_sim import PastellSimulator
from regate_local.pastell_sim.api import Request

DOC_A = "AAAAAA1"  # acknowledged once then termine
DOC_B = "BBBBBB2"  # acknowledged twice, first time exactly at midnight
DOC_C = "CCCCCC3"  # still being edited
DOC_D = "0f8fad5b-d9cb-469f-a165-70867728950e"  # acknowledged at 23:59:59 then cancelled
DOC_E = "EEEEEE5"  # acknowledged, but in ANOTHER entity
DOC_F = "FFFFFF6"  # actes-generique, acknowledged

SMALL_SEED: dict[str, Any] = {
    "version": 1,
    "accounts": [
        {
            "id_u": "1",
            "login": "regate",
            "password": "regate-demo",
            "token": "regate-demo-token",
            "roles": [
                {"id_e": "0", "droits": ["entite:lecture", "journal:lecture", "*:lecture", "*:edition"]}
            ],
        },
        {
            "id_u": "2",
            "login": "lecteur",
            "password": "lecteur-demo",
            "roles": [{"id_e": "0", "droits": ["entite:lecture", "journal:lecture", "*:lecture"]}],
        },
        {
            "id_u": "3",
            "login": "parti",
            "password": "parti-demo",
            "active": False,
            "roles": [{"id_e": "5", "droits": ["entite:lecture"]}],
        },
        {
            "id_u": "4",
            "login": "bruz",
            "password": "bruz-demo",
            "roles": [{"id_e": "6", "droits": ["entite:lecture", "deliberations-studio:lecture"]}],
        },
    ],
    "entities": [
        {"id_e": "1", "denomination": "Mégalis Bretagne", "siren": "253514491", "departement": "35"},
        {
            "id_e": "5",
            "denomination": "Ville de Rennes",
            "siren": "213502388",
            "entite_mere": "1",
            "departement": "35",
        },
        {
            "id_e": "6",
            "denomination": "Commune de Bruz",
            "siren": "213500473",
            "entite_mere": "1",
            "departement": "35",
            "is_active": False,
        },
    ],
    "documents": [
        {
            "id_d": DOC_A,
            "id_e": "5",
            "type": "deliberations-studio",
            "data": {
                "acte_nature": "1",
                "numero_de_lacte": "DEL2024_001",
                "objet": "Tarifs de la cantine scolaire",
                "date_de_lacte": "2024-01-09",
                "classification": "7.2 Fiscalité",
                "date_ar": "2024-01-12",
                "publication_open_data": "3",
            },
            "files": {
                "arrete": [{"kind": "acte"}],
                "autre_document_attache": [
                    {"kind": "annexe", "name": "grille_tarifaire.pdf"},
                    {"kind": "missing", "name": "perdu.pdf"},
                ],
                "aractes": [{"kind": "aractes"}],
                "acte_tamponne": [{"kind": "acte-tampon"}],
                "bordereau": [{"kind": "bordereau"}],
                "annexes_tamponnees": [],
            },
            "history": [
                ["creation", "2024-01-10 09:00:00"],
                ["send-tdt", "2024-01-10 10:00:00"],
                ["acquiter-tdt", "2024-01-12 10:00:00"],
                ["termine", "2024-01-12 10:00:05"],
            ],
        },
        {
            "id_d": DOC_B,
            "id_e": "5",
            "type": "deliberations-studio",
            "data": {"acte_nature": "1", "numero_de_lacte": "DEL2024_002", "objet": "Élection du maire"},
            "history": [
                ["creation", "2024-01-30 09:00:00"],
                ["acquiter-tdt", "2024-02-01 00:00:00"],
                ["tamponner-tdt", "2024-02-01 12:00:00"],
                ["acquiter-tdt", "2024-02-02 08:00:00"],
            ],
        },
        {
            "id_d": DOC_C,
            "id_e": "5",
            "type": "deliberations-studio",
            "data": {"objet": "Budget annexe du port"},
            "history": [["creation", "2024-01-31 11:00:00"], ["modification", "2024-01-31 12:00:00"]],
        },
        {
            "id_d": DOC_D,
            "id_e": "5",
            "type": "deliberations-studio",
            "data": {"objet": "Zone d'aménagement concerté"},
            "history": [
                ["creation", "2024-01-31 08:00:00"],
                ["acquiter-tdt", "2024-01-31 23:59:59"],
                ["annulation-tdt", "2024-02-10 09:00:00"],
                ["verif-annulation-tdt", "2024-02-10 09:30:00"],
                ["annuler-tdt", "2024-02-10 10:00:00"],
            ],
        },
        {
            "id_d": DOC_E,
            "id_e": "6",
            "type": "deliberations-studio",
            "data": {"objet": "Acte de Bruz"},
            "history": [["creation", "2024-01-14 09:00:00"], ["acquiter-tdt", "2024-01-15 10:00:00"]],
        },
        {
            "id_d": DOC_F,
            "id_e": "5",
            "type": "actes-generique",
            "data": {"objet": "Convention avec le CCAS", "numero_de_lacte": "CM_2024_007"},
            "history": [["creation", "2024-01-19 09:00:00"], ["acquiter-tdt", "2024-01-20 10:00:00"]],
        },
    ],
}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error(self) -> str:
        return self.json["error-message"]


def basic(login: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


REGATE = basic("regate", "regate-demo")
LECTEUR = basic("lecteur", "lecteur-demo")


def call(
    sim: PastellSimulator,
    path: str,
    params: dict[str, Any] | list[tuple[str, str]] | None = None,
    *,
    method: str = "GET",
    auth: str | None = REGATE,
    ip: str = "10.0.0.1",
    body: bytes = b"",
    content_type: str = "",
) -> Answer:
    """One request through the simulator's handler, without a socket (fast unit tests)."""
    query = parse_qs(urlencode(params or {}, doseq=True), keep_blank_values=True)
    headers = {"authorization": auth} if auth else {}
    req = Request(method, path, query, headers, body, ip)
    response, _login = sim.handle(req, content_type=content_type)
    return Answer(response.status, {k.lower(): v for k, v in response.headers}, response.body)
