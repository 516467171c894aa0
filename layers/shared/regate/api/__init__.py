"""Read-only HTTP API over the public Parquet dataset (issue 5).

Modules: :mod:`.routes` (the route table), :mod:`.params` (query parameters, French errors),
:mod:`.dataset` (partition listing, /tmp cache by S3 version, data version for ETags), :mod:`.query`
(DuckDB queries, bound parameters), :mod:`.collectivites` (directory adapter), :mod:`.reports`
(collectivités, GeoJSON, mReport rows), :mod:`.models` (response models), :mod:`.openapi`,
:mod:`.exports` (export route: inline, fixed stored exports, 413), :mod:`.resolver` (powertools resolver
with request state per instance, HEAD), :mod:`.app` (the routes). ``regate serve``'s
HTTP server (``regate_local.serve``) and the synthetic public partitions of tests and benchmarks
(``regate_local.sampledata``) are in the local kit. Heavy imports (duckdb) happen lazily.
"""
