"""Loyalty: the programme as data, a double-entry points ledger, earning, rewards, tiers, badges."""
