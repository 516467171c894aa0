"""SCDL budget columns and CSV, the stage amount rule (Python and SQL), the Parquet row model, and the
latest-sealed-version selection."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from regate.flux.budgets.amounts import STAGE_AMOUNT_COLUMNS, montant_etape, montant_etape_sql
from regate.flux.budgets.convert import convert_document
from regate.flux.budgets.model import (
    SCDL_NATDEC,
    BudgetLine,
    Etape,
    TotemMetadata,
    budget_lines_schema,
    budget_lines_table,
)
from regate.flux.budgets.scdl import (
    SCDL_BUDGET_COLUMNS,
    budget_files,
    budget_sort_key,
    group_by_siren_annee,
    scdl_cells,
    validate_budget_csv,
    write_budget_csv,
)
from regate.flux.budgets.selection import latest_sealed, version_key
from regate.flux.budgets.totem import TotemLu, read_totem
from regate.scdl.schema import load_schema


def _line(**overrides) -> BudgetLine:
    values = dict(
        siren="215600461",
        annee=2022,
        siret="21560046100085",
        nom="LOTISSEMENT LE BOCENO",
        cod_bud="06",
        etape=Etape.BP,
        natdec="budget primitif",
        nomenclature="M14-M14_COM_500_3500",
        plan_de_comptes="2022/M14/M14_COM_500_3500",
        ligne=1,
        nature="6045",
        nature_label="Achats d'études, prestations de services",
        nature_label_source="plan",
        contnat="011",
        contnat_label="Charges à caractère général",
        contnat_source="totem",
        section="fonctionnement",
        opbudg="réel",
        codrd="dépense",
        mt_prev=Decimal("15000.00"),
        montant=Decimal("15000.00"),
    )
    values.update(overrides)
    return BudgetLine(**values)


def test_columns_are_the_schema_fields_in_order() -> None:
    schema = load_schema("scdl/budget", "0.8.3")
    assert schema.field_names == SCDL_BUDGET_COLUMNS
    assert set(SCDL_NATDEC.values()) == set(schema.fields[0].constraints.enum)
    assert SCDL_NATDEC[Etape.CFU] == "compte administratif"


def test_cells_quoting_and_empty_values() -> None:
    cells = scdl_cells(_line(nom='COMMUNE "X", BUDGET ANNEXE', mt_real=Decimal("-3.50"), artspe="spécialisé"))
    assert cells[:4] == ["budget primitif", "2022", "21560046100085", '"COMMUNE ""X"", BUDGET ANNEXE"']
    assert cells[8:11] == ["", "", ""]
    assert cells[14] == "-3.50" and cells[15] == "" and cells[18] == "15000.00" and cells[21] == "spécialisé"
    data = write_budget_csv([_line()])
    assert (
        data.startswith(b"BGT_NATDEC,BGT_ANNEE,") and data.endswith(b"\r\n") and not data.startswith(b"\xef")
    )
    assert data.count(b"\r\n") == 2 and "dépense".encode() in data
    assert validate_budget_csv(data).valid


def test_file_order_is_stable_whatever_the_input_order() -> None:
    lines = [
        _line(etape=Etape.CA, natdec="compte administratif", ligne=2),
        _line(cod_bud="00", nom="BUDGET PRINCIPAL", ligne=9),
        _line(etape=Etape.DM, natdec="décision modificative", date_decision=date(2022, 7, 4), ligne=1),
        _line(ligne=3),
    ]
    expected = write_budget_csv(lines)
    assert write_budget_csv(list(reversed(lines))) == expected
    ordered = sorted(lines, key=budget_sort_key)
    assert [(line.cod_bud, line.etape, line.ligne) for line in ordered] == [
        ("00", Etape.BP, 9),
        ("06", Etape.BP, 3),
        ("06", Etape.DM, 1),
        ("06", Etape.CA, 2),
    ]
    groups = group_by_siren_annee(
        [*lines, _line(annee=2023), _line(siren="243500782", siret="24350078200095")]
    )
    assert sorted((k, len(v)) for k, v in groups.items()) == [
        (("215600461", 2022), 4),
        (("215600461", 2023), 1),
        (("243500782", 2022), 1),
    ]


@pytest.mark.parametrize(
    ("etape", "expected"),
    [
        (Etape.BP, Decimal("150.00")),  # MtPrev
        (Etape.DM, Decimal("100.00")),  # MtPropNouv
        (Etape.BS, Decimal("150.00")),  # MtPropNouv + MtRARPrec
        (Etape.CA, Decimal("90.00")),  # MtReal
        (Etape.CFU, Decimal("90.00")),
    ],
)
def test_stage_amount_rule_python_and_sql_agree(etape: Etape, expected: Decimal) -> None:
    amounts = {
        "mt_prev": Decimal("150.00"),
        "mt_prop_nouv": Decimal("100.00"),
        "mt_rar_prec": Decimal("50.00"),
        "mt_real": Decimal("90.00"),
        "cred_ouv": Decimal("150.00"),
        "mt_budg_prec": Decimal("999.00"),
    }
    assert montant_etape(etape, amounts) == expected
    assert montant_etape(etape.value, {}) == Decimal("0.00")  # absent amounts count as 0
    columns = ", ".join(f"CAST({v} AS DECIMAL(18,2)) AS {k}" for k, v in amounts.items())
    sql = f"SELECT {montant_etape_sql()} FROM (SELECT '{etape.value}' AS etape, {columns})"
    assert duckdb.sql(sql).fetchone()[0] == expected
    assert set(STAGE_AMOUNT_COLUMNS) == set(Etape)


def test_sql_rule_refuses_an_odd_column_name() -> None:
    with pytest.raises(ValueError):
        montant_etape_sql("etape; DROP TABLE x")


def test_parquet_schema_matches_the_model_and_round_trips(totem_samples: Path) -> None:
    schema = budget_lines_schema()
    assert schema.names == list(BudgetLine.model_fields)
    for field in schema:
        info = BudgetLine.model_fields[field.name]
        assert field.nullable == (not info.is_required()), field.name
    result = read_totem(totem_samples / "DOCBUDG-21560046100010-056025-CA-2021-01032022000000.xml")
    assert isinstance(result, TotemLu)
    lines = convert_document(result, document_id="sha-1").lignes
    table = budget_lines_table(lines)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    back = pq.read_table(io.BytesIO(buffer.getvalue()))
    assert back.schema.equals(schema) and back.num_rows == 196
    rows = back.to_pylist()
    assert rows[0]["etape"] == "CA" and rows[0]["document_id"] == "sha-1" and rows[0]["cod_bud"] == "00"
    assert sum(r["montant"] for r in rows) == sum(line.montant for line in lines)


def _meta(**overrides) -> TotemMetadata:
    values = dict(
        racine="DocumentBudgetaire",
        siret="21560046100085",
        siren="215600461",
        exercice=2022,
        nat_dec="01",
        etape=Etape.BP,
        nomenclature="M14-M14_COM_500_3500",
        libelle_etab="BUDGET PRINCIPAL",
        cod_bud="00",
        scellement=datetime(2022, 4, 7, 8, 0, tzinfo=UTC),
    )
    values.update(overrides)
    return TotemMetadata(**values)


def test_latest_sealed_version_per_budget_and_stage() -> None:
    t = lambda day: datetime(2022, 4, day, tzinfo=UTC)  # noqa: E731
    documents = [
        ("bp-v1", _meta(scellement=t(7))),
        ("bp-v2", _meta(scellement=t(9))),  # re-sent BP: wins
        ("bp-unsealed", _meta(scellement=None)),  # loses to any sealed one
        ("bp-annexe", _meta(cod_bud="06", libelle_etab="LOTISSEMENT", scellement=t(1))),  # another budget
        ("bp-2023", _meta(exercice=2023, scellement=t(1))),
        ("dm1", _meta(etape=Etape.DM, nat_dec="02", date_decision=date(2022, 7, 4), scellement=t(5))),
        ("dm1-bis", _meta(etape=Etape.DM, nat_dec="02", date_decision=date(2022, 7, 4), scellement=t(6))),
        ("dm2", _meta(etape=Etape.DM, nat_dec="02", date_decision=date(2022, 11, 22), scellement=t(2))),
        ("ca", _meta(etape=Etape.CA, nat_dec="09", scellement=t(10))),
        ("cfu", _meta(etape=Etape.CFU, nat_dec="10", scellement=t(12))),  # replaces the CA
        ("other-siret", _meta(siret="24350078200095", siren="243500782", scellement=t(1))),
    ]
    selection = latest_sealed(documents, metadata=lambda d: d[1])
    assert [name for name, _ in selection.gardes] == [
        "bp-v2",
        "bp-annexe",
        "bp-2023",
        "dm1-bis",
        "dm2",
        "cfu",
        "other-siret",
    ]
    replaced = {old[0]: new[0] for old, new in selection.remplaces}
    assert replaced == {"bp-v1": "bp-v2", "bp-unsealed": "bp-v2", "dm1": "dm1-bis", "ca": "cfu"}


def test_selection_ties_keep_the_later_input_and_keys_ignore_label_case() -> None:
    same = _meta(cod_bud=None, libelle_etab="Budget Principal")
    documents = [("first", same), ("second", _meta(cod_bud=None, libelle_etab="BUDGET PRINCIPAL "))]
    assert version_key(documents[0][1]) == version_key(documents[1][1])
    selection = latest_sealed(documents, metadata=lambda d: d[1])
    assert [name for name, _ in selection.gardes] == ["second"]
    assert latest_sealed([], metadata=lambda d: d).gardes == []


def test_budget_files_per_siren_and_year_keep_the_latest_sealing(totem_samples: Path) -> None:
    conversions = [convert_document(read_totem(path)) for path in sorted(totem_samples.glob("*.xml"))]
    resent = conversions[3]  # the BP 2022 of 21560046100085, sent again with a later sealing
    later = type(resent)(
        resent.metadata.model_copy(update={"scellement": datetime(2023, 1, 1, tzinfo=UTC)}),
        resent.lignes,
        resent.rapport,
    )
    files = budget_files([*conversions, later])
    assert sorted(files) == [("215600461", 2021), ("215600461", 2022), ("243500782", 2022)]
    rows = {key: data.count(b"\r\n") - 1 for key, data in files.items()}
    assert rows == {
        ("215600461", 2021): 196 + 185 + 20,
        ("215600461", 2022): 21 + 20,
        ("243500782", 2022): 123,
    }
    assert all(validate_budget_csv(data).valid for data in files.values())
