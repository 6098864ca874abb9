"""Ingestion: readers, validation, quarantine and importers."""
