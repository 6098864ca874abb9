"""Quoting helpers for the SQL that identifiers and literals cannot be bound into."""

from __future__ import annotations


def ident(name: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """Quote a string literal for DuckDB (used only where a parameter cannot go)."""
    return "'" + value.replace("'", "''") + "'"
