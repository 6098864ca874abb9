"""Account health: scorecards, tiers, trends, real-time updates."""
