"""The ``regate`` command line (typer + rich)."""
