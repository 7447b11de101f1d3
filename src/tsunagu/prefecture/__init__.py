"""Prefecture-wide work across municipalities: linkage (DuckDB or Spark) and statistics (docs/prefecture.md)."""
