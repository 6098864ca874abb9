"""Retention metrics: MRR movements, churn rates, NRR/GRR, ARPA, LTV (pure functions + engine)."""
