"""Decisions fail closed (issue 9.1): ambiguous codes, missing flux definitions, fallback tables and damaged
operator files never publish; a definition captured late, or a repaired file, is applied by the chain."""

from __future__ import annotations

import csv
import io
import json
import time

import pyarrow.parquet as pq
import pytest
from conftest import NORMALIZE_FIXTURES, RENNES_SIRET, s3_event, sqs_of  # type: ignore[import-not-found]

from regate.clock import FakeClock
from regate.normalize.run import run_normalize
from regate.storage import layout

pytestmark = pytest.mark.integration
FIXTURES = NORMALIZE_FIXTURES.parent
RENNES = "213502388"
CONFIG_HEADER = "siren,siret,nom,open_data,documents,annexes\n"


def normalize(raw_store, curated_store, settings):
    return run_normalize(raw_store, curated_store, settings, workers=2)


def handle(evt, settings, s3_client):
    from normalize_handler import handle as real_handle  # functions/normalize on pythonpath

    return real_handle(evt, None, settings, FakeClock(), s3_client=s3_client)


def decisions(report) -> dict[str, tuple[str, str]]:
    items = report.published + report.withheld + [p for p in report.pending if p.reason == "a_statuer"]
    return {i.id_d: (i.decision, i.motif) for i in items}


def internal(curated_store, siren: str = RENNES, annee: int = 2024) -> dict[str, dict]:
    key = layout.actes_parquet_key(siren, annee)
    if not curated_store.exists(key):
        return {}
    return {r["id_d"]: r for r in pq.read_table(io.BytesIO(curated_store.get_bytes(key))).to_pylist()}


def public_ids(curated_store, siren: str = RENNES, annee: int = 2024) -> set[str]:
    """Everything public about the partition: public Parquet, SCDL file rows, documents."""
    found: set[str] = set()
    key = layout.actes_parquet_key(siren, annee, public=True)
    if curated_store.exists(key):
        found |= {r["delib_id"] for r in pq.read_table(io.BytesIO(curated_store.get_bytes(key))).to_pylist()}
    csv_key = layout.scdl_deliberations_key(siren, annee)
    if curated_store.exists(csv_key):
        rows = csv.DictReader(io.StringIO(curated_store.get_bytes(csv_key).decode()))
        found |= {r["DELIB_ID"] for r in rows}
    return found


def refusal(report):
    """The one error saying an operator file was refused (and what is used instead)."""
    return next(e for e in report.errors if e.code.endswith((":last_good", ":unreadable")))


def documents_of(row: dict) -> set[str]:
    """Public document ids of an internal Parquet row (main act + annexes)."""
    return {row["document_id"]} | {a["document_id"] for a in json.loads(row["annexes"] or "[]")}


def document_ids(curated_store) -> set[str]:
    return {k.split("/")[2] for k in curated_store.list_keys(layout.PUBLIC_DOCUMENTS_PREFIX)}


def rennes_config(curated_store, open_data: str = "") -> None:
    body = f"{CONFIG_HEADER}{RENNES},{RENNES_SIRET},Ville de Rennes,{open_data},,\n"
    curated_store.put_if_changed(layout.CONFIG_COLLECTIVITES_KEY, body.encode())


# ----------------------------------------------------------------------------------- code tables
def test_pushed_and_pulled_code_0_acts_are_withheld(seeder, raw_store, curated_store, settings):
    rennes_config(curated_store)
    raw_store.put_if_changed(
        layout.flux_definition_key("actes-reglementaires-studio"),
        (NORMALIZE_FIXTURES / "flux_zero_is_oui.json").read_bytes(),
    )
    seeder.put(
        "pull_deliberation.json", id_d="Zero001", data={"numero_de_lacte": "Z1", "publication_open_data": "0"}
    )
    seeder.put(
        "pull_deliberation.json",
        id_d="Zero002",
        flux="actes-reglementaires-studio",
        data={"numero_de_lacte": "Z2", "publication_open_data": "0"},
    )
    seeder.put(
        "push_deliberation.json", id_d="Zero003", data={"numero_de_lacte": "Z3", "publication_open_data": "0"}
    )
    seeder.put("pull_deliberation.json", id_d="Pub0001", data={"numero_de_lacte": "P1"})  # "3" = Oui
    report = normalize(raw_store, curated_store, settings)
    assert decisions(report) == {
        "Zero001": ("a_statuer", "publication_open_data_inconnu"),  # not in the Mégalis studio table
        "Zero002": ("a_statuer", "code_0_ambigu"),  # the table says "Oui": still not automatic
        "Zero003": ("a_statuer", "table_absente"),  # depot ZIP: no flux definition
        "Pub0001": ("publier", "pastell_oui"),
    }
    assert public_ids(curated_store) == {"P1"}
    assert document_ids(curated_store) == documents_of(internal(curated_store)["Pub0001"])
    assert {p.id_d for p in report.pending if p.reason == "a_statuer"} == {"Zero001", "Zero002", "Zero003"}


