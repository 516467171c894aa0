"""Test/demo controls: add, transition, correct, cancel, delete, faults, log, depot ZIP; write routes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
import zipfile

import pytest
from pastell_sim_helpers import DOC_A, DOC_B, REGATE, call

from regate_local.pastell_sim import PastellSimulator
from regate_local.pastell_sim.files import ACTES_NS

A = f"{{{ACTES_NS}}}"
LIST = "/api/v2/entite/5/document"


def acks(sim) -> list[str]:
    rows = call(sim, LIST, {"type": "ls-actes", "etatTransit": "acquiter-tdt"}).json
    return [r["id_d"] for r in rows]


def test_add_document_then_acknowledge(small_sim):
    id_d = small_sim.add_document(
        "5",
        "ls-actes",
        {
            "acte_nature": "2",
            "numero_de_lacte": "AR2024_77",
            "objet": "Stationnement",
            "date_de_lacte": "2024-05-02",
        },
        files={"arrete": [("AR2024_77.pdf", b"%PDF-1.4 fake")]},
        history=[("creation", "2024-05-02 09:00:00"), ("send-tdt", "2024-05-02 10:00:00")],
    )
    assert len(id_d) == 7 and acks(small_sim) == []
    small_sim.transition("5", id_d, "acquiter-tdt", at="2024-05-03 11:00:00")
    assert acks(small_sim) == [id_d]
    detail = call(small_sim, f"{LIST}/{id_d}").json
    assert detail["data"]["date_ar"] == "2024-05-03"
    assert detail["data"]["acte_unique_id"] == "035-213502388-20240502-AR2024_77-AR"
    assert detail["data"]["acte_tamponne"] == ["AR2024_77-tampon.pdf"]
    assert detail["last_action"]["action"] == "acquiter-tdt"
    xml = call(small_sim, f"{LIST}/{id_d}/file/aractes/0").body
    assert ET.fromstring(xml).get(f"{A}DateReception") == "2024-05-03"
    journal = [e for e in call(small_sim, "/api/v2/journal", {"id_d": id_d}).json if e["type"] == "1"]
    assert journal[0]["action"] == "acquiter-tdt"
    assert journal[0]["message"] == "L'acte a été acquitté par le contrôle de légalité"


def test_add_document_with_explicit_id_and_errors(small_sim):
    assert small_sim.add_document("5", "ls-actes", {"objet": "x"}, id_d="Zz9Zz9Z") == "Zz9Zz9Z"
    with pytest.raises(ValueError):
        small_sim.add_document("5", "ls-actes", {"objet": "x"}, id_d="Zz9Zz9Z")
    with pytest.raises(KeyError):
        small_sim.add_document("404", "ls-actes", {"objet": "x"})
    with pytest.raises(ValueError):
        small_sim.add_document("5", "ls-actes", {"objet": "x"}, history=[("creation", "2024-05-02")])


def test_set_data_moves_modification_to_now(small_sim):
    small_sim.set_data("5", DOC_A, objet="Tarifs corrigés de la cantine")
    info = call(small_sim, f"{LIST}/{DOC_A}").json["info"]
    assert info["titre"] == "Tarifs corrigés de la cantine"
    assert info["modification"] == "2024-06-01 12:00:00"  # FakeClock 10:00 UTC = 12:00 Europe/Paris


def test_set_file_replaces_or_appends(small_sim):
    small_sim.set_file("5", DOC_A, "arrete", 0, "nouveau.pdf", b"%PDF-1.4 v2")
    small_sim.set_file("5", DOC_A, "autre_document_attache", 2, "plan.pdf", b"%PDF-1.4 plan")
    data = call(small_sim, f"{LIST}/{DOC_A}").json["data"]
    assert data["arrete"] == ["nouveau.pdf"]
    assert data["autre_document_attache"][-1] == "plan.pdf"
    assert call(small_sim, f"{LIST}/{DOC_A}/file/arrete/0").body == b"%PDF-1.4 v2"
    with pytest.raises(IndexError):
        small_sim.set_file("5", DOC_A, "arrete", 5, "x.pdf", b"")


def test_cancel_goes_through_the_three_states(small_sim):
    small_sim.cancel("5", DOC_B, at="2024-03-01 10:00:00")
    rows = call(
        small_sim,
        LIST,
        {"type": "deliberations-studio", "etatTransit": "acquiter-tdt", "notEtatTransit": "annuler-tdt"},
    ).json
    assert DOC_B not in [r["id_d"] for r in rows]
    detail = call(small_sim, f"{LIST}/{DOC_B}").json
    assert detail["last_action"]["action"] == "annuler-tdt"
    assert [h.action for h in small_sim.platform.documents[DOC_B].history][-3:] == [
        "annulation-tdt",
        "verif-annulation-tdt",
        "annuler-tdt",
    ]


def test_delete_makes_the_document_disappear(small_sim):
    small_sim.delete("5", DOC_B, at="2024-03-01 10:00:00")
    assert call(small_sim, f"{LIST}/{DOC_B}").status == 404
    events = call(small_sim, "/api/v2/journal", {"id_d": DOC_B}).json
    assert events[0]["action"] == "supression"


def test_inject_fault_then_recover(small_sim):
    small_sim.inject_fault(r"/document/" + DOC_A + "$", 500, times=2)
    small_sim.inject_fault(r"/entite$", 429, headers={"Retry-After": "3"})
    assert call(small_sim, f"{LIST}/{DOC_A}").status == 500
    assert call(small_sim, f"{LIST}/{DOC_A}").status == 500
    assert call(small_sim, f"{LIST}/{DOC_A}").status == 200
    throttled = call(small_sim, "/api/v2/entite")
    assert throttled.status == 429 and throttled.headers["retry-after"] == "3"
    assert call(small_sim, "/api/v2/entite").status == 200
    small_sim.inject_fault("/entite$", 503, method="POST", body=b"<html>maintenance</html>")
    assert call(small_sim, "/api/v2/entite").status == 200  # GET does not match a POST fault


def test_request_log_entries(small_sim):
    small_sim.reset_log()
    call(small_sim, LIST, [("type", "ls-actes"), ("id_d[]", "a"), ("id_d[]", "b")])
    entry = small_sim.request_log[0]
    assert (entry.method, entry.path, entry.account) == ("GET", LIST, "regate")
    assert entry.query == {"type": "ls-actes", "id_d[]": ["a", "b"]}


def test_latency_uses_the_clock(clock, small_sim):
    slow = PastellSimulator(seed=small_sim.seed, latency_ms=20, clock=clock)
    call(slow, "/api/v2/version")
    assert clock.sleeps == [0.02]


def test_depot_zip(small_sim, tmp_path):
    path = small_sim.write_depot_zip("5", DOC_A, tmp_path / "depot")
    assert path.name == f"{DOC_A}.zip"
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        meta = json.loads(zf.read("metadata.json"))
    assert names == {"metadata.json", "DEL2024_001.pdf", "DEL2024_001-tampon.pdf", "grille_tarifaire.pdf"}
    assert meta["arrete"] == ["DEL2024_001.pdf"] and meta["acte_tamponne"] == ["DEL2024_001-tampon.pdf"]
    assert meta["autre_document_attache"] == ["grille_tarifaire.pdf"]  # the file missing on disk is left out
    assert (meta["id_e"], meta["siren"], meta["entity_name"]) == ("5", "213502388", "Ville de Rennes")
    assert meta["date_ar"] == "2024-01-12" and meta["publication_open_data"] == "3"
    # Same act, same bytes: replays are byte-identical.
    again = small_sim.write_depot_zip("5", DOC_A, tmp_path / "other")
    assert again.read_bytes() == path.read_bytes()


def test_create_patch_file_action_delete_over_the_api(small_sim):
    created = call(
        small_sim,
        "/api/v2/entite/5/document",
        method="POST",
        body=b"type=ls-actes",
        content_type="application/x-www-form-urlencoded",
    )
    assert created.status == 201
    id_d = created.json["id_d"]
    assert len(id_d) == 36 and created.json["info"]["type"] == "ls-actes"
    fields = "acte_nature=1&numero_de_lacte=DEL2024_500&objet=Tarifs%20du%20port&date_de_lacte=2024-05-02"
    fields += "&classification=7.2&type_piece=1%20fichier(s)%20typ%C3%A9(s)"
    patched = call(
        small_sim,
        f"{LIST}/{id_d}",
        method="PATCH",
        body=fields.encode(),
        content_type="application/x-www-form-urlencoded",
    )
    assert patched.status == 200 and patched.json["result"] == "ok"
    assert patched.json["content"]["data"]["objet"] == "Tarifs du port" and patched.json["formulaire_ok"] == 0
    boundary = "XyZ"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file_name"\r\n\r\nDEL2024_500.pdf\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file_content"; filename="a.pdf"\r\n'
        f"Content-Type: application/pdf\r\n\r\n%PDF-1.4 x\r\n--{boundary}--\r\n"
    ).encode()
    added = call(
        small_sim,
        f"{LIST}/{id_d}/file/arrete",
        method="POST",
        body=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert added.status == 201 and added.json["formulaire_ok"] == 1
    assert call(small_sim, f"{LIST}/{id_d}/file/arrete/0").body == b"%PDF-1.4 x"
    refused = call(small_sim, f"{LIST}/{id_d}/action/acquiter-tdt", method="POST")
    assert refused.status == 400 and refused.error.startswith("L'action « acquiter-tdt »  n'est pas permise")
    sent = call(small_sim, f"{LIST}/{id_d}/action/orientation", method="POST")
    assert sent.status == 201 and sent.json["result"] is True
    assert call(small_sim, f"{LIST}/{id_d}").json["last_action"]["action"] == "send-tdt"
    small_sim.transition("5", id_d, "acquiter-tdt", at="2024-05-04 10:00:00")
    assert call(small_sim, f"{LIST}/{id_d}", method="DELETE").status == 400  # not from acquiter-tdt
    other = call(
        small_sim,
        "/api/v2/entite/5/document",
        method="POST",
        body=b"type=ls-actes",
        content_type="application/x-www-form-urlencoded",
    ).json["id_d"]
    deleted = call(small_sim, f"{LIST}/{other}", method="DELETE", auth=REGATE)
    assert deleted.status == 204 and deleted.body == b""


def test_json_bodies_are_ignored(small_sim):
    answer = call(
        small_sim,
        "/api/v2/entite/5/document",
        method="POST",
        body=b'{"type": "ls-actes"}',
        content_type="application/json",
    )
    assert answer.status == 400 and "type" in answer.error
