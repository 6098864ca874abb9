"""Alerts: rules, evaluation, dedupe, lifecycle, delivery channels."""