def test_a_missing_flux_definition_withholds_then_the_captured_definition_publishes(
    seeder, raw_store, curated_store, settings, s3_client
):
    """table_absente, then: handler on the definition's S3 event (AWS) and `regate normalize` (CLI)."""
    rennes_config(curated_store)
    seeder.put("pull_deliberation.json", flux_definition=False)  # code "3", definition never captured
    seeder.put("push_deliberation.json", data={"publication_open_data": "1"})  # depot ZIP, code "1"
    report = normalize(raw_store, curated_store, settings)
    assert decisions(report) == {
        "Xk3P9aQ": ("a_statuer", "table_absente"),
        "Ab12Cd3": ("a_statuer", "table_absente"),
    }
    assert public_ids(curated_store) == set()
    assert list(curated_store.list_keys(layout.PUBLIC_DOCUMENTS_PREFIX)) == []
    markers = set(curated_store.list_keys(layout.AWAITING_FLUX_PREFIX))
    assert markers == {
        layout.awaiting_flux_key("deliberations-studio", "12", "Xk3P9aQ"),
        layout.awaiting_flux_key("ged-megalis-opendata", "152", "Ab12Cd3"),
    }
    # an unrelated later run changes nothing (the acts stay withheld, no new version)
    assert normalize(raw_store, curated_store, settings).acts_normalised == 0

    # the next capture stores the definition: its S3 event re-decides the acts that waited for it
    key = layout.flux_definition_key("deliberations-studio")
    raw_store.put_if_changed(
        key, (NORMALIZE_FIXTURES / "flux_deliberations_studio_megalis.json").read_bytes()
    )
    assert handle(sqs_of(s3_event(raw_store, key)), settings, s3_client) == {"batchItemFailures": []}
    assert public_ids(curated_store) == {"DEL2024_012"}
    assert internal(curated_store)["Xk3P9aQ"]["decision_motif"] == "pastell_oui"
    assert list(curated_store.list_keys(layout.PUBLIC_DOCUMENTS_PREFIX))
    assert set(curated_store.list_keys(layout.AWAITING_FLUX_PREFIX)) == {
        layout.awaiting_flux_key("ged-megalis-opendata", "152", "Ab12Cd3")
    }

    # the depot flux definition (super-ged-megalis: 1 = oui) reaches raw: `regate normalize` applies it
    raw_store.put_if_changed(
        layout.flux_definition_key("ged-megalis-opendata"),
        (NORMALIZE_FIXTURES / "flux_ged_megalis_opendata.json").read_bytes(),
    )
    again = normalize(raw_store, curated_store, settings)
    assert decisions(again) == {"Ab12Cd3": ("publier", "pastell_oui")}
    assert public_ids(curated_store) == {"DEL2024_012", "CM_2024_031"}
    assert list(curated_store.list_keys(layout.AWAITING_FLUX_PREFIX)) == []


def test_an_unreadable_flux_definition_keeps_its_last_good_version(
    seeder, raw_store, curated_store, settings
):
    rennes_config(curated_store)
    seeder.put("pull_deliberation.json")
    normalize(raw_store, curated_store, settings)
    assert public_ids(curated_store) == {"DEL2024_012"}
    key = layout.flux_definition_key("deliberations-studio")
    raw_store.put_if_changed(key, (NORMALIZE_FIXTURES / "flux_truncated.json").read_bytes())
    report = normalize(raw_store, curated_store, settings)
    assert [e.code for e in report.errors] == ["flux_definition:last_good"]
    assert public_ids(curated_store) == {"DEL2024_012"}  # same table: nothing re-decided, nothing lost
    assert report.acts_normalised == 0


