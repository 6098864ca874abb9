"""Support tickets and survey answers (NPS, CSAT), their rates and scores set by the state."""

from __future__ import annotations

import numpy as np

import tenure.simulate.catalog as cat
from tenure.simulate.buffers import ColumnBuffer
from tenure.simulate.config import MS_PER_DAY
from tenure.simulate.population import Population

HOUR_MS = 3_600_000
# Rows follow chain.STATES: champion, healthy, neutral, declining, disengaged, payment_trouble.
TICKET_RATE = np.array([0.010, 0.010, 0.012, 0.025, 0.006, 0.030])
TICKET_CATEGORIES = ("how_to", "bug", "billing", "feature_request", "integration", "cancellation")
CATEGORY_P = np.array(
    [
        [0.35, 0.25, 0.03, 0.25, 0.12, 0.00],
        [0.40, 0.28, 0.05, 0.15, 0.12, 0.00],
        [0.40, 0.30, 0.07, 0.10, 0.12, 0.01],
        [0.25, 0.35, 0.10, 0.05, 0.10, 0.15],
        [0.20, 0.25, 0.15, 0.02, 0.03, 0.35],
        [0.05, 0.05, 0.80, 0.00, 0.00, 0.10],
    ]
)
SUBJECTS: tuple[tuple[str, ...], ...] = (
    ("How do I share a dashboard?", "Where can I change report filters?", "Setting up SSO"),
    ("Report fails to load", "Export produces an empty file", "Error 500 on the usage page"),
    ("Card declined", "Question about our invoice", "Update billing address", "Payment failed"),
    ("Feature request: scheduled exports", "Can we get custom roles?", "Dark mode please"),
    ("Salesforce sync stopped", "Slack notifications missing", "API rate limits"),
    ("How do we cancel our plan?", "Reduce our seats", "Downgrade request",
     "Data export before leaving"),
)  # fmt: skip
PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_P = np.array(
    [
        [0.30, 0.50, 0.15, 0.05],
        [0.30, 0.50, 0.15, 0.05],
        [0.25, 0.50, 0.18, 0.07],
        [0.10, 0.40, 0.35, 0.15],
        [0.15, 0.45, 0.30, 0.10],
        [0.05, 0.35, 0.40, 0.20],
    ]
)
RESOLUTION_MEDIAN_H = np.array([48.0, 24.0, 8.0, 3.0])
CSAT_MEAN = np.array([4.6, 4.3, 3.9, 3.2, 2.6, 3.0])
CSAT_RESPONSE_P = 0.45
NPS_MEAN = np.array([9.2, 8.2, 6.9, 5.3, 3.8, 6.5])
NPS_DAILY_P, CSAT_SURVEY_DAILY_P, COMMENT_P = 1 / 120, 1 / 250, 0.3
SURVEY_KINDS = ("nps", "csat")
COMMENTS: tuple[tuple[str, ...], ...] = (
    ("Love it, the reports save us hours every week.", "Best tool in our stack.",
     "Great support team!"),
    ("Solid product, a few rough edges.", "Good, but exports could be faster.", "Does the job."),
    ("Too expensive for what we use.", "Hard to get the team to adopt it.",
     "Missing integrations we need.", "Support took too long to answer.",
     "We are evaluating alternatives."),
)  # fmt: skip
TICKET_STATUSES = ("open", "pending", "solved", "closed")
TICKET_COLUMNS = {
    "account": "i4",
    "contact": "i8",
    "category": "i1",
    "subject": "i1",
    "opened_ms": "i8",
    "closed_ms": "i8",
    "priority": "i1",
    "csat": "i1",
}
SURVEY_COLUMNS = {
    "account": "i4",
    "contact": "i8",
    "kind": "i1",
    "score": "i1",
    "ms": "i8",
    "comment": "i1",
}


