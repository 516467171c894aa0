"""Normalisation: captured acts → per-act records → per-(siren, year) SCDL CSV and Parquet in curated.

Where things are: :mod:`.decision` (publication decision, overrides file), :mod:`.records` (one record per
act: SCDL row, Parquet row, public documents), :mod:`.partitions` (optimistic per-partition rebuild,
manifest ``_state/partitions/{siren}/{annee}.json``, national file), :mod:`.parquet` (deterministic bytes),
:mod:`.documents` (``public/documents/``), :mod:`.quarantine`, :mod:`.reports`, :mod:`.pipeline` (the
:class:`~regate.normalize.pipeline.Normalizer`: events, pending runs, rebuild) and :mod:`.run` (CLI entry).
"""
