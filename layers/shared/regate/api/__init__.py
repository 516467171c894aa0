"""Read-only HTTP API over the public Parquet dataset (issue 5).

Modules: :mod:`.routes` (the route table), :mod:`.params` (query parameters, French errors),
:mod:`.dataset` (partition listing, /tmp cache by S3 version, data version for ETags), :mod:`.query`
(DuckDB queries, bound parameters), :mod:`.collectivites` (directory adapter), :mod:`.reports`
(collectivités, GeoJSON, mReport rows), :mod:`.models` (response models), :mod:`.openapi`,
:mod:`.app` (the powertools resolver), :mod:`.local_server` (``regate serve``) and
:mod:`.sampledata` (synthetic public partitions for tests and the benchmark). Heavy imports (duckdb)
happen lazily.
"""
