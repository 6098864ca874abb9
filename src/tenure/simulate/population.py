"""The static side of the simulated customer base: accounts, segments, contacts, multipliers."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

import tenure.simulate.catalog as cat
from tenure.simulate.config import MS_PER_DAY, SimulationConfig

MAX_TENURE_DAYS = 3650


@dataclass
class Contacts:
    """People at accounts, stored contiguously per account (first[a] … first[a]+count[a]−1)."""

    account: np.ndarray
    first: np.ndarray
    count: np.ndarray
    role: np.ndarray
    names: list[str]
    emails: list[str]
    consent_email: np.ndarray
    consent_sms: np.ndarray
    created_ms: np.ndarray


@dataclass
class Population:
    """Every account's static attributes, in creation order (account i is the i-th signup)."""

    created_ms: np.ndarray
    created_day: np.ndarray
    plan: np.ndarray
    band: np.ndarray
    billing: np.ndarray
    industry: np.ndarray
    region: np.ndarray
    currency: np.ndarray
    seats: np.ndarray
    intensity: np.ndarray
    multiplier: np.ndarray
    multiplier_index: np.ndarray
    multiplier_values: np.ndarray
    owner: np.ndarray
    owner_emails: list[str]
    names: list[str]
    domains: list[str]
    contacts: Contacts

    def __len__(self) -> int:
        return len(self.created_ms)


def build_population(config: SimulationConfig, rng: np.random.Generator) -> Population:
    """Draw the accounts, their segments, seats, CSM owners, names and contacts."""
    n = config.accounts
    created_day, created_ms = signup_times(config, rng)
    band = rng.choice(len(cat.SIZE_BANDS), size=n, p=cat.SIZE_BAND_P)
    plan = draw_rows(rng, cat.PLAN_GIVEN_BAND, band)
    billing = (rng.random(n) < cat.ANNUAL_P_BY_PLAN[plan]).astype(np.int8)
    industry = rng.choice(len(cat.INDUSTRIES), size=n, p=cat.INDUSTRY_P)
    region = rng.choice(len(cat.REGIONS), size=n, p=cat.REGION_P)
    currency = draw_rows(rng, cat.CURRENCY_GIVEN_REGION, region)
    lo, hi = cat.SEAT_RANGE[band, 0], cat.SEAT_RANGE[band, 1]
    seats = np.floor(np.exp(rng.uniform(np.log(lo), np.log(hi + 1)))).astype(np.int32)
    multiplier = (
        cat.PLAN_HAZARD[plan]
        * cat.SIZE_HAZARD[band]
        * cat.BILLING_HAZARD[billing]
        * cat.INDUSTRY_HAZARD[industry]
    )
    values, index = np.unique(multiplier.round(12), return_inverse=True)
    owner, owner_emails = csm_owners(rng, plan)
    names, domains = company_names(rng, n)
    return Population(
        created_ms=created_ms,
        created_day=created_day,
        plan=plan.astype(np.int8),
        band=band.astype(np.int8),
        billing=billing,
        industry=industry.astype(np.int8),
        region=region.astype(np.int8),
        currency=currency.astype(np.int8),
        seats=np.maximum(seats, 1),
        intensity=rng.lognormal(0.0, 0.5, size=n),
        multiplier=values[index],
        multiplier_index=index.astype(np.int32),
        multiplier_values=values,
        owner=owner,
        owner_emails=owner_emails,
        names=names,
        domains=domains,
        contacts=build_contacts(rng, created_ms, domains, config.start_ms),
    )


