"""Rég@te: the open-data chain for French local authorities.

The package is organised by domain concept: ``pastell`` (the source), ``capture`` (raw zone),
``actes`` (the act model and ACTES nomenclature), ``collectivites`` (reference data), ``scdl``
(rows, CSV, validator), ``normalize`` (curated zone), ``datagouv`` (publication), ``api`` (read API),
``storage`` (the one S3 layout), ``http`` (the one retry policy), ``runtime`` (local chain), ``cli``.
"""

__version__ = "0.1.0"
