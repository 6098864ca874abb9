"""Benchmark contact-wallet earning over a synthetic warehouse against a bare DuckDB count.

Fills (or reuses, with --keep) the synthetic events of bench/synthetic_events.py, seeds the
accounts and their 2-6 contacts each (the synthetic events name them), loads bench/loyalty.py's
rules with `award_to = "both"`, then times in the same run, over the 120 days as one window:
the company-wallet earning query (`window_earnings`), the contact-wallet earning query
(`contact_window_earnings`: the same machinery with the contact as the owner, after matching
each event's contact), the posting of the contact earnings and, for reference, the company
wallet's bulk posting (`post_earning_table`); the baseline is one bare DuckDB
query counting, per rule, the events whose contact is a known contact of their account (what
reading and matching costs at the least). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loyalty import RULES, seed_accounts
from synthetic_events import SYNTH_AS_OF, SYNTH_DAYS, reuse_or_fill
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope
from tenure.loyalty.contact_earning import contact_window_earnings, contacts_of, post_contact_table
from tenure.loyalty.contact_models import LoyaltyContactEntry
from tenure.loyalty.event_earning import window_earnings
from tenure.loyalty.ledger import post_earning_table
from tenure.loyalty.membership import enrol_accounts
from tenure.loyalty.program import parse_program
from tenure.loyalty.stage import members_of
from tenure.warehouse.catalog import EVENTS
from tenure.warehouse.connection import open_warehouse

CONTACT_RULES = [{**r, "award_to": "both"} for r in RULES]
CONTACT_RULES[-1] = {**CONTACT_RULES[-1], "max_per_contact": 2}
PROGRAM = {
    "name": "bench-contacts", "point_value_minor": 1, "approval_threshold": 10_000,
    "holdout_fraction": 0.0, "rules": CONTACT_RULES,
    "tiers": [{"key": "member", "name": "Member", "qualifying_points": 0}],
}  # fmt: skip
BASELINE_SQL = f"""
SELECT r.rule, count(*) FROM {EVENTS} e JOIN bench_rules r ON r.event = e.name
JOIN bench_contacts c ON c.account_id = e.account_id AND c.external_id = e.contact_external_id
WHERE e.ts >= $start AND e.ts < $end GROUP BY r.rule
"""


def seed_contacts(engine: sa.Engine, accounts: int) -> None:
    """Insert six contacts per account, named as the synthetic events name them."""
    from tenure.accounts.models import Contact

    rows = [{"id": i, "account_id": (i - 1) // 6 + 1, "external_id": f"con_{i:08d}",
             "email": None, "name": None, "consent": {}}
            for i in range(1, accounts * 6 + 1)]  # fmt: skip
    with session_scope(engine) as session:
        for start in range(0, len(rows), 50_000):
            session.execute(sa.insert(Contact), rows[start : start + 50_000])


def _window() -> tuple:
    first = SYNTH_AS_OF - timedelta(days=SYNTH_DAYS - 1)
    return first, SYNTH_AS_OF


def baseline(settings, engine, program) -> tuple[float, int]:
    """Return the seconds of the bare per-rule count of contact events, and its total."""
    import pyarrow as pa

    first, last = _window()
    rules = pa.table({"rule": [r.key for r in program.rules],
                      "event": [r.event for r in program.rules]})  # fmt: skip
    with session_scope(engine) as session:
        contacts = contacts_of(session, members_of(session))
    day = datetime.min.time()
    params = {"start": datetime.combine(first, day, tzinfo=UTC),
              "end": datetime.combine(last + timedelta(days=1), day, tzinfo=UTC)}  # fmt: skip
    with open_warehouse(settings, read_only=True) as warehouse:
        warehouse.con.register("bench_rules", rules)
        warehouse.con.register("bench_contacts", contacts)
        start = time.perf_counter()
        counts = warehouse.con.execute(BASELINE_SQL, params).fetchall()
        seconds = time.perf_counter() - start
    return seconds, sum(n for _, n in counts)


def run(settings, engine, program) -> dict:
    """Time the company-wallet query, the contact-wallet query and the contact posting."""
    first, last = _window()
    with open_warehouse(settings, read_only=True) as warehouse, session_scope(engine) as session:
        members = members_of(session)
        start = time.perf_counter()
        company = window_earnings(warehouse.con, session, program, members, first, last)
        middle = time.perf_counter()
        table, owners = contact_window_earnings(
            warehouse.con, session, program, members, first, last
        )
        end = time.perf_counter()
        posted = post_contact_table(session, table, owners)
        done = time.perf_counter()
        post_earning_table(session, company, program.expiry_months, "pipeline")
        company_posted = time.perf_counter()
    return {"company_query_s": middle - start, "contact_query_s": end - middle,
            "contact_post_s": done - end, "company_post_s": company_posted - done,
            "company_earnings": company.num_rows,
            "contact_earnings": table.num_rows, "posted": posted}  # fmt: skip


def main() -> None:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--keep", type=Path, help="Reuse/keep the synthetic warehouse here")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="tenure-loyalty-contacts-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    settings, generation = reuse_or_fill(root, args.events, args.accounts)
    if settings.app_database_url.startswith("sqlite"):
        Path(settings.app_database_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    engine = get_engine(settings)
    migrate(engine)
    seed_accounts(engine, args.accounts)
    seed_contacts(engine, args.accounts)
    program = parse_program(PROGRAM, "bench")
    with session_scope(engine) as session:
        enrol_accounts(session, program, settings)
    base_s, matched = baseline(settings, engine, program)
    first = run(settings, engine, program)
    replay = run(settings, engine, program)
    with session_scope(engine) as session:
        total = session.scalar(sa.select(sa.func.sum(LoyaltyContactEntry.amount)))
    print(json.dumps({
        "events": args.events, "accounts": args.accounts, "contacts": args.accounts * 6,
        "days": SYNTH_DAYS, "contact_events_matching_rules": matched,
        "company_earnings": first["company_earnings"],
        "contact_earnings": first["contact_earnings"], "contact_posted": first["posted"],
        "replay_posted": replay["posted"],
        "company_query_s": round(first["company_query_s"], 2),
        "contact_query_s": round(first["contact_query_s"], 2),
        "contact_post_s": round(first["contact_post_s"], 2),
        "company_post_s": round(first["company_post_s"], 2),
        "ratio_contact_vs_company_post_per_earning": round(
            first["contact_post_s"] / first["contact_earnings"]
            / (first["company_post_s"] / first["company_earnings"]), 2),
        "baseline_count_query_s": round(base_s, 2),
        "ratio_contact_query_vs_baseline": round(first["contact_query_s"] / base_s, 2),
        "ratio_contact_vs_company_query": round(
            first["contact_query_s"] / first["company_query_s"], 2),
        "replay_contact_query_s": round(replay["contact_query_s"], 2),
        "contact_ledger_sum": int(total or 0), **generation,
    }))  # fmt: skip
    engine.dispose()


if __name__ == "__main__":
    main()
