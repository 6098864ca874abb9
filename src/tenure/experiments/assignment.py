"""Deterministic assignment: hash a unit into a bucket, then into a layer range and a variant.

Pure functions, no I/O. A unit's bucket is the first 64 bits of SHA-256 of `salt:unit_id` as a
fraction of 2**64, so it is uniform on [0, 1), the same on every machine and independent of
every other unit (adding units moves nobody). Three independent hashes decide a unit's fate:

- the global holdout: `bucket(GLOBAL_HOLDOUT_SALT, account)` < `holdout_fraction`;
- the layer: `bucket("layer:" + layer, unit)` inside the experiment's `[start, end)` range, so
  experiments of one layer with disjoint ranges never share a unit;
- the variant: `bucket(experiment salt, unit)` against the cumulative variant weights.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tenure.errors import InputError

GLOBAL_HOLDOUT_SALT = "tenure-global-holdout-v1"  # never change: it would reshuffle the holdout
_SCALE = float(2**64)


@dataclass(frozen=True)
class Variant:
    """One arm of an experiment and its relative weight."""

    key: str
    weight: float


def bucket(salt: str, unit_id: str) -> float:
    """Return the unit's uniform, deterministic position in [0, 1) under salt."""
    digest = hashlib.sha256(f"{salt}:{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def check_variants(variants: Sequence[Variant]) -> None:
    """Raise InputError unless there are two or more uniquely named, positively weighted arms."""
    if len(variants) < 2:
        raise InputError("an experiment needs at least two variants (a control and a treatment)")
    keys = [v.key for v in variants]
    if len(set(keys)) != len(keys):
        raise InputError(f"variant keys must be unique, got {keys}")
    if any(not v.weight > 0 for v in variants):
        raise InputError("every variant weight must be positive")


def variant_at(variants: Sequence[Variant], position: float) -> str:
    """Return the variant whose share of the cumulative weights holds position in [0, 1)."""
    total = sum(v.weight for v in variants)
    edge = 0.0
    for variant in variants:
        edge += variant.weight / total
        if position < edge:
            return variant.key
    return variants[-1].key  # rounding: position just under 1 past the last edge


def variant_of(salt: str, unit_id: str, variants: Sequence[Variant]) -> str:
    """Return the variant the hash gives a unit that has no sticky assignment yet."""
    return variant_at(variants, bucket(salt, unit_id))


def in_layer(layer: str | None, start: float, end: float, unit_id: str) -> bool:
    """Return whether the unit falls in [start, end) of the layer (always, without a layer)."""
    if layer is None:
        return True
    return start <= bucket(f"layer:{layer}", unit_id) < end


def ranges_overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Return whether two half-open ranges [start, end) share any point."""
    return a[0] < b[1] and b[0] < a[1]


def in_holdout(account_id: str, fraction: float) -> bool:
    """Return whether an account (by its external id) is in a global holdout of that size."""
    return bucket(GLOBAL_HOLDOUT_SALT, account_id) < fraction


def sticky_variant(
    assigned: Mapping[str, str], salt: str, unit_id: str, variants: Sequence[Variant]
) -> str:
    """Return the unit's recorded variant if it has one, else the hashed one (re-weighting safe)."""
    recorded = assigned.get(unit_id)
    return recorded if recorded is not None else variant_of(salt, unit_id, variants)
