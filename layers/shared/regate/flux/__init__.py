"""Flows (flux): one folder per national format — délibérations, budgets, marchés publics."""
