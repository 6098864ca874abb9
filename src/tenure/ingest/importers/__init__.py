"""Importers for public data sets: convert to canonical files, then import them as usual."""

from tenure.ingest.importers.bank import import_bank
from tenure.ingest.importers.common import worst_exit_code
from tenure.ingest.importers.sparkify import import_sparkify
from tenure.ingest.importers.telco import import_telco

__all__ = ["import_bank", "import_sparkify", "import_telco", "worst_exit_code"]
