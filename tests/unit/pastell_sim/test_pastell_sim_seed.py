"""The default Breton seed covers every §20 case; malformed seed files are rejected clearly."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib import resources

import pytest
from stdnum.fr import siren as siren_checker

from regate_local.pastell_sim import SeedError, default_seed, load_seed, parse_seed
from regate_local.pastell_sim.files import ACTES_NS
from regate_local.pastell_sim.flux import ACT_FLUX, NATURE_SHORT, STUDIO_FLUX
from regate_local.pastell_sim.seed import ID_D_RE
from regate_local.pastell_sim.seedgen import build

A = f"{{{ACTES_NS}}}"


@pytest.fixture(scope="module")
def docs(default_sim):
    return list(default_sim.platform.documents.values())


def states(doc) -> list[str]:
    return [h.action for h in doc.history]


def test_shipped_json_is_what_the_generator_builds():
    shipped = resources.files("regate_local.pastell_sim").joinpath("seed/default.json").read_text("utf-8")
    assert json.loads(shipped) == json.loads(json.dumps(build()))


def test_entities_are_real_breton_collectivites(default_sim):
    entities = default_sim.platform.entities
    assert 6 <= len(entities) <= 10
    sirens = {e.siren for e in entities.values()}
    assert {"213502388", "243500139", "242900314"} <= sirens  # Rennes, Rennes Métropole, Brest Métropole
    for e in entities.values():
        if e.siren:
            assert siren_checker.is_valid(e.siren), e.denomination
            assert e.departement in ("22", "29", "35", "56")
    no_siren = [e for e in entities.values() if not e.siren]
    assert [e.type for e in no_siren] == ["centre_de_gestion"]
    assert any(not e.is_active for e in entities.values())
    assert [e.id_e for e in entities.values() if e.entite_mere == "0"] == ["1"]


def test_volume_flux_natures_and_ids(docs):
    assert 60 <= len(docs) <= 120
    assert {d.type for d in docs} == set(ACT_FLUX)
    assert {d.data.get("acte_nature") for d in docs} >= {"1", "2", "3", "4", "5", "6", "7"}
    assert any(len(d.id_d) == 7 for d in docs) and any(len(d.id_d) == 36 for d in docs)
    assert all(ID_D_RE.match(d.id_d) for d in docs)
    years = {d.data["date_de_lacte"][:4] for d in docs if "date_de_lacte" in d.data}
    assert years == {"2024", "2025"}


def test_every_relevant_state(docs):
    last = {d.last.action for d in docs}
    assert {"modification", "send-tdt", "acquiter-tdt", "termine", "annuler-tdt"} <= last
    assert any(d.last.action == "termine" and "acquiter-tdt" in states(d) for d in docs)
    for nature in "123456":
        assert any(d.data.get("acte_nature") == nature and "acquiter-tdt" in states(d) for d in docs), nature


def test_checklist_edge_cases(docs):
    assert any(states(d).count("acquiter-tdt") == 2 for d in docs)
    assert any(d.data.get("classification", "").split(" ")[0].count(".") == 2 for d in docs)
    assert any(d.data.get("date_ar") and d.data["date_de_lacte"] > d.data["date_ar"] for d in docs)
    objets = [d.data.get("objet", "") for d in docs]
    assert any(all(c in o for c in "’œ€") and any(ord(c) > 0xFFFF for c in o) for o in objets)
    assert any('"' in o and "," in o for o in objets)
    classifications = {d.data.get("classification") for d in docs}
    assert {"7.5", "7.5 Subventions"} <= classifications
    studio = [d for d in docs if d.type in STUDIO_FLUX]
    assert {d.data["publication_open_data"] for d in studio if "publication_open_data" in d.data} == {
        "3",
        "1",
        "2",
        "",
    }
    assert any("publication_open_data" not in d.data for d in studio)
    assert not any("publication_open_data" in d.data for d in docs if d.type not in STUDIO_FLUX)


def test_nature_7_and_flux_without_tdt(docs):
    for d in docs:
        if d.data.get("acte_nature") == "7":
            assert d.data["nature_autre_detail"] in ("LD", "AT", "PV", "AP")
        if d.type == "autres-studio-sans-tdt":
            assert d.data["acte_nature"] == "7"
            assert "acquiter-tdt" not in states(d)
    assert any(d.type == "autres-studio-sans-tdt" and d.last.action == "termine" for d in docs)


def test_acknowledged_acts_carry_their_files_and_a_consistent_aractes(default_sim, docs):
    acknowledged = [d for d in docs if "acquiter-tdt" in states(d)]
    assert len(acknowledged) >= 40
    with_annexes = totem = 0
    for d in acknowledged:
        if d.files["arrete"][0].name.endswith(".xml"):  # a TOTEM budget: the TdT stamps PDFs only
            assert d.data["acte_nature"] == "5" and b"DocumentBudgetaire" in d.files["arrete"][0].content
            assert "acte_tamponne" not in d.files
            totem += 1
        else:
            assert d.files["acte_tamponne"][0].content, (d.id_d, "acte_tamponne")
            assert d.files["acte_tamponne"][0].name == d.files["arrete"][0].name.replace(
                ".pdf", "-tampon.pdf"
            )
        for field in ("arrete", "bordereau", "aractes"):
            assert d.files[field][0].content, (d.id_d, field)
        entity = default_sim.platform.entities[d.id_e]
        root = ET.fromstring(d.files["aractes"][0].content)
        id_acte = root.get(f"{A}IDActe")
        dep, siren, day, numero, short = id_acte.split("-")
        assert (dep, siren, numero) == (entity.departement.zfill(3), entity.siren, d.data["numero_de_lacte"])
        assert short == NATURE_SHORT[d.data["acte_nature"]]
        assert day == d.data["date_de_lacte"].replace("-", "")
        assert root.get(f"{A}DateReception") == d.data["date_ar"]
        if "acte_unique_id" in d.data:
            assert d.data["acte_unique_id"] == id_acte
        if d.files.get("autre_document_attache"):
            with_annexes += 1
            assert len(d.files["annexes_tamponnees"]) == len(d.files["autre_document_attache"])
        for slots in d.files.values():
            for slot in slots:
                if slot.name.endswith(".pdf"):
                    assert slot.content.startswith(b"%PDF-1.4") and len(slot.content) < 2048
    assert with_annexes >= 5
    assert totem == 2  # the BP and DM1 2025 of Ville de Rennes (seed/totem/)
    assert any("acte_unique_id" not in d.data for d in acknowledged)  # studio: parse the ARActe


def test_accounts_of_the_interface(default_sim):
    accounts = default_sim.platform.accounts
    assert accounts["regate"].password == "regate-demo" and accounts["regate"].token == "regate-demo-token"
    assert accounts["lecteur"].password == "lecteur-demo"


def _valid() -> dict:
    return {
        "accounts": [
            {"id_u": "1", "login": "a", "password": "b", "roles": [{"id_e": "0", "droits": ["*:lecture"]}]}
        ],
        "entities": [{"id_e": "1", "denomination": "Ville de Rennes", "siren": "213502388"}],
        "documents": [
            {
                "id_d": "abcdefg",
                "id_e": "1",
                "type": "ls-actes",
                "data": {"objet": "x"},
                "files": {"arrete": [{"kind": "acte"}]},
                "history": [["creation", "2024-01-01 10:00:00"]],
            }
        ],
    }


def test_a_minimal_seed_loads(tmp_path):
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(_valid()))
    assert load_seed(path).documents[0].id_d == "abcdefg"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda s: s.pop("accounts"), "accounts"),
        (lambda s: s.update(extra=1), "extra"),
        (lambda s: s["entities"][0].update(siren="12345"), "siren"),
        (lambda s: s["entities"][0].update(entite_mere="9"), "entite_mere 9 does not exist"),
        (lambda s: s["documents"][0].update(type="inconnu"), "unknown flux 'inconnu'"),
        (lambda s: s["documents"][0].update(id_e="9"), "entity 9 does not exist"),
        (lambda s: s["documents"][0].update(id_d="trop-long-id"), "id_d"),
        (lambda s: s["documents"][0]["data"].update(acte_nature=1), "data.acte_nature"),
        (lambda s: s["documents"][0].update(history=[["creation", "2024-01-01"]]), "YYYY-MM-DD HH:MM:SS"),
        (lambda s: s["documents"][0].update(history=[]), "history"),
        (
            lambda s: s["documents"][0].update(
                history=[["modification", "2024-01-02 10:00:00"], ["creation", "2024-01-01 10:00:00"]]
            ),
            "chronological",
        ),
        (lambda s: s["documents"][0]["files"].update(x=[{"kind": "text"}]), "needs 'text'"),
        (lambda s: s["documents"][0]["files"].update(x=[{"kind": "jpeg"}]), "kind"),
        (lambda s: s["documents"].append(dict(s["documents"][0])), "duplicate id_d"),
        (lambda s: s["accounts"][0]["roles"][0].update(id_e="77"), "unknown entity 77"),
    ],
)
def test_malformed_seeds_are_rejected_with_a_clear_message(tmp_path, mutate, expected):
    seed = _valid()
    mutate(seed)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(seed))
    with pytest.raises(SeedError) as info:
        load_seed(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)


def test_non_json_and_wrong_top_level_and_missing_file(tmp_path):
    with pytest.raises(SeedError, match="not valid JSON"):
        parse_seed(b"{nope", origin="x.json")
    with pytest.raises(SeedError, match="top level must be an object"):
        parse_seed(b"[]", origin="x.json")
    with pytest.raises(SeedError, match="cannot be read"):
        load_seed(tmp_path / "absent.json")


def test_default_seed_is_stable():
    assert default_seed() == default_seed()
