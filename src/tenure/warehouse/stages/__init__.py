"""Warehouse stages: Ibis functions named for the table they produce (DuckDB now, Spark later)."""
