"""Customer lifetime value for non-subscription revenue: BG/NBD with Gamma-Gamma spend."""
