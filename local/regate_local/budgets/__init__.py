"""Budgets rehearsal kit: the synthetic TOTEM generator (``totem_generator``)."""