def signup_times(config: SimulationConfig, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Return (window day, epoch ms) of each signup, sorted; some precede the window."""
    n = config.accounts
    is_new = rng.random(n) < config.resolved_new_account_share
    tenure = np.minimum(1 + np.floor(rng.exponential(700.0, size=n)), MAX_TENURE_DAYS)
    new_day = rng.integers(0, max(config.n_days, 1), size=n)
    day = np.where(is_new, new_day, -tenure).astype(np.int64)
    ms_of_day = rng.integers(6 * 3_600_000, 20 * 3_600_000, size=n)
    created_ms = config.start_ms + day * MS_PER_DAY + ms_of_day
    order = np.argsort(created_ms, kind="stable")
    return day[order], created_ms[order]


def draw_rows(rng: np.random.Generator, table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Draw one category per item from the distribution in table[rows[i]]."""
    cumulative = np.cumsum(table, axis=1)[rows]
    cumulative[:, -1] = 1.0
    picks = (rng.random(len(rows))[:, None] >= cumulative).sum(axis=1)
    return np.minimum(picks, table.shape[1] - 1)


def csm_owners(rng: np.random.Generator, plan: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Assign a CSM to bigger accounts more often; return owner index (−1 none) and emails."""
    n_csm = int(np.clip(len(plan) // 300, 3, 200))
    first = rng.integers(0, len(cat.FIRST_NAMES), size=n_csm)
    last = rng.integers(0, len(cat.LAST_NAMES), size=n_csm)
    emails = [
        f"{ascii_slug(cat.FIRST_NAMES[f])}.{ascii_slug(cat.LAST_NAMES[la])}{i + 1}"
        f"@{cat.VENDOR_EMAIL_DOMAIN}"
        for i, (f, la) in enumerate(zip(first, last, strict=True))
    ]
    has_owner = rng.random(len(plan)) < cat.OWNER_P_BY_PLAN[plan]
    owner = np.where(has_owner, rng.integers(0, n_csm, size=len(plan)), -1)
    return owner.astype(np.int32), emails


def company_names(rng: np.random.Generator, n: int) -> tuple[list[str], list[str]]:
    """Return company names and unique email domains."""
    adj = rng.integers(0, len(cat.NAME_ADJECTIVES), size=n)
    noun = rng.integers(0, len(cat.NAME_NOUNS), size=n)
    suffix = rng.integers(0, len(cat.NAME_SUFFIXES), size=n)
    slugs = [ascii_slug(a) for a in cat.NAME_ADJECTIVES], [ascii_slug(b) for b in cat.NAME_NOUNS]
    names, domains = [], []
    for i, (a, b, c) in enumerate(zip(adj.tolist(), noun.tolist(), suffix.tolist(), strict=True)):
        names.append(f"{cat.NAME_ADJECTIVES[a]} {cat.NAME_NOUNS[b]} {cat.NAME_SUFFIXES[c]}")
        domains.append(f"{slugs[0][a]}{slugs[1][b]}{i + 1}.example.com")
    return names, domains


def ascii_slug(text: str) -> str:
    """Return lowercase ASCII letters and digits of text (Müller → muller)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def build_contacts(
    rng: np.random.Generator, created_ms: np.ndarray, domains: list[str], start_ms: int
) -> Contacts:
    """Draw 2–6 contacts per account; the first is the admin, all exist before any activity."""
    n = len(created_ms)
    count = rng.integers(2, 7, size=n)
    first = np.concatenate([[0], np.cumsum(count)[:-1]])
    account = np.repeat(np.arange(n), count)
    position = np.arange(len(account)) - first[account]
    role = np.where(
        position == 0,
        0,
        rng.choice(len(cat.CONTACT_ROLES), size=len(account), p=cat.CONTACT_ROLE_P),
    )
    room = np.clip(start_ms - MS_PER_DAY - created_ms[account], 0, 90 * MS_PER_DAY)
    later = np.floor(rng.random(len(account)) * room).astype(np.int64) * (position > 0)
    offset = position * 60_000 + later
    first_name = rng.integers(0, len(cat.FIRST_NAMES), size=len(account))
    last_name = rng.integers(0, len(cat.LAST_NAMES), size=len(account))
    names, emails = contact_names(account, first_name, last_name, domains)
    return Contacts(
        account=account.astype(np.int32),
        first=first,
        count=count,
        role=role.astype(np.int8),
        names=names,
        emails=emails,
        consent_email=rng.random(len(account)) < 0.85,
        consent_sms=rng.random(len(account)) < 0.3,
        created_ms=created_ms[account] + offset,
    )


def contact_names(
    account: np.ndarray, first_name: np.ndarray, last_name: np.ndarray, domains: list[str]
) -> tuple[list[str], list[str]]:
    """Return display names and emails, unique within each account."""
    firsts = [ascii_slug(f) for f in cat.FIRST_NAMES]
    lasts = [ascii_slug(la) for la in cat.LAST_NAMES]
    names, emails, seen = [], [], set()
    for a, f, la in zip(account.tolist(), first_name.tolist(), last_name.tolist(), strict=True):
        names.append(f"{cat.FIRST_NAMES[f]} {cat.LAST_NAMES[la]}")
        local = f"{firsts[f]}.{lasts[la]}"
        candidate, k = local, 1
        while (a, candidate) in seen:
            k += 1
            candidate = f"{local}{k}"
        seen.add((a, candidate))
        emails.append(f"{candidate}@{domains[a]}")
    return names, emails
