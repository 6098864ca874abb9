"""Analytics warehouse: Ibis over DuckDB (Spark later), one writer at a time."""
