"""Tenure: self-hosted customer retention for SaaS companies."""

__version__ = "0.1.0"
