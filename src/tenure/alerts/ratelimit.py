"""Per-recipient-domain send rate: a token bucket per domain that books future turns."""

from __future__ import annotations

import math
from datetime import datetime


def domain_of(address: str) -> str:
    """Return the lower-cased domain of an email address ("" when it has none)."""
    return address.rpartition("@")[2].strip().strip(">").lower()


class DomainLimiter:
    """Allow `rate` messages per second per domain with a burst of one second's worth.

    reserve() books the next free turn of a domain and returns how many seconds away it is:
    0 means "send now"; a positive wait means the message is deferred to that moment (its
    turn stays booked, so deferred messages spread out at the rate instead of bunching).
    """

    def __init__(self, rate: float) -> None:
        """Limit to rate messages per second per domain; rate 0 means no limit."""
        self.rate = rate
        self.burst = max(1, math.ceil(rate))
        self.tokens: dict[str, float] = {}
        self.seen: dict[str, datetime] = {}

    def reserve(self, address: str, now: datetime) -> float:
        """Book a turn for one message to address; return the seconds to wait for it."""
        if self.rate <= 0:
            return 0.0
        domain = domain_of(address)
        last = self.seen.get(domain, now)
        elapsed = max(0.0, (now - last).total_seconds())
        tokens = min(float(self.burst), self.tokens.get(domain, self.burst) + elapsed * self.rate)
        tokens -= 1.0  # may go negative: a debt paid back at `rate` tokens per second
        self.tokens[domain], self.seen[domain] = tokens, max(last, now)
        return 0.0 if tokens >= 0 else -tokens / self.rate
