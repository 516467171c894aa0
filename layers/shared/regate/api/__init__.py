"""Read-only HTTP API over the public Parquet dataset (issue 5).

Modules: :mod:`.params` (query parameters, French errors), :mod:`.dataset` (partition listing, /tmp
cache by S3 version, data version for ETags), :mod:`.query` (DuckDB queries, bound parameters),
:mod:`.collectivites`, :mod:`.geojson`, :mod:`.mreport`, :mod:`.openapi`, :mod:`.app` (the powertools
resolver) and :mod:`.local_server` (``regate serve``). Heavy imports (duckdb) happen lazily.
"""