def test_actes_individuels_are_never_published_by_a_fallback(seeder, raw_store, curated_store, settings):
    """A definition without options for publication_open_data → fallback: only code 3, never natures 3/6."""
    rennes_config(curated_store)
    raw_store.put_if_changed(
        layout.flux_definition_key("actes-generique"),
        (NORMALIZE_FIXTURES / "flux_actes_generique.json").read_bytes(),
    )
    acts = {
        "Indiv03": {"acte_nature": "3", "publication_open_data": "3", "numero_de_lacte": "AI1"},
        "Autre06": {"acte_nature": "6", "publication_open_data": "3", "numero_de_lacte": "AU1"},
        "Indiv0v": {"acte_nature": "3", "publication_open_data": "", "numero_de_lacte": "AI2"},
        "Delib01": {"acte_nature": "1", "publication_open_data": "3", "numero_de_lacte": "D1"},
        "Delib02": {"acte_nature": "1", "publication_open_data": "2", "numero_de_lacte": "D2"},  # forced "2"
        "Delib00": {"acte_nature": "1", "publication_open_data": "0", "numero_de_lacte": "D0"},
    }
    for id_d, data in acts.items():
        seeder.put("pull_deliberation.json", id_d=id_d, flux="actes-generique", data=data)
    report = normalize(raw_store, curated_store, settings)
    assert decisions(report) == {
        "Indiv03": ("a_statuer", "nature_3_table_par_defaut"),
        "Autre06": ("a_statuer", "nature_6_table_par_defaut"),
        "Indiv0v": ("retenir", "acte_individuel_prive_par_defaut"),
        "Delib01": ("publier", "pastell_oui"),
        "Delib02": ("a_statuer", "pastell_ne_sais_pas"),
        "Delib00": ("a_statuer", "publication_open_data_inconnu"),
    }
    rows = internal(curated_store)
    assert {k: rows[k]["decision"] for k in ("Indiv03", "Autre06")} == {
        "Indiv03": "a_statuer",
        "Autre06": "a_statuer",
    }
    assert public_ids(curated_store) == {"D1"}
    assert document_ids(curated_store) == documents_of(rows["Delib01"])


# ------------------------------------------------------------------------------- operator files
TAKEDOWNS = {
    "collectivites": (
        layout.CONFIG_COLLECTIVITES_KEY,
        f"{CONFIG_HEADER}{RENNES},{RENNES_SIRET},Rennes,non,,\n",
    ),
    "overrides": (
        layout.CONFIG_OVERRIDES_KEY,
        f"siren,id_d,numero,decision,motif\n{RENNES},,DEL2024_012,retenir,rgpd\n",
    ),
}
DAMAGED = {
    "collectivites": {
        "nul": FIXTURES / "collectivites" / "nul_bytes.csv",
        "quote": FIXTURES / "collectivites" / "quote_swallows_rows.csv",
        "shifted": FIXTURES / "collectivites" / "shifted_row.csv",
    },
    "overrides": {
        "nul": NORMALIZE_FIXTURES / "overrides_nul.csv",
        "quote": NORMALIZE_FIXTURES / "overrides_unbalanced_quote.csv",
        "shifted": NORMALIZE_FIXTURES / "overrides_shifted.csv",
    },
}


@pytest.mark.parametrize("damage", ["nul", "quote", "shifted"])
@pytest.mark.parametrize("which", ["collectivites", "overrides"])
def test_a_damaged_operator_file_never_undoes_a_takedown(
    seeder, raw_store, curated_store, settings, which, damage
):
    if which == "overrides":
        rennes_config(curated_store)
    seeder.put("pull_deliberation.json")
    key, takedown = TAKEDOWNS[which]
    curated_store.put_if_changed(key, takedown.encode())
    first = normalize(raw_store, curated_store, settings)
    assert decisions(first)["Xk3P9aQ"][0] == "retenir" and first.errors == []
    assert public_ids(curated_store) == set()

    curated_store.put_if_changed(
        key, DAMAGED[which][damage].read_bytes()
    )  # Excel, a bad merge, a truncated upload
    report = normalize(raw_store, curated_store, settings)
    error = refusal(report)
    assert error.code == f"config_{which}:last_good" and "last good" in error.message
    assert damage != "nul" or any(e.code.endswith(":nul_byte") for e in report.errors)
    saved = curated_store.get_json(layout.run_report_key("normalize"))
    assert error.model_dump() in saved["errors"]
    assert report.acts_normalised == 0  # the effective file did not change: nothing re-decided
    assert internal(curated_store)["Xk3P9aQ"]["decision"] == "retenir"
    assert public_ids(curated_store) == set()
    assert list(curated_store.list_keys(layout.PUBLIC_DOCUMENTS_PREFIX)) == []


