"""Data-quality report: completeness, validity, uniqueness, references, consistency, freshness."""
