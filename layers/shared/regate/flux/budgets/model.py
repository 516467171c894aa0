"""The budget line, defined once: stages and enumerations, the document metadata, the Parquet-ready line
model (pydantic) and its Arrow schema.

A line keeps what the SCDL file flattens away: the real stage (``CFU`` is written ``compte administratif``
in SCDL, whose enum has no CFU), ``CodBud`` (budgets annexes share the SIRET), the operation type
(``TypOpBudg``), where the chapter and labels came from, and the stage-aware amount (``montant``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Etape(StrEnum):
    """The budget stage (``BlocBudget/NatDec``)."""

    BP = "BP"  # budget primitif
    BS = "BS"  # budget supplémentaire
    DM = "DM"  # décision modificative
    CA = "CA"  # compte administratif
    CFU = "CFU"  # compte financier unique (replaces the CA; mandatory for the 2026 accounts)


#: ``NatDec`` code → stage (TOTEM ``CommunBudget``); any other code is refused, never guessed.
NATDEC_ETAPES: dict[str, Etape] = {
    "01": Etape.BP,
    "02": Etape.DM,
    "03": Etape.BS,
    "09": Etape.CA,
    "10": Etape.CFU,
}

#: stage → ``BGT_NATDEC`` (lower case, the schema's enum). The schema has no CFU value: a CFU is the
#: compte administratif of its exercice (it replaces it, with the compte de gestion), so it is written
#: ``compte administratif``; the real stage stays in the Parquet ``etape`` column.
SCDL_NATDEC: dict[Etape, str] = {
    Etape.BP: "budget primitif",
    Etape.BS: "budget supplémentaire",
    Etape.DM: "décision modificative",
    Etape.CA: "compte administratif",
    Etape.CFU: "compte administratif",
}

#: stage order inside a file (the budget's life in the year)
ETAPE_ORDRE: dict[Etape, int] = {Etape.BP: 0, Etape.BS: 1, Etape.DM: 2, Etape.CA: 3, Etape.CFU: 4}

SECTIONS: dict[str, str] = {"I": "investissement", "F": "fonctionnement"}
OPBUDG: dict[str, str] = {"0": "réel", "1": "ordre"}
CODRD: dict[str, str] = {"R": "recette", "D": "dépense"}
ARTSPE: dict[str, str] = {
    "false": "non spécialisé",
    "0": "non spécialisé",
    "true": "spécialisé",
    "1": "spécialisé",
}

#: TOTEM amount element → line field (and SCDL column ``BGT_`` + upper-cased TOTEM name)
MONTANTS: dict[str, str] = {
    "MtReal": "mt_real",
    "MtBudgPrec": "mt_budg_prec",
    "MtRARPrec": "mt_rar_prec",
    "MtPropNouv": "mt_prop_nouv",
    "MtPrev": "mt_prev",
    "CredOuv": "cred_ouv",
    "MtRAR3112": "mt_rar3112",
}

Racine = Literal["DocumentBudgetaire", "CompteFinancierUnique"]


class TotemMetadata(BaseModel):
    """What identifies a TOTEM document (``EnTeteDocBudgetaire``, ``EnTeteBudget``, ``BlocBudget``,
    ``Scellement``), validated: a document whose SIRET, exercice or stage is unreadable has no rows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    racine: Racine
    siret: str = Field(pattern=r"^\d{14}$")  # EnTeteBudget/IdEtab (Luhn-checked by the reader)
    siren: str = Field(pattern=r"^\d{9}$")
    exercice: int = Field(ge=1900, le=2999)
    nat_dec: str  # the code, e.g. "01"
    etape: Etape
    nomenclature: str  # as written, e.g. "M57-M57_A" (the budget part's, in a CFU)
    libelle_etab: str  # BGT_NOM: tells a budget annexe from the budget principal under one SIRET
    libelle_coll: str | None = None
    id_coll: str | None = None
    cod_bud: str | None = None
    cod_coll: str | None = None
    cod_insee_coll: str | None = None
    date_decision: date | None = None  # BlocBudget/DteDec
    nat_fonc: str | None = None  # presentation (1 = by nature, functional cross-presentation…)
    scellement: datetime | None = None  # Scellement/@date (timezone-aware; naive → Europe/Paris)
    encodage: str | None = None  # declared XML encoding, for reports

    @property
    def budget(self) -> str:
        """Which budget of the SIRET: ``CodBud`` when given, else the establishment label."""
        return self.cod_bud or self.libelle_etab