def test_excel_windows_1252_file_with_non_dot_is_read_and_withholds(
    seeder, raw_store, curated_store, settings
):
    seeder.put("pull_deliberation.json")
    body = f"SIREN;SIRET;Nom;Open data\r\n{RENNES};{RENNES_SIRET};Ville de Rennes – Hôtel de ville;Non.\r\n"
    curated_store.put_if_changed(layout.CONFIG_COLLECTIVITES_KEY, body.encode("cp1252"))
    report = normalize(raw_store, curated_store, settings)
    assert report.errors == []
    assert {w.code for w in report.warnings} >= {"config_collectivites:cp1252"}
    assert decisions(report)["Xk3P9aQ"] == ("retenir", "collectivite_open_data_desactive")
    assert internal(curated_store)["Xk3P9aQ"]["coll_nom"] == "Ville de Rennes – Hôtel de ville"


def test_no_readable_version_withholds_everything_until_a_good_file_arrives(
    seeder, raw_store, curated_store, settings, s3_client
):
    seeder.put("pull_deliberation.json")
    seeder.put("pull_deliberation.json", id_d="Other01", data={"numero_de_lacte": "DEL2024_099"})
    curated_store.put_if_changed(
        layout.CONFIG_COLLECTIVITES_KEY, (FIXTURES / "collectivites" / "nul_bytes.csv").read_bytes()
    )
    report = normalize(raw_store, curated_store, settings)
    assert refusal(report).code == "config_collectivites:unreadable"
    assert set(decisions(report).values()) == {("a_statuer", "config_collectivites_illisible")}
    assert public_ids(curated_store) == set()
    assert list(curated_store.list_keys(layout.PUBLIC_DOCUMENTS_PREFIX)) == []

    time.sleep(1.1)  # S3 dates versions to the second
    rennes_config(curated_store)  # the operator uploads a good file: its S3 event re-decides every act
    assert handle(sqs_of(s3_event(curated_store, layout.CONFIG_COLLECTIVITES_KEY)), settings, s3_client) == {
        "batchItemFailures": []
    }
    assert public_ids(curated_store) == {"DEL2024_012", "DEL2024_099"}


def test_cli_exits_non_zero_and_says_which_file(seeder, raw_store, curated_store, settings, tmp_path):
    from test_normalize_cli_and_simulator import cli  # type: ignore[import-not-found]

    rennes_config(curated_store, open_data="non")
    seeder.put("pull_deliberation.json")
    assert cli(["normalize"], settings, tmp_path).returncode == 0
    curated_store.put_if_changed(
        layout.CONFIG_COLLECTIVITES_KEY, (FIXTURES / "collectivites" / "unclosed_quote.csv").read_bytes()
    )
    result = cli(["normalize", "--report", "run.json"], settings, tmp_path)
    assert result.returncode == 1, result.stderr
    assert (
        "ERROR" in result.stderr
        and "config/collectivites.csv" in result.stderr
        and "last good" in result.stderr
    )
    assert json.loads((tmp_path / "run.json").read_text())["errors"]
    assert public_ids(curated_store) == set()


def test_handler_emits_the_refused_file_metric(seeder, raw_store, curated_store, settings, s3_client, capsys):
    rennes_config(curated_store, open_data="non")
    seeder.put("pull_deliberation.json")
    normalize(raw_store, curated_store, settings)
    curated_store.put_if_changed(
        layout.CONFIG_OVERRIDES_KEY, (NORMALIZE_FIXTURES / "overrides_nul.csv").read_bytes()
    )
    capsys.readouterr()
    handle(sqs_of(s3_event(curated_store, layout.CONFIG_OVERRIDES_KEY)), settings, s3_client)
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    metric = next(b for b in blobs if "RefusedInputFiles" in b)
    assert metric["RefusedInputFiles"] == [1.0] or metric["RefusedInputFiles"] == 1.0
    assert metric["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Regate"
    assert metric["service"] == "regate-normalize"
    assert public_ids(curated_store) == set()


def test_overrides_match_normalised_numeros_and_unmatched_ones_are_reported(
    seeder, raw_store, curated_store, settings
):
    rennes_config(curated_store)
    seeder.put("pull_deliberation.json")
    curated_store.put_if_changed(
        layout.CONFIG_OVERRIDES_KEY,
        (
            f"siren,numero,decision,motif\n{RENNES}, del2024_012. ,Retenir.,rgpd\n"
            f"{RENNES},DEL2099_001,retenir,typo\n"
        ).encode(),
    )
    report = normalize(raw_store, curated_store, settings)
    assert decisions(report)["Xk3P9aQ"] == ("retenir", "surcharge_operateur")
    unmatched = [w for w in report.warnings if w.code == "config_overrides:override_sans_acte"]
    assert len(unmatched) == 1 and "DEL2099_001" in unmatched[0].message and "ligne 3" in unmatched[0].message
