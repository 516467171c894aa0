"""The flat contracts/titulaires table: columns defined once (pydantic → pyarrow → CSV header)."""

from __future__ import annotations

import copy
import io
from datetime import date
from typing import Any

import pyarrow.parquet as pq

from regate.flux.marches import table
from regate.flux.marches.model import SourceRef
from regate.flux.marches.normalize import normalize_record

TODAY = date(2025, 6, 1)


def _published(kind: str, record: dict[str, Any]):
    source = SourceRef(key="k", plateforme="megalis", kind=kind, position=0)
    result = normalize_record(kind, record, source, TODAY)
    assert result.status == "accepte"
    return result


def test_rows_carry_initial_and_current_values(marche: dict[str, Any], concession: dict[str, Any]) -> None:
    contrats, titulaires = table.rows_from(
        [_published("marche", marche), _published("contrat-concession", concession)]
    )
    by_kind = {row.kind: row for row in contrats}
    m = by_kind["marche"]
    assert (m.uid, m.acheteur_siren, m.annee, m.montant, m.montant_actuel) == (
        "21350238800019RES2024T0500001",
        "213502388",
        2024,
        87450.0,
        91200.0,
    )
    assert (m.duree_mois, m.duree_mois_actuelle, m.nombre_modifications, m.date_derniere_modification) == (
        6,
        8,
        1,
        date(2024, 9, 20),
    )
    c = by_kind["contrat-concession"]
    assert (c.valeur_globale, c.montant_actuel, c.date_signature, c.montant) == (
        18500000.0,
        19400000.0,
        date(2024, 3, 12),
        None,
    )
    assert [(t.kind, t.rang, t.identifiant) for t in titulaires] == [
        ("contrat-concession", 1, "38103128500574"),
        ("marche", 1, "38103128500491"),
    ]


def test_arrow_schema_is_derived_from_the_model_and_round_trips(marche: dict[str, Any]) -> None:
    schema = table.arrow_schema(table.ContratRow)
    assert schema.names == list(table.ContratRow.model_fields)
    assert str(schema.field("techniques").type) == "list<item: string>"
    assert (
        str(schema.field("date_notification").type) == "date32[day]"
        and schema.field("date_notification").nullable
    )
    assert not schema.field("uid").nullable
    contrats, titulaires = table.rows_from([_published("marche", marche)])
    buffer = io.BytesIO()
    pq.write_table(table.to_arrow(contrats, table.ContratRow), buffer)
    back = pq.read_table(io.BytesIO(buffer.getvalue()))
    assert back.schema.equals(schema) and back.to_pylist()[0]["montant_actuel"] == 91200.0
    assert table.to_arrow(titulaires, table.TitulaireRow).num_rows == 1


def test_csv_view(marche: dict[str, Any]) -> None:
    marche = copy.deepcopy(marche)
    marche["objet"] = 'Lot "A", tranche 1\n=SOMME(A1)'
    contrats, titulaires = table.rows_from([_published("marche", marche)])
    data = table.to_csv(contrats, table.ContratRow).decode("utf-8")
    header, row = data.split("\r\n", 1)
    assert header.split(",") == list(table.ContratRow.model_fields)
    assert '"Lot ""A"", tranche 1\n=SOMME(A1)"' in row  # quoted, kept byte for byte
    assert ",87450," in row and ",oui," in row and ",Sans objet," in row
    assert (
        table.to_csv(titulaires, table.TitulaireRow)
        .decode()
        .startswith("uid,kind,acheteur_siret,annee,rang,")
    )
