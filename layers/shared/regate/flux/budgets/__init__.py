"""The budgets flux: TOTEM budget documents → SCDL « Budget » 0.8.3 rows and Parquet-ready budget lines.

Modules (import from them; this package stays import-free so Lambdas load fast):

* ``plans`` — shipped plans de comptes (``data/``, built by ``scripts/build_plans_de_comptes.py``):
  ``plans_de_comptes()``, ``PlansDeComptes.resolve(exercice, nomenclature) -> PlanResolution`` (explicit
  fallback or ``PlanIntrouvable``);
* ``totem`` — secure streaming reader: ``read_totem(bytes | Path) -> TotemLu | BudgetPdf | TotemInvalide``,
  ``open_totem()`` → ``TotemStream`` for very large files;
* ``convert`` — ``convert_document(TotemLu) -> Conversion`` (lines + ``RapportConversion``),
  ``BudgetConverter`` for streams;
* ``model`` — ``Etape``, ``TotemMetadata``, ``BudgetLine`` (pydantic), ``budget_lines_schema()`` (Arrow),
  ``budget_lines_table()``;
* ``amounts`` — the stage-aware amount: ``montant_etape()``, ``montant_etape_sql()``,
  ``STAGE_AMOUNT_COLUMNS``;
* ``scdl`` — ``SCDL_BUDGET_COLUMNS``, ``scdl_cells()``, ``write_budget_csv()``, ``group_by_siren_annee()``,
  ``validate_budget_csv()`` (the one validation call);
* ``selection`` — ``latest_sealed()``: the latest sealed version per (budget, stage).
"""
