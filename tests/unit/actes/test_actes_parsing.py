"""Acts from raw documents: dates, ARActe, pull and push shapes, malformed input → machine-readable codes."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

import pytest

from regate.actes.aracte import ARActeInvalide, parse_aracte, pref_id_from_id_acte
from regate.actes.dates import DateInvalide, parse_date, parse_optional_date
from regate.actes.model import ActeInvalide, acte_from_raw, withdrawal_reason
from regate.capture.envelope import RawDocument

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "normalize"
NS_ROOT = b'<actes:ARActe xmlns:actes="http://www.interieur.gouv.fr/ACTES#v1.1-20040216"'


def raw(name: str, **data) -> RawDocument:
    doc = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    doc = copy.deepcopy(doc)
    doc["detail"]["data"].update(data)
    return RawDocument.model_validate(doc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-05", date(2024, 3, 5)),
        ("2024-3-5", date(2024, 3, 5)),
        ("20240305", date(2024, 3, 5)),
        ("05/03/2024", date(2024, 3, 5)),
        ("5/3/2024", date(2024, 3, 5)),
        ("2024-03-05 10:02:13", date(2024, 3, 5)),
        (" 2024-03-05 ", date(2024, 3, 5)),
    ],
)
def test_actes_dates_accepted(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text", ["le 5 mars", "2024-02-30", "03/05/24", "2024/03/05", "", None, 20240305, "2024-13-01"]
)
def test_actes_dates_rejected(text):
    with pytest.raises(DateInvalide):
        parse_date(text)


def test_actes_optional_date():
    assert parse_optional_date("") is None and parse_optional_date(None) is None


def test_actes_aracte_fixture():
    ar = parse_aracte((FIXTURES / "aracte_del2024_012.xml").read_bytes())
    assert ar.id_acte == "035-213502388-20240115-DEL2024_012-DE"
    assert ar.date_reception == date(2024, 1, 18) and ar.date_acte == date(2024, 1, 15)
    assert ar.numero_interne == "DEL2024_012" and ar.code_nature == "1"
    assert pref_id_from_id_acte(ar.id_acte) == "PREF035"
    assert pref_id_from_id_acte("02A-200000000-20240101-X-DE") == "PREF02A"
    assert pref_id_from_id_acte(None) is None and pref_id_from_id_acte("35-x") is None


@pytest.mark.parametrize(
    "body",
    [
        (FIXTURES / "aracte_billion_laughs.xml").read_bytes(),
        (FIXTURES / "aracte_truncated.xml").read_bytes(),
        b"<other/>",
        b"x" * 1_000_001,
        NS_ROOT + b' actes:IDActe="garbage"/>',
        NS_ROOT + b' actes:DateReception="hier"/>',
    ],
)
def test_actes_aracte_malformed(body):
    with pytest.raises(ARActeInvalide):
        parse_aracte(body)


def test_actes_pull_document():
    acte = acte_from_raw(raw("pull_deliberation.json"))
    assert (acte.id_e, acte.id_d, acte.siren, acte.source) == ("12", "Xk3P9aQ", "213502388", "pull")
    assert acte.nature == 1 and acte.nature_libelle == "Délibérations"
    assert acte.classification_code == "7.5" and acte.classification_niveau2 == "7.5"
    assert acte.date_ar == date(2024, 1, 18) and acte.denomination == "Ville de Rennes"
    assert acte.main_file().field == "acte_tamponne"
    assert [f.field for f in acte.annex_files()] == ["autre_document_attache"]
    assert acte.publication_open_data == "3" and acte.vote is None


def test_actes_push_document_and_unicode():
    objet = "Vœux 2024 : l’été, 5 € — 🎉"
    acte = acte_from_raw(
        raw("push_deliberation.json", objet=objet, classification="8.5.1 Politique de la ville")
    )
    assert acte.source == "push" and acte.date_acte == date(2024, 3, 5)
    assert (
        acte.objet == objet and acte.classification_code == "8.5.1" and acte.classification_niveau2 == "8.5"
    )
    assert acte.denomination == "COMMUNE DE RENNES" and acte.publication_open_data is None


def test_actes_aracte_read_when_ids_absent():
    calls = []

    def read(key: str) -> bytes:
        calls.append(key)
        return (FIXTURES / "aracte_del2024_012.xml").read_bytes()

    acte = acte_from_raw(raw("pull_deliberation.json", acte_unique_id="", date_ar=""), read_file=read)
    assert acte.acte_unique_id == "035-213502388-20240115-DEL2024_012-DE" and acte.date_ar == date(
        2024, 1, 18
    )
    assert calls == ["pastell/12/Xk3P9aQ/files/aractes/0/DEL2024_012-ar-actes.xml"]
    with pytest.raises(ActeInvalide) as err:
        acte_from_raw(raw("pull_deliberation.json", date_ar=""), read_file=lambda _k: b"<broken")
    assert err.value.code == "aracte_invalide"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"acte_nature": "9"}, "nature_invalide"),
        ({"acte_nature": ""}, "nature_absente"),
        ({"numero_de_lacte": " "}, "numero_absent"),
        ({"objet": None}, "objet_absent"),
        ({"date_de_lacte": "32/01/2024"}, "date_invalide"),
        ({"date_de_lacte": ""}, "date_acte_absente"),
        ({"date_ar": "demain"}, "date_invalide"),
        ({"classification": "n'importe quoi"}, "classification_invalide"),
        ({"classification": ["7.5"]}, "classification_invalide"),
        ({"nature_autre_detail": "LD"}, "nature_autre_detail_invalide"),  # only for nature 7
    ],
)
def test_actes_malformed_codes(data, code):
    with pytest.raises(ActeInvalide) as err:
        acte_from_raw(raw("pull_deliberation.json", **data))
    assert err.value.code == code


def test_actes_siren_absent_or_invalid():
    with pytest.raises(ActeInvalide) as err:
        acte_from_raw(raw("malformed_no_siren.json"))
    assert err.value.code == "siren_absent"
    doc = raw("pull_deliberation.json")
    doc.capture.siren = "12345"
    with pytest.raises(ActeInvalide) as err:
        acte_from_raw(doc)
    assert err.value.code == "siren_invalide"


def test_actes_nature_7_subtype_and_votes():
    acte = acte_from_raw(
        raw(
            "pull_deliberation.json",
            acte_nature="7",
            nature_autre_detail="pv",
            vote_effectif="43",
            vote_reel="40",
            vote_pour="25",
            vote_contre="10",
            vote_abstention="5",
        )
    )
    assert acte.nature == 7 and acte.nature_autre_detail == "PV"
    assert acte.vote is not None and acte.vote.reel == 40


def test_actes_withdrawal_states():
    assert withdrawal_reason(raw("pull_deliberation.json")) is None
    cancelled = raw("pull_deliberation.json")
    cancelled.detail["last_action"] = {"action": "annuler-tdt"}
    assert withdrawal_reason(cancelled) == "annule"
    deleted = raw("pull_deliberation.json")
    deleted.detail["last_action"] = {"action": "supression"}
    assert withdrawal_reason(deleted) == "supprime"
    assert withdrawal_reason(raw("pull_deliberation.json", date_ar_annulation="2024-02-01")) == "annule"


def test_actes_data_absent():
    doc = raw("pull_deliberation.json")
    doc.detail["data"] = "oops"
    with pytest.raises(ActeInvalide) as err:
        acte_from_raw(doc)
    assert err.value.code == "data_absent"
