"""What churn means for an account: the `churn_definition` and `inactivity_days` settings.

- "subscription": the end of paying subscription rows (churn.labels);
- "inactivity": a gap of at least `inactivity_days` days without events (churn.inactivity);
- "auto" (default): per account and as-of day, subscription rules for accounts with a
  subscription row started by then, inactivity rules for the others.
Kept free of heavy imports: health and the pipeline read it at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenure.config import Settings

CHURN_DEFINITIONS = ("auto", "subscription", "inactivity")
SUBSCRIPTION, INACTIVITY = "subscription", "inactivity"


@dataclass(frozen=True)
class ChurnDefinition:
    """Which churn rules apply: "auto", "subscription" or "inactivity", and the gap in days."""

    kind: str = "auto"
    inactivity_days: int = 30

    @property
    def uses_events(self) -> bool:
        """Return True when some accounts may follow the inactivity rules."""
        return self.kind != SUBSCRIPTION


SUBSCRIPTION_ONLY = ChurnDefinition(kind=SUBSCRIPTION)


def churn_definition(settings: Settings) -> ChurnDefinition:
    """Return the churn definition the settings ask for."""
    return ChurnDefinition(kind=settings.churn_definition, inactivity_days=settings.inactivity_days)
