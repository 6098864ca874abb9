"""Experiments and holdouts: assignment, exposures, metric definitions and the statistics engine."""
