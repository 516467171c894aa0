"""Rég@te: the open-data chain for French local authorities.

The package is organised by domain concept: ``pastell`` (the source), ``capture`` (raw zone),
``actes`` (the act model and ACTES nomenclature), ``collectivites`` (reference data), ``scdl``
(rows, CSV, validator), ``normalize`` (curated zone), ``datagouv`` (publication), ``api`` (read API),
``storage`` (the one S3 layout), ``http`` (the one retry policy), ``cli``.

Simulators, the local runtime (``regate demo``), ``regate serve``'s server and sample data live in the
rehearsal kit ``regate_local`` (``local/``), never in the Lambda layer: this package never imports it.
"""

__version__ = "0.1.0"