class BudgetLine(BaseModel):
    """One budget line, Parquet-ready (field names are the Parquet columns, see :func:`budget_lines_schema`).

    ``contnat`` is the **chapter** and ``nature`` the **account**, as TOTEM names them and as the SCDL files
    on data.gouv.fr use them (the schema's descriptions swap the two words; next-flows §A.2 row 5).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # document
    siren: str
    annee: int
    siret: str
    nom: str
    cod_bud: str | None = None
    etape: Etape
    natdec: str  # BGT_NATDEC
    nomenclature: str
    plan_de_comptes: str  # plan actually used, "2024/M57/M57_A" (differs from the document's on fallback)
    date_decision: date | None = None
    date_scellement: datetime | None = None
    document_id: str | None = None  # given by the caller (e.g. the sha256 of the raw file)
    # line
    ligne: int  # position of the LigneBudget in the document (1-based, calculated lines counted)
    nature: str = Field(min_length=1, max_length=9)
    nature_label: str = Field(min_length=1)
    nature_label_source: Literal["plan", "plan_autre_exercice", "libcpte", "compte_parent"]
    contnat: str = Field(min_length=1, max_length=9)
    contnat_label: str = Field(min_length=1)
    contnat_source: Literal["totem", "plan"]  # ContNat of the file, or derived from the account
    fonction: str | None = Field(default=None, min_length=1, max_length=9)
    fonction_label: str | None = None
    operation: str | None = None
    section: Literal["investissement", "fonctionnement"]
    opbudg: Literal["réel", "ordre"]
    typopbudg: int | None = None  # 1 = within a section, 2 = between sections (order operations)
    codrd: Literal["recette", "dépense"]
    artspe: Literal["non spécialisé", "spécialisé"] | None = None
    mt_real: Decimal | None = None
    mt_budg_prec: Decimal | None = None
    mt_rar_prec: Decimal | None = None
    mt_prop_nouv: Decimal | None = None
    mt_prev: Decimal | None = None
    cred_ouv: Decimal | None = None
    mt_rar3112: Decimal | None = None
    montant: Decimal  # the amount that means "the budget" at this stage (amounts.montant_etape)


#: Parquet decimal type of the amounts: TOTEM amounts are euros with 2 decimals (larger scales are refused)
AMOUNT_PRECISION, AMOUNT_SCALE = 18, 2


def budget_lines_schema() -> Any:
    """Arrow schema of the budget lines dataset (pyarrow imported here only: not every function ships it).

    Same fields, order and nullability as :class:`BudgetLine` (a test holds them together).
    """
    import pyarrow as pa

    amount = pa.decimal128(AMOUNT_PRECISION, AMOUNT_SCALE)
    return pa.schema(
        [
            pa.field("siren", pa.string(), nullable=False),
            pa.field("annee", pa.int32(), nullable=False),
            pa.field("siret", pa.string(), nullable=False),
            pa.field("nom", pa.string(), nullable=False),
            pa.field("cod_bud", pa.string()),
            pa.field("etape", pa.string(), nullable=False),  # BP | BS | DM | CA | CFU
            pa.field("natdec", pa.string(), nullable=False),
            pa.field("nomenclature", pa.string(), nullable=False),
            pa.field("plan_de_comptes", pa.string(), nullable=False),
            pa.field("date_decision", pa.date32()),
            pa.field("date_scellement", pa.timestamp("us", tz="UTC")),
            pa.field("document_id", pa.string()),
            pa.field("ligne", pa.int32(), nullable=False),
            pa.field("nature", pa.string(), nullable=False),
            pa.field("nature_label", pa.string(), nullable=False),
            pa.field("nature_label_source", pa.string(), nullable=False),
            pa.field("contnat", pa.string(), nullable=False),
            pa.field("contnat_label", pa.string(), nullable=False),
            pa.field("contnat_source", pa.string(), nullable=False),
            pa.field("fonction", pa.string()),
            pa.field("fonction_label", pa.string()),
            pa.field("operation", pa.string()),
            pa.field("section", pa.string(), nullable=False),
            pa.field("opbudg", pa.string(), nullable=False),
            pa.field("typopbudg", pa.int8()),
            pa.field("codrd", pa.string(), nullable=False),
            pa.field("artspe", pa.string()),
            pa.field("mt_real", amount),
            pa.field("mt_budg_prec", amount),
            pa.field("mt_rar_prec", amount),
            pa.field("mt_prop_nouv", amount),
            pa.field("mt_prev", amount),
            pa.field("cred_ouv", amount),
            pa.field("mt_rar3112", amount),
            pa.field("montant", amount, nullable=False),
        ]
    )


def budget_lines_table(lines: list[BudgetLine]) -> Any:
    """The lines as an Arrow table of :func:`budget_lines_schema` (ready for ``pyarrow.parquet``)."""
    import pyarrow as pa

    schema = budget_lines_schema()
    rows = [line.model_dump() for line in lines]
    for row in rows:
        row["etape"] = str(row["etape"])
    return pa.Table.from_pylist(rows, schema=schema)
