"""The flat table of contracts and titulaires (lake Parquet, API, mReport) and its CSV view for reusers.

Columns are defined once, as pydantic models; the pyarrow schema is derived from them (:func:`arrow_schema`),
so the Parquet files, the CSV header and the API cannot disagree. pyarrow is imported lazily: it ships with
the
normalize function only, and this module is importable without it.

* ``ContratRow``: one row per published contract (marché or concession), initial values plus the values after
  the last modification (``montant_actuel``, ``duree_mois_actuelle``) — what reusers ask for first.
* ``TitulaireRow``: one row per (contract, titulaire or concessionnaire), in the order the file lists them.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict

from regate.scdl.csvfile import write_csv

LIST_SEPARATOR = ", "


class ContratRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    uid: str
    kind: str
    id: str
    acheteur_siret: str
    acheteur_siren: str
    annee: int
    nature: str
    objet: str
    procedure: str
    code_cpv: str | None = None
    techniques: list[str] = []
    modalites_execution: list[str] = []
    ccag: str | None = None
    id_accord_cadre: str | None = None
    marche_innovant: bool | None = None
    offres_recues: int | None = None
    attribution_avance: bool | None = None
    taux_avance: float | None = None
    type_groupement_operateurs: str | None = None
    sous_traitance_declaree: bool | None = None
    lieu_execution_code: str | None = None
    lieu_execution_type_code: str | None = None
    duree_mois: int
    date_notification: date | None = None
    date_signature: date | None = None
    date_debut_execution: date | None = None
    date_publication_donnees: date
    montant: float | None = None
    valeur_globale: float | None = None
    montant_subvention_publique: float | None = None
    forme_prix: str | None = None
    types_prix: list[str] = []
    origine_ue: float | None = None
    origine_france: float | None = None
    considerations_sociales: list[str] = []
    considerations_environnementales: list[str] = []
    nombre_titulaires: int
    nombre_modifications: int
    nombre_actes_sous_traitance: int
    montant_actuel: float | None = None
    duree_mois_actuelle: int
    date_derniere_modification: date | None = None
    source: str


class TitulaireRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    uid: str
    kind: str
    acheteur_siret: str
    annee: int
    rang: int
    type_identifiant: str
    identifiant: str


def parse_iso_date(value: Any) -> date | None:
    from regate.flux.marches.rules import parse_iso_date as parse  # lazy: rules load jsonschema

    return parse(value)


def uid(buyer: str, ident: str) -> str:
    """decp.info's uid: buyer SIRET + contract id (the pair the format says identifies a contract)."""
    return f"{buyer}{ident}"


def _list(holder: Any, inner: str) -> list[str]:
    values = holder.get(inner) if isinstance(holder, dict) else None
    return [str(v) for v in values] if isinstance(values, list) else []


