"""Bundled official schema files (package data; see README.md for sources and licence)."""
