"""Churn analysis on a per-account frame: survival curves, Cox hazards, churn drivers."""
