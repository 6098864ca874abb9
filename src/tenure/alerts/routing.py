"""Who hears of an alert and over which channels (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from tenure.config import Settings


@dataclass(frozen=True)
class Routing:
    """Where alerts go besides the account's CSM, and which channels are configured."""

    fallback: str = "cs-team@localhost"
    escalation_to: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    slack: bool = False
    webhooks: frozenset[str] = frozenset()

    def usable(self, channel: str) -> bool:
        """Return whether a channel can be delivered with this configuration."""
        if channel == "email":
            return True
        if channel == "slack":
            return self.slack
        return channel.removeprefix("webhook:") in self.webhooks


def routing_from_settings(settings: Settings) -> Routing:
    """Return the routing the settings describe."""
    return Routing(
        fallback=settings.alert_fallback_owner,
        escalation_to=settings.alert_escalation_to,
        public_url=settings.public_url.rstrip("/"),
        slack=bool(settings.slack_webhook_url),
        webhooks=frozenset(settings.alert_webhooks),
    )


def recipient(route: str, account_owner: str | None, routing: Routing) -> str:
    """Return the address a rule's route sends an account's alerts to."""
    if route == "owner":
        owner = (account_owner or "").strip()
        return owner if "@" in owner else routing.fallback
    if route == "fallback":
        return routing.fallback
    return route.removeprefix("team:")
