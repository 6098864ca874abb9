"""Benchmark rendering personalised messages: contexts built in bulk, each version compiled once.

Prints one JSON object: 20k (by default) messages of the packaged `winback-checkin` template
(MJML layout, two partials, a content-block rule) for as many contacts — contexts from the
serving tables in a few queries, then subject, preheader, HTML and text per contact — against,
in the same run, a hand-written baseline that does the obvious thing per message (Jinja, then
MJML, then CSS inlining, then HTML → text) on a sample. Target: ≥ 2,000 messages/s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tenure import clock
from tenure.accounts.models import Account, Contact, Subscription
from tenure.churn.models import ChurnScore
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope
from tenure.events.models import EventDailyCounts
from tenure.health.models import HealthScore
from tenure.messaging import compiled, render, templates
from tenure.messaging.context import message_contexts
from tenure.messaging.htmltext import html_to_text

FEATURES = ("report_viewed", "dashboard_created", "export_run", "api_call", "user_invited")
MEASURES = ("login_recency", "usage_breadth", "support_load", "billing_health")


def _account_rows(n: int, today: date) -> dict[str, list[dict[str, Any]]]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    days = [(today - timedelta(days=d)).isoformat() for d in (1, 5, 45)]
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in ("acc", "sub", "hs", "cs", "ev")}
    for i in range(1, n + 1):
        rows["acc"].append(
            {"id": i, "external_id": f"a{i}", "name": f"Account {i} & Co", "created_at": start,
             "owner": f"csm{i % 7}@example.com", "attributes": {}, "source": "bench"}
        )  # fmt: skip
        rows["sub"].append(
            {"account_id": i, "external_id": f"s{i}", "plan": ("pro", "growth")[i % 2],
             "status": "active", "mrr": 10_000 + 37 * i, "currency": "USD", "quantity": 5,
             "billing_interval": ("month", "year")[i % 2], "started_at": start}
        )  # fmt: skip
        measures = {
            m: {"value": 1.0, "score": float((i * (j + 3)) % 100), "weight": 0.25,
                "points": 1.0, "missing": False}
            for j, m in enumerate(MEASURES)
        }  # fmt: skip
        rows["hs"].append(
            {"account_id": i, "as_of": today, "scorecard": "default", "score": float(i % 100),
             "tier": ("red", "yellow", "green")[i % 3], "measures": measures,
             "updated_at": start}
        )  # fmt: skip
        reasons = [["ev_report_viewed_trend", 0.5, 0.2 - (i % 3) * 0.1], ["tickets_90d", 3, 0.05]]
        rows["cs"].append(
            {"account_id": i, "as_of": today, "horizon_days": 90, "model_version": "bench",
             "probability": (i % 90) / 100, "risk_tier": ("low", "medium", "high")[i % 3],
             "reasons": reasons, "scored_at": start}
        )  # fmt: skip
        for k, feature in enumerate(FEATURES):
            day = days[(i + k) % 3]
            rows["ev"].append(
                {"account_id": i, "name": feature, "counts": {day: 3 + k}, "total": 3 + k}
            )
    return rows


def seed(engine: sa.Engine, accounts: int, per_account: int, today: date) -> None:
    """Write accounts, live subscriptions, scores, 30-day usage and contacts."""
    rows = _account_rows(accounts, today)
    contacts = [
        {"account_id": i, "external_id": f"c{i}-{j}", "email": f"p{j}@a{i}.example.com",
         "name": f"Person{j} Surname{i}", "role": "admin" if j == 0 else "user",
         "consent": {"email": True}}
        for i in range(1, accounts + 1) for j in range(per_account)
    ]  # fmt: skip
    with engine.begin() as conn:
        for model, key in (
            (Account, "acc"), (Subscription, "sub"), (HealthScore, "hs"), (ChurnScore, "cs"),
            (EventDailyCounts, "ev"),
        ):  # fmt: skip
            conn.execute(sa.insert(model), rows[key])
        conn.execute(sa.insert(Contact), contacts)


def _pairs(session) -> list[tuple[Account, Contact]]:
    found = session.execute(
        sa.select(Account, Contact).join(Contact, Contact.account_id == Account.id)
        .order_by(Contact.id)
    ).all()  # fmt: skip
    return [(a, c) for a, c in found]


def naive_render(session, template, contexts: list[dict[str, Any]]) -> float:
    """Render a sample the obvious way per message; return messages per second."""
    joined = render.pinned_fetch(session, template.id)
    source = render.email_source(template.body, template.layout)
    flat = render.flatten(source, joined)
    import css_inline
    import mjml

    env = compiled.environment(True)
    jinja = env.from_string(flat)
    inliner = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)
    started = time.perf_counter()
    for variables in contexts:
        values = variables | {
            "blocks": {"reports_guide": True},
            "message": {"subject": "", "preheader": ""},
        }
        html = inliner.inline(mjml.mjml2html(jinja.render(values)))
        html_to_text(html)
    return len(contexts) / (time.perf_counter() - started)


def bare_jinja_template(compiled_once: Any) -> Any:
    """Return the compiled HTML part as a plain (unsandboxed) Jinja template: the floor."""
    from jinja2 import Environment

    return Environment(autoescape=True).from_string(compiled_once.html_source)


def timed_interleaved(
    compiled_once: Any, contexts: list[dict[str, Any]], chunk: int = 500
) -> tuple[list[Any], float, float, float]:
    """Render every message, and the bare-Jinja floor, in alternating chunks (same load).

    Returns the rendered messages, our seconds, the floor's seconds and our CPU seconds.
    """
    bare = bare_jinja_template(compiled_once)
    extra = {"blocks": {"reports_guide": True}, "message": {"subject": "", "preheader": ""}}
    out: list[Any] = []
    ours = floor = cpu = 0.0
    for start in range(0, len(contexts), chunk):
        part = contexts[start : start + chunk]
        began, began_cpu = time.perf_counter(), time.process_time()
        out.extend(render.render_compiled(compiled_once, c) for c in part)
        middle, middle_cpu = time.perf_counter(), time.process_time()
        for variables in part:
            bare.render(variables | extra)
        ours += middle - began
        cpu += middle_cpu - began_cpu
        floor += time.perf_counter() - middle
    return out, ours, floor, cpu


def bench_render(
    messages: int = 20_000, per_account: int = 10, sample: int = 500
) -> dict[str, Any]:
    """Seed an app DB, build contexts in bulk and render `messages` messages; return figures."""
    accounts = max(1, messages // per_account)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder) / "data")
        engine = get_engine(settings)
        migrate(engine)
        today = clock.now().date()
        seed(engine, accounts, per_account, today)
        with session_scope(engine) as session:
            templates.load_defaults(session)
            template = render.load_template(session, "winback-checkin")
            pairs = _pairs(session)
            started, started_cpu = time.perf_counter(), time.process_time()
            contexts = message_contexts(session, pairs, settings)
            context_s = time.perf_counter() - started
            context_cpu_s = time.process_time() - started_cpu
            renderer = render.Renderer(session)
            started = time.perf_counter()
            compiled_once = renderer.get(template)
            compile_s = time.perf_counter() - started
            out, render_s, floor_s, render_cpu_s = timed_interleaved(compiled_once, contexts)
            baseline = naive_render(session, template, contexts[:sample])
        engine.dispose()
    total = context_s + compile_s + render_s
    shown = sum(1 for m in out if "reports guide" in m.text)
    return {
        "messages": len(out),
        "accounts": accounts,
        "contexts_s": round(context_s, 3),
        "compile_s": round(compile_s, 4),
        "render_s": round(render_s, 3),
        "render_per_s": round(len(out) / render_s),
        "messages_per_s": round(len(out) / total),
        "render_per_cpu_s": round(len(out) / render_cpu_s),
        "messages_per_cpu_s": round(len(out) / (context_cpu_s + render_cpu_s)),
        "naive_per_message_pipeline_per_s": round(baseline),
        "ratio_vs_naive": round(len(out) / total / baseline, 2),
        "bare_jinja_html_only_per_s": round(len(out) / floor_s),
        "ratio_vs_bare_jinja": round(floor_s / render_s, 2),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "cpus": os.cpu_count(),
        "reports_block_shown": shown,
        "html_bytes_mean": round(sum(len(m.html or "") for m in out) / len(out)),
        "target_per_s": 2000,
    }


def main() -> None:
    """Run the render benchmark and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--per-account", type=int, default=10)
    parser.add_argument("--sample", type=int, default=500, help="messages the baseline renders")
    args = parser.parse_args()
    result = bench_render(args.messages, args.per_account, args.sample)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
