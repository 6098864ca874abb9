"""Clustering (k by silhouette, stable labels), value × risk grid, RFM, warehouse usage."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb
import numpy as np
import pytest
import sqlalchemy as sa

from tenure.db.session import session_scope
from tenure.errors import InputError
from tenure.segments import behaviour, service
from tenure.segments.clustering import CLUSTER_METRICS, cluster_accounts, describe
from tenure.segments.grid import rank_scores, rfm_group, rfm_segments, usage_risk, value_risk_grid
from tenure.segments.models import Segment
from tenure.segments.usage import usage_counts
from tenure.warehouse.catalog import EVENTS_DDL

AS_OF = date(2025, 6, 30)  # as in conftest.py: the trailing month starts 2025-05-30

CENTRES = {  # three obvious groups: big quiet, mid busy, small with tickets
    "big": {"mrr": 5000, "seats": 200, "tenure_months": 36, "events_30d": 50,
            "tickets_90d": 1, "failed_invoices_90d": 0},
    "mid": {"mrr": 800, "seats": 20, "tenure_months": 12, "events_30d": 900,
            "tickets_90d": 2, "failed_invoices_90d": 0},
    "small": {"mrr": 50, "seats": 2, "tenure_months": 3, "events_30d": 10,
              "tickets_90d": 15, "failed_invoices_90d": 3},
}  # fmt: skip


def three_groups(seed: int = 1) -> tuple[dict[int, dict[str, float]], dict[int, str]]:
    rng = np.random.default_rng(seed)
    features, truth = {}, {}
    for i in range(90):
        group = list(CENTRES)[i % 3]
        noise = rng.normal(1.0, 0.05, len(CLUSTER_METRICS))
        features[i + 1] = {
            m: CENTRES[group][m] * n for m, n in zip(CLUSTER_METRICS, noise, strict=True)
        }
        truth[i + 1] = group
    return features, truth


def test_k_is_chosen_by_silhouette_and_labels_are_stable():
    features, truth = three_groups()
    first = cluster_accounts(features, k_min=2, k_max=6, seed=0)
    again = cluster_accounts(features, k_min=2, k_max=6, seed=0)
    assert first.k == 3
    assert first.silhouettes[3] == max(first.silhouettes.values())
    assert first.labels == again.labels and first.profiles == again.profiles
    # label 0 is the highest-MRR cluster, label 2 the lowest; clusters match the truth
    by_label = {
        label: {truth[a] for a, c in first.labels.items() if c == label} for label in range(3)
    }
    assert by_label == {0: {"big"}, 1: {"mid"}, 2: {"small"}}
    assert [p["accounts"] for p in first.profiles] == [30, 30, 30]
    assert "high mrr" in first.profiles[0]["profile"]
    assert "high events_30d" in first.profiles[1]["profile"]
    assert "high tickets_90d, failed_invoices_90d" in first.profiles[2]["profile"]
    other_seed = cluster_accounts(features, k_min=2, k_max=6, seed=7)
    assert other_seed.labels == first.labels  # well-separated data: seed does not matter


def test_clustering_refuses_bad_ranges_and_tiny_books():
    features, _ = three_groups()
    with pytest.raises(InputError, match="k-min"):
        cluster_accounts(features, k_min=1)
    with pytest.raises(InputError, match="more than 2 accounts"):
        cluster_accounts({1: {"mrr": 1}, 2: {"mrr": 2}})


def test_profile_wording():
    assert (
        describe({"mrr": 0.5, "seats": -0.7, "x": 0.1}) == "high mrr; low seats vs the population"
    )
    assert describe({"mrr": 0.2}) == "close to the population"


def test_grid_and_rfm_rules():
    assert [usage_risk(0, 0), usage_risk(5, 0), usage_risk(4, 10), usage_risk(8, 10)] == [
        "high", "low", "high", "medium",
    ]  # fmt: skip
    assert usage_risk(10, 10) == "low"
    assert rank_scores([10, 20, 30, 40, 50], 5) == [1, 2, 3, 4, 5]
    assert rank_scores([1, 1, 2], 3) == [1, 1, 3]
    metrics = {
        1: {"mrr": 100, "events_30d": 10, "events_prev_30d": 10},
        2: {"mrr": 500, "events_30d": 1, "events_prev_30d": 10},
        3: {"mrr": 900, "events_30d": 8, "events_prev_30d": 10},
        4: {"mrr": 0, "events_30d": 8, "events_prev_30d": 10},
    }
    assert value_risk_grid(metrics) == {
        1: "value-low-risk-low", 2: "value-mid-risk-high", 3: "value-high-risk-medium",
    }  # fmt: skip
    metrics[3]["churn_risk"] = "high"  # the churn model's tier wins over the usage proxy
    metrics[1]["churn_risk"] = None
    assert value_risk_grid(metrics)[3] == "value-high-risk-high"
    assert value_risk_grid(metrics)[1] == "value-low-risk-low"
    assert rfm_group(5, 4, 4) == "champions"
    assert rfm_group(1, 5, 5) == "at-risk"
    assert rfm_group(2, 1, 2) == "hibernating"
    assert rfm_group(5, 1, 1) == "promising"
    rfm = rfm_segments({1: {"days_since_last_event": 0, "events_30d": 9, "mrr": 9}, 2: {}})
    assert rfm[1]["r"] > rfm[2]["r"] == 1


def test_usage_counts_from_events():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(EVENTS_DDL)
    end = datetime(2025, 7, 1, tzinfo=UTC)
    times = {1: [1, 2, 40, 45, 50], 2: [35], 3: [100]}  # days before the end of AS_OF
    for account_id, days in times.items():
        for i, d in enumerate(days):
            con.execute(
                "INSERT INTO events VALUES (?, ?, 'x', NULL, 'login', ?, NULL, 'file', ?, NULL)",
                [f"m{account_id}-{i}", account_id, end - timedelta(days=d), end],
            )
    con.execute(  # after the as-of date: ignored
        "INSERT INTO events VALUES ('late', 1, 'x', NULL, 'login', ?, NULL, 'file', ?, NULL)",
        [end + timedelta(hours=1), end],
    )
    usage = usage_counts(con, AS_OF)
    assert usage[1] == {"events_30d": 2, "events_prev_30d": 3, "days_since_last_event": 1}
    assert usage[2] == {"events_30d": 0, "events_prev_30d": 1, "days_since_last_event": 35}
    assert usage[3] == {"events_30d": 0, "events_prev_30d": 0, "days_since_last_event": 100}


def test_clusters_and_grid_are_stored_as_segments(engine, book, frozen_clock):
    usage = {book["a1"]: {"events_30d": 30, "events_prev_30d": 10, "days_since_last_event": 1}}
    with session_scope(engine) as s:
        metrics = behaviour.account_metrics(db_session=s, as_of=AS_OF, usage=usage)
        result = behaviour.store_clusters(db_session=s, as_of=AS_OF, metrics=metrics, k_max=3)
        counts = behaviour.store_grid(db_session=s, as_of=AS_OF, metrics=metrics)
    assert metrics[book["a1"]]["events_30d"] == 30 and metrics[book["a3"]]["tickets_90d"] == 0
    assert sum(counts[n] for n in counts if n.startswith("value-")) == 4  # a4 pays nothing
    assert sum(counts[n] for n in counts if n.startswith("rfm-")) == 4
    # MRR tertiles of 100, 300, 600, 1000: a2 high value without events (high risk), a1 mid
    # value with rising usage (low risk), a3 and a5 low value without events
    assert counts["value-high-risk-high"] == counts["value-mid-risk-low"] == 1
    assert counts["value-low-risk-high"] == 2
    with session_scope(engine) as s:
        kinds = dict(s.execute(sa.select(Segment.name, Segment.kind)).all())
        cluster0 = service.get_segment(db_session=s, name="cluster-0")
        members = service.stored_members(db_session=s, segment=cluster0, as_of=date(2025, 7, 9))
    assert kinds["cluster-0"] == "cluster" and kinds["value-low-risk-high"] == "grid"
    assert sorted(members) == sorted(a for a, c in result.labels.items() if c == 0)
    with pytest.raises(InputError, match="is a cluster segment"), session_scope(engine) as s:
        service.create_segment(db_session=s, name="cluster-0", rule="mrr > 1", replace=True)


def test_rerunning_a_date_with_fewer_clusters_empties_the_extra_ones(engine, book, frozen_clock):
    earlier = date(2025, 6, 1)
    with session_scope(engine) as s:
        metrics = behaviour.account_metrics(db_session=s, as_of=AS_OF, usage={})
        for day, k in ((earlier, 3), (AS_OF, 3), (AS_OF, 2)):
            behaviour.store_clusters(db_session=s, as_of=day, metrics=metrics, k_min=k, k_max=k)
    with session_scope(engine) as s:

        def members(name, day):
            segment = service.get_segment(db_session=s, name=name)
            return service.stored_members(db_session=s, segment=segment, as_of=day)

        assert members("cluster-2", AS_OF) == []
        assert len(members("cluster-0", AS_OF) + members("cluster-1", AS_OF)) == 4  # paying
        assert len(members("cluster-2", earlier)) > 0  # history of the earlier run is kept
        assert members("cluster-0", date(2025, 5, 1)) is None
