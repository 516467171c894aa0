"""Which amount means "the budget" at each stage — one rule for the converter, the API aggregates and the
charts (next-flows §A.4; the reference white label read ``MtReal`` for every stage, so BP charts were empty).

* BP → ``MtPrev`` (= ``MtPropNouv + MtRARPrec`` where both exist);
* DM → ``MtPropNouv``: a DM carries the whole maquette, ``MtBudgPrec`` being the budget before it, and only
  the lines it changes have a non-zero ``MtPropNouv``;
* BS → ``MtPropNouv + MtRARPrec`` (the BS also takes over the restes à réaliser of the previous year);
* CA and CFU → ``MtReal`` (``CredOuv``, the credits opened, is the matching forecast).

A missing amount counts as 0 (TOTEM omits zero amounts on many lines).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from regate.flux.budgets.model import Etape

#: stage → the line fields summed for the stage amount (field names of ``BudgetLine`` / Parquet columns)
STAGE_AMOUNT_COLUMNS: dict[Etape, tuple[str, ...]] = {
    Etape.BP: ("mt_prev",),
    Etape.DM: ("mt_prop_nouv",),
    Etape.BS: ("mt_prop_nouv", "mt_rar_prec"),
    Etape.CA: ("mt_real",),
    Etape.CFU: ("mt_real",),
}

_ZERO = Decimal("0.00")


def montant_etape(etape: Etape | str, amounts: Mapping[str, Decimal | None] | Any) -> Decimal:
    """The stage amount of one line; ``amounts`` is a mapping of line fields or an object with them."""
    columns = STAGE_AMOUNT_COLUMNS[Etape(etape)]
    total = _ZERO
    for column in columns:
        value = amounts.get(column) if isinstance(amounts, Mapping) else getattr(amounts, column)
        if value is not None:
            total += value
    return total


def montant_etape_sql(etape_column: str = "etape") -> str:
    """The same rule as a SQL expression over the Parquet columns (DuckDB, Athena), for aggregates.

    ``etape_column`` is a trusted column name (never user input)."""
    if not etape_column.replace("_", "").isalnum():
        raise ValueError(f"nom de colonne invalide : {etape_column!r}")
    branches = " ".join(
        f"WHEN '{etape.value}' THEN " + " + ".join(f"COALESCE({c}, 0)" for c in columns)
        for etape, columns in STAGE_AMOUNT_COLUMNS.items()
    )
    return f"(CASE {etape_column} {branches} END)"
