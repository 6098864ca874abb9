"""Scheduled reports: the weekly executive report and the monthly board pack (HTML and PDF)."""