def _mods(record: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for item in record.get("modifications") or []:
        inner = item.get("modification") if isinstance(item, dict) else None
        if isinstance(inner, dict):
            out.append(inner)
    return sorted(out, key=lambda m: m.get("id", 0))


def contrat_row(kind: str, record: dict[str, Any], source: str) -> ContratRow:
    """One published record → its row (the record passed validation, so required fields are there)."""
    marche = kind == "marche"
    buyer = record["acheteur" if marche else "autoriteConcedante"]["id"]
    mods = _mods(record)
    amount_field = "montant" if marche else "valeurGlobale"
    current_amount = record.get(amount_field)
    current_duration = record["dureeMois"]
    last_date: date | None = None
    for m in mods:
        current_amount = m.get(amount_field, current_amount)
        current_duration = m.get("dureeMois", current_duration)
        last_date = parse_iso_date(m.get("datePublicationDonneesModification")) or last_date
    holders_key = "titulaires" if marche else "concessionnaires"
    lieu = record.get("lieuExecution") or {}
    main_date = parse_iso_date(record.get("dateNotification" if marche else "dateSignature"))
    return ContratRow(
        uid=uid(buyer, record["id"]),
        kind=kind,
        id=record["id"],
        acheteur_siret=buyer,
        acheteur_siren=buyer[:9],
        annee=main_date.year if main_date else 0,
        nature=record["nature"],
        objet=record["objet"],
        procedure=record["procedure"],
        code_cpv=record.get("codeCPV"),
        techniques=_list(record.get("techniques"), "technique"),
        modalites_execution=_list(record.get("modalitesExecution"), "modaliteExecution"),
        ccag=record.get("ccag"),
        id_accord_cadre=record.get("idAccordCadre"),
        marche_innovant=record.get("marcheInnovant"),
        offres_recues=record.get("offresRecues"),
        attribution_avance=record.get("attributionAvance"),
        taux_avance=record.get("tauxAvance"),
        type_groupement_operateurs=record.get("typeGroupementOperateurs"),
        sous_traitance_declaree=record.get("sousTraitanceDeclaree"),
        lieu_execution_code=lieu.get("code"),
        lieu_execution_type_code=lieu.get("typeCode"),
        duree_mois=record["dureeMois"],
        date_notification=parse_iso_date(record.get("dateNotification")),
        date_signature=parse_iso_date(record.get("dateSignature")),
        date_debut_execution=parse_iso_date(record.get("dateDebutExecution")),
        date_publication_donnees=parse_iso_date(record.get("datePublicationDonnees")),
        montant=record.get("montant"),
        valeur_globale=record.get("valeurGlobale"),
        montant_subvention_publique=record.get("montantSubventionPublique"),
        forme_prix=record.get("formePrix"),
        types_prix=_list(record.get("typesPrix"), "typePrix"),
        origine_ue=record.get("origineUE"),
        origine_france=record.get("origineFrance"),
        considerations_sociales=_list(record.get("considerationsSociales"), "considerationSociale"),
        considerations_environnementales=_list(
            record.get("considerationsEnvironnementales"), "considerationEnvironnementale"
        ),
        nombre_titulaires=len(record.get(holders_key) or []),
        nombre_modifications=len(mods),
        nombre_actes_sous_traitance=len(record.get("actesSousTraitance") or []),
        montant_actuel=current_amount,
        duree_mois_actuelle=current_duration,
        date_derniere_modification=last_date,
        source=source,
    )


def titulaire_rows(kind: str, record: dict[str, Any]) -> list[TitulaireRow]:
    marche = kind == "marche"
    buyer = record["acheteur" if marche else "autoriteConcedante"]["id"]
    holders_key, inner = ("titulaires", "titulaire") if marche else ("concessionnaires", "concessionnaire")
    main_date = parse_iso_date(record.get("dateNotification" if marche else "dateSignature"))
    rows = []
    for rank, item in enumerate(record.get(holders_key) or [], start=1):
        holder = item[inner]
        rows.append(
            TitulaireRow(
                uid=uid(buyer, record["id"]),
                kind=kind,
                acheteur_siret=buyer,
                annee=main_date.year if main_date else 0,
                rang=rank,
                type_identifiant=holder["typeIdentifiant"],
                identifiant=holder["id"],
            )
        )
    return rows


def rows_from(published: Iterable[Any]) -> tuple[list[ContratRow], list[TitulaireRow]]:
    """``Normalized.published`` (objects with ``kind``, ``record``, ``source``) → both tables, sorted by
    uid."""
    contrats: list[ContratRow] = []
    titulaires: list[TitulaireRow] = []
    for result in published:
        contrats.append(contrat_row(result.kind, result.record, result.source.plateforme or ""))
        titulaires.extend(titulaire_rows(result.kind, result.record))
    contrats.sort(key=lambda r: (r.annee, r.acheteur_siret, r.uid, r.kind))
    titulaires.sort(key=lambda r: (r.annee, r.acheteur_siret, r.uid, r.kind, r.rang))
    return contrats, titulaires


# ------------------------------------------------------------------------------------ pyarrow
def _arrow_type(annotation: Any) -> tuple[Any, bool]:
    import pyarrow as pa

    nullable = False
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) != len(typing.get_args(annotation))
        annotation = args[0]
        origin = typing.get_origin(annotation)
    if origin is list:
        return pa.list_(pa.string()), nullable
    mapping = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_(), date: pa.date32()}
    return mapping[annotation], nullable


def arrow_schema(model: type[BaseModel]) -> Any:
    """The pyarrow schema of a row model (field order = model order)."""
    import pyarrow as pa

    fields = []
    for name, info in model.model_fields.items():
        arrow_type, nullable = _arrow_type(info.annotation)
        fields.append(pa.field(name, arrow_type, nullable=nullable))
    return pa.schema(fields)


def to_arrow(rows: Iterable[BaseModel], model: type[BaseModel]) -> Any:
    import pyarrow as pa

    schema = arrow_schema(model)
    data = [row.model_dump() for row in rows]
    return pa.Table.from_pylist(data, schema=schema)


# ---------------------------------------------------------------------------------------- CSV
def columns(model: type[BaseModel]) -> list[str]:
    return list(model.model_fields)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list):
        return LIST_SEPARATOR.join(value)
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def to_csv(rows: Iterable[BaseModel], model: type[BaseModel]) -> bytes:
    """The project's CSV dialect (UTF-8, comma, CRLF); lists joined with ``", "`` (no enum value has a comma),
    booleans ``oui``/``non``, amounts without a trailing ``.0``."""
    names = columns(model)
    return write_csv(names, ([_cell(getattr(row, n)) for n in names] for row in rows))


def dicts_to_csv(rows: Iterable[dict[str, Any]], model: type[BaseModel]) -> bytes:
    """:func:`to_csv` for rows already read back from the table (the API): same columns, same dialect, no
    model built per row."""
    names = columns(model)
    return write_csv(names, ([_cell(row.get(n)) for n in names] for row in rows))
