"""Pure assignment: determinism, weights, stability, sticky re-weighting, layers, the holdout."""

from __future__ import annotations

import hashlib
import math

import pytest

from tenure.config import Settings
from tenure.errors import InputError
from tenure.experiments.assignment import (
    GLOBAL_HOLDOUT_SALT,
    Variant,
    bucket,
    check_variants,
    in_holdout,
    in_layer,
    ranges_overlap,
    sticky_variant,
    variant_at,
    variant_of,
)
from tenure.experiments.holdout import in_global_holdout, split_global_holdout

IDS = [f"acct-{i}" for i in range(100_000)]
HALF = [Variant("control", 1), Variant("treatment", 1)]


def test_bucket_is_the_first_64_bits_of_sha256_as_a_fraction():
    digest = hashlib.sha256(b"salt:acct-1").hexdigest()
    assert bucket("salt", "acct-1") == int(digest[:16], 16) / 2**64
    assert bucket("salt", "acct-1") == bucket("salt", "acct-1")
    assert bucket("other", "acct-1") != bucket("salt", "acct-1")


def test_variant_at_follows_cumulative_weights():
    arms = [Variant("a", 1), Variant("b", 2), Variant("c", 1)]
    assert [variant_at(arms, p) for p in (0.0, 0.2499, 0.25, 0.7499, 0.75, 0.999999)] == [
        "a", "a", "b", "b", "c", "c",
    ]  # fmt: skip


@pytest.mark.parametrize("weights", [(50, 50), (90, 10), (1, 1, 2)])
def test_weights_hold_within_binomial_tolerance_on_100k_ids(weights):
    arms = [Variant(f"v{i}", w) for i, w in enumerate(weights)]
    counts: dict[str, int] = {}
    for unit in IDS:
        key = variant_of("exp-salt", unit, arms)
        counts[key] = counts.get(key, 0) + 1
    n, total = len(IDS), sum(weights)
    for i, w in enumerate(weights):
        p = w / total
        sd = math.sqrt(n * p * (1 - p))
        assert abs(counts[f"v{i}"] - n * p) < 4 * sd, (weights, counts)


def test_adding_units_moves_nobody():
    before = {u: variant_of("s", u, HALF) for u in IDS[:1000]}
    after = {u: variant_of("s", u, HALF) for u in IDS[:5000]}
    assert all(after[u] == v for u, v in before.items())


def test_reweighting_with_sticky_records_keeps_existing_units():
    first = {u: variant_of("s", u, HALF) for u in IDS[:2000]}
    skewed = [Variant("control", 1), Variant("treatment", 9)]
    moved_without_stickiness = sum(variant_of("s", u, skewed) != v for u, v in first.items())
    assert moved_without_stickiness > 500  # the cumulative edge moved from 0.5 to 0.1
    assert all(sticky_variant(first, "s", u, skewed) == v for u, v in first.items())
    newcomers = [sticky_variant(first, "s", u, skewed) for u in IDS[2000:12_000]]
    assert 0.88 < newcomers.count("treatment") / len(newcomers) < 0.92


def test_layers_with_disjoint_ranges_are_mutually_exclusive():
    left = [u for u in IDS[:20_000] if in_layer("pricing", 0.0, 0.5, u)]
    right = [u for u in IDS[:20_000] if in_layer("pricing", 0.5, 1.0, u)]
    assert set(left).isdisjoint(right) and len(left) + len(right) == 20_000
    assert 0.48 < len(left) / 20_000 < 0.52
    assert all(in_layer(None, 0.0, 0.1, u) for u in IDS[:100])
    assert ranges_overlap((0.0, 0.5), (0.4, 1.0)) and not ranges_overlap((0.0, 0.5), (0.5, 1.0))


def test_layer_and_variant_hashes_are_independent():
    inside = [u for u in IDS[:40_000] if in_layer("onboarding", 0.0, 0.5, u)]
    share = sum(variant_of("exp", u, HALF) == "treatment" for u in inside) / len(inside)
    assert abs(share - 0.5) < 4 * math.sqrt(0.25 / len(inside))


def test_global_holdout_is_five_percent_stable_and_nested():
    settings = Settings()
    assert settings.holdout_fraction == 0.05
    held = {u for u in IDS if in_global_holdout(u, settings)}
    sd = math.sqrt(len(IDS) * 0.05 * 0.95)
    assert abs(len(held) - 0.05 * len(IDS)) < 4 * sd
    assert held == {u for u in IDS if bucket(GLOBAL_HOLDOUT_SALT, u) < 0.05}
    bigger = {u for u in IDS if in_holdout(u, 0.10)}
    assert held < bigger  # raising the fraction only adds accounts
    treatable, held_out = split_global_holdout(IDS[:1000], settings)
    assert set(held_out) == held & set(IDS[:1000]) and len(treatable) + len(held_out) == 1000


def test_bad_variant_lists_are_refused():
    for arms in ([Variant("a", 1)], [Variant("a", 1), Variant("a", 2)], [*HALF, Variant("c", 0)]):
        with pytest.raises(InputError):
            check_variants(arms)
