"""Ingest of municipal department exports (parsing and normalisation)."""
