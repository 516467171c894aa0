"""Arrow schemas of the curated Parquet datasets — the contract between normalisation (writer) and
the API and Athena (readers). Column meanings are documented in the README ("Parquet datasets").

``actes/`` holds every act (internal); ``public/actes/`` only what may be public, without private
columns: the API reads nothing else, so a query bug can never leak a withheld act.
Files are hive-partitioned (``siren=…/annee=…``) **and** carry ``siren`` and ``annee`` as columns
(readers use ``hive_partitioning = false``).
"""

from __future__ import annotations

from typing import Any

# pyarrow is imported lazily (PEP 562 ``__getattr__`` below): the API and capture functions do not ship it
# (it is 170 MB unzipped; the Lambda limit is 250 MB), only normalisation does.


def _build_schemas() -> dict[str, Any]:
    import pyarrow as pa

    public = pa.schema(
        [
            pa.field("acte_id", pa.string(), nullable=False),  # stable public id of the act
            pa.field("siren", pa.string(), nullable=False),
            pa.field("annee", pa.int32(), nullable=False),  # year of DELIB_DATE
            pa.field("nature", pa.int8(), nullable=False),  # ACTES nature 1–7
            pa.field("nature_libelle", pa.string(), nullable=False),
            pa.field("nature_autre_detail", pa.string()),  # LD, AT, PV, AP for nature 7
            pa.field("classification_code", pa.string()),  # full code as received (e.g. 1.1.2)
            # the 17 SCDL columns, typed
            pa.field("coll_nom", pa.string(), nullable=False),
            pa.field("coll_siret", pa.string()),
            pa.field("delib_id", pa.string(), nullable=False),
            pa.field("delib_date", pa.date32(), nullable=False),
            pa.field("delib_matiere_code", pa.string()),
            pa.field("delib_matiere_nom", pa.string()),
            pa.field("delib_objet", pa.string(), nullable=False),
            pa.field("budget_annee", pa.string()),
            pa.field("budget_nom", pa.string()),
            pa.field("pref_id", pa.string()),
            pa.field("pref_date", pa.date32()),
            pa.field("vote_effectif", pa.int32()),
            pa.field("vote_reel", pa.int32()),
            pa.field("vote_pour", pa.int32()),
            pa.field("vote_contre", pa.int32()),
            pa.field("vote_abstention", pa.int32()),
            pa.field("delib_url", pa.string()),  # set only when documents are public
            # publication
            pa.field("decision", pa.string(), nullable=False),  # publier | metadonnees
            pa.field("documents_publics", pa.bool_(), nullable=False),
            pa.field("document_id", pa.string()),  # id under public/documents/ (main act)
            pa.field("annexes", pa.string()),  # JSON list of {"document_id","nom"} (public annexes only)
        ]
    )
    internal_only = [
        pa.field("id_e", pa.string(), nullable=False),
        pa.field("id_d", pa.string(), nullable=False),
        pa.field("flux", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),  # pull | push
        pa.field("decision_motif", pa.string(), nullable=False),  # why this decision (machine-readable)
        pa.field("publication_open_data", pa.string()),  # raw Pastell value
        pa.field("annule", pa.bool_(), nullable=False),
        pa.field("acte_unique_id", pa.string()),  # ARActe IDActe
        pa.field("date_ar", pa.date32()),  # acknowledgement date as received (even when < act date)
        pa.field("fichiers", pa.string()),  # JSON list of captured files (field, num, name, sha256, key)
        pa.field("raw_version", pa.string()),  # S3 version id of detail.json this row comes from
    ]
    return {
        "PUBLIC_ACTES_SCHEMA": public,
        "INTERNAL_ONLY_FIELDS": internal_only,
        # ``actes/``: the public columns (decision may also be ``retenir`` or ``a_statuer``) + internal ones.
        "ACTES_SCHEMA": pa.schema(list(public) + internal_only),
    }


_SCHEMAS: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    if name in {"PUBLIC_ACTES_SCHEMA", "ACTES_SCHEMA", "INTERNAL_ONLY_FIELDS"}:
        if not _SCHEMAS:
            _SCHEMAS.update(_build_schemas())
        return _SCHEMAS[name]
    raise AttributeError(name)
