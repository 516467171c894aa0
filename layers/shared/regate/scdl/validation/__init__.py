"""SCDL validation internals: how a CSV file is read (``reading``), per mode."""
