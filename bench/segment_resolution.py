"""Benchmark /v1/batch by how each message finds its account, against explicit accounts.

Prints one JSON object: events/s acknowledged for batches whose messages name their account
(`context.groupId`, the baseline), resolve it from the contact by userId, by email, stay held
(unknown users), and for group calls that release a held backlog; each with its ratio to the
baseline measured in the same run. In-process (FastAPI's TestClient), SQLite app DB unless
--database-url.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert

from tenure.accounts.models import Account, Contact
from tenure.api.app import create_app
from tenure.auth import service
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope

T0 = datetime(2025, 1, 1, tzinfo=UTC)
SENT = "2025-06-30T12:00:00+00:00"
counter = itertools.count()


def seed(settings: Settings, accounts: int, contacts: int) -> str:
    """Create accounts, contacts spread over them and a write key; return the key."""
    engine = get_engine(settings)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(Account),
            [
                {
                    "external_id": f"A{i}",
                    "name": f"A{i}",
                    "created_at": T0,
                    "attributes": {},
                    "source": "file",
                }
                for i in range(accounts)
            ],
        )
        conn.execute(
            insert(Contact),
            [
                {
                    "account_id": 1 + i % accounts,
                    "external_id": f"c{i}",
                    "email": f"c{i}@example.com",
                    "consent": {},
                }
                for i in range(contacts)
            ],
        )
    with session_scope(engine) as session:
        _, key = service.create_write_key(session, "bench")
    engine.dispose()
    return key


def message(mode: str, i: int, accounts: int, contacts: int) -> dict[str, Any]:
    """Return one track (or group) message of the given resolution mode."""
    body: dict[str, Any] = {
        "type": "track",
        "event": "report_viewed",
        "messageId": f"{mode}-{next(counter)}",
        "timestamp": SENT,
        "properties": {"n": i % 7},
    }
    if mode == "explicit":
        body |= {"userId": f"c{i % contacts}", "context": {"groupId": f"A{i % accounts}"}}
    elif mode == "by_user_id":
        body["userId"] = f"c{i % contacts}"
    elif mode == "by_email":
        body |= {
            "userId": f"new-{i}",
            "context": {"traits": {"email": f"c{i % contacts}@example.com"}},
        }
    elif mode == "held":
        body["userId"] = f"stranger-{i % 1000}"
    elif mode == "group_release":
        body = {"type": "group", "messageId": f"g-{next(counter)}", "timestamp": SENT}
        body |= {"userId": f"stranger-{i % 1000}", "groupId": f"A{i % accounts}"}
    return body


def run(client: TestClient, key: str, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    """Post the batches of one mode; return events/s and the held count reported."""
    auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    batches = [
        {
            "batch": [
                message(mode, b * args.batch + i, args.accounts, args.contacts)
                for i in range(args.batch)
            ]
        }
        for b in range(args.batches)
    ]
    held = 0
    start = time.perf_counter()
    for body in batches:
        answer = client.post("/v1/batch", json=body, headers=auth)
        assert answer.status_code == 200 and not answer.json()["rejected"], answer.text
        held += answer.json()["held"]
    seconds = time.perf_counter() - start
    events = args.batch * args.batches
    return {
        "events": events,
        "seconds": round(seconds, 3),
        "events_per_s": round(events / seconds),
        "held": held,
    }


def main() -> None:
    """Parse arguments, run every mode once, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            data_dir=Path(folder), secret_key="bench-" + "k" * 32, database_url=args.database_url
        )
        key = seed(settings, args.accounts, args.contacts)
        app = create_app(settings, dashboard=False)
        results = {}
        with TestClient(app) as client:
            run(
                client, key, "explicit", argparse.Namespace(**{**vars(args), "batches": 1})
            )  # warm-up
            for mode in ("explicit", "by_user_id", "by_email", "held", "group_release"):
                results[mode] = run(client, key, mode, args)
        app.state.engine.dispose()
    base = results["explicit"]["events_per_s"]
    for figures in results.values():
        figures["ratio_to_explicit"] = round(figures["events_per_s"] / base, 3)
    print(json.dumps({"args": vars(args), "results": results}, indent=2))


if __name__ == "__main__":
    main()
