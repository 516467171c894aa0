"""Marchés publics (DECP 2024): model, validation, repairs, deduplication, files."""
