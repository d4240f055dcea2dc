"""Registers the SQL backend (filled in by the SQL storage work)."""
