"""SCDL (Socle Commun des Données Locales): bundled schemas, the CSV dialect, délibérations rows and the
fast validator. Modules: ``schema`` (Table Schema model, ``load_schema``), ``validator`` (``validate_csv``,
``validate_deliberations_csv``), ``csvfile`` (``write_csv``), ``deliberations`` (``ScdlDeliberationRow``,
``write_deliberations_csv``). Import from the modules; this package stays import-free so Lambdas load fast.
"""