class Support:
    """Collect tickets and survey responses day by day."""

    def __init__(self, pop: Population, end_ms: int) -> None:
        self.pop, self.end_ms = pop, end_ms
        self.tickets = ColumnBuffer(TICKET_COLUMNS, capacity=max(1024, len(pop) * 2))
        self.surveys = ColumnBuffer(SURVEY_COLUMNS, capacity=max(1024, len(pop) * 2))

    def pick_contacts(self, rng: np.random.Generator, accounts: np.ndarray) -> np.ndarray:
        """Return a random contact row of each account."""
        contacts = self.pop.contacts
        return contacts.first[accounts] + (
            rng.random(len(accounts)) * contacts.count[accounts]
        ).astype(np.int64)

    def business_time(
        self, rng: np.random.Generator, accounts: np.ndarray, day_ms: int
    ) -> np.ndarray:
        """Return times on the day around the account's local business hours."""
        offset = cat.REGION_UTC_OFFSET_H[self.pop.region[accounts]]
        local = rng.normal(12.5, 2.5, size=len(accounts))
        return day_ms + (((local - offset) * HOUR_MS).astype(np.int64) % MS_PER_DAY)

    def open_tickets(
        self,
        rng: np.random.Generator,
        accounts: np.ndarray,
        states: np.ndarray,
        seats: np.ndarray,
        day_ms: int,
        cutoff_ms: np.ndarray,
    ) -> None:
        """File the day's tickets with state-dependent category, priority and CSAT."""
        rate = TICKET_RATE[states] * (1.0 + 0.35 * np.log(seats[accounts]))
        counts = rng.poisson(rate)
        who, state = np.repeat(accounts, counts), np.repeat(states, counts)
        opened = self.business_time(rng, who, day_ms)
        keep = opened < cutoff_ms[who]
        who, state, opened = who[keep], state[keep], opened[keep]
        category = choose_rows(rng, CATEGORY_P, state)
        subject = (rng.random(len(who)) * np.array([len(s) for s in SUBJECTS])[category]).astype(
            np.int8
        )
        priority = choose_rows(rng, PRIORITY_P, state)
        hours = RESOLUTION_MEDIAN_H[priority] * rng.lognormal(0.0, 1.0, len(who))
        closed = opened + (hours * HOUR_MS).astype(np.int64)
        rated = (closed < self.end_ms) & (rng.random(len(who)) < CSAT_RESPONSE_P)
        csat = np.where(rated, scores(rng, CSAT_MEAN[state], 0.9, 1, 5), -1)
        self.tickets.append(
            account=who,
            contact=self.pick_contacts(rng, who),
            category=category,
            subject=subject,
            opened_ms=opened,
            closed_ms=np.where(closed < self.end_ms, closed, -1),
            priority=priority,
            csat=csat,
        )

    def answer_surveys(
        self,
        rng: np.random.Generator,
        accounts: np.ndarray,
        states: np.ndarray,
        day_ms: int,
        cutoff_ms: np.ndarray,
    ) -> None:
        """Record the day's NPS (0–10) and in-app CSAT (1–5) answers."""
        u = rng.random(len(accounts))
        nps, csat = u < NPS_DAILY_P, (u >= NPS_DAILY_P) & (u < NPS_DAILY_P + CSAT_SURVEY_DAILY_P)
        who = np.concatenate([accounts[nps], accounts[csat]])
        state = np.concatenate([states[nps], states[csat]])
        kind = np.repeat(np.array([0, 1], dtype=np.int8), [nps.sum(), csat.sum()])
        score = np.where(
            kind == 0,
            scores(rng, NPS_MEAN[state], 1.6, 0, 10),
            scores(rng, CSAT_MEAN[state], 0.9, 1, 5),
        )
        ms = self.business_time(rng, who, day_ms)
        bucket = np.where(kind == 0, np.digitize(score, [7, 9]), np.digitize(score, [3, 4]))
        sizes = np.array([len(c) for c in COMMENTS])
        comment = np.where(
            rng.random(len(who)) < COMMENT_P,
            (rng.random(len(who)) * sizes[2 - bucket]).astype(np.int64),
            -1,
        )
        code = np.where(comment >= 0, (2 - bucket) * 10 + comment, -1)  # COMMENTS[c // 10][c % 10]
        keep = ms < cutoff_ms[who]
        who = who[keep]
        self.surveys.append(
            account=who,
            contact=self.pick_contacts(rng, who),
            kind=kind[keep],
            score=score[keep],
            ms=ms[keep],
            comment=code[keep],
        )


def choose_rows(rng: np.random.Generator, table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Draw a category per item from table[rows[i]]."""
    cumulative = np.cumsum(table, axis=1)[rows]
    cumulative[:, -1] = 1.0
    return np.minimum(
        (rng.random(len(rows))[:, None] >= cumulative).sum(axis=1), table.shape[1] - 1
    ).astype(np.int8)


def scores(
    rng: np.random.Generator, mean: np.ndarray, sd: float, low: int, high: int
) -> np.ndarray:
    """Return integer scores around mean, clipped to [low, high]."""
    return np.clip(np.round(rng.normal(mean, sd)), low, high).astype(np.int8)
