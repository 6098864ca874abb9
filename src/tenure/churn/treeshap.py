"""Exact tree SHAP for shallow XGBoost models, vectorised over all accounts of a day.

XGBoost's `pred_contribs` walks every tree for every row with per-row bookkeeping, about
240 µs per account on one core for 800 depth-2 trees (the served model has 300). For a tree
with at most three splits, a row's SHAP values depend only on which way it goes at each split:
at most 8 decision patterns. So each tree's path-dependent SHAP values (the same
cover-weighted value function as XGBoost's TreeSHAP) are computed once per pattern, by
enumerating feature subsets, and scoring becomes array work: compare, pack the decision bits,
look up, and sum per feature with a sparse matrix product. Deeper trees or categorical splits
are not handled here (`from_booster` returns None) and scoring falls back to `pred_contribs`.
Tests check the result against `pred_contribs`.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from threadpoolctl import threadpool_limits

SPLITS = 3  # internal nodes of a depth-2 tree
PATTERNS = 2**SPLITS
CHUNK_ROWS = 256  # rows per block: a block's lookups stay in the CPU cache


@dataclass(frozen=True)
class TreeTables:
    """One tree's splits and its SHAP values per decision pattern."""

    features: list[int]  # per split, in node order
    thresholds: list[float]
    default_left: list[bool]  # where a missing value goes
    players: list[int]  # distinct split features, sorted
    values: np.ndarray  # (PATTERNS, SPLITS): SHAP of players[k] for each pattern
    expected: float  # the tree's cover-weighted mean output


@dataclass(frozen=True)
class ShallowTreeShap:
    """Every tree's tables stacked for vectorised lookups.

    A "pair" is one (tree, player) with a SHAP value: its table entries sit at
    `pair_offset + pattern` in `table`, and `to_feature` adds it onto its feature's row.
    """

    n_features: int  # input columns
    n_outputs: int  # output columns (input columns, or groups of them: see `grouped`)
    n_trees: int
    split_column: np.ndarray  # (distinct splits,): feature, + n_features where NaN goes right
    split_threshold: np.ndarray  # (distinct splits, 1) float32; a padding split never fires
    node_split: np.ndarray  # (trees·SPLITS,): each tree's splits among the distinct ones
    pair_tree: np.ndarray  # (pairs,)
    pair_offset: np.ndarray  # (pairs, 1) int32
    pair_feature: np.ndarray  # (pairs,) input column of each pair
    table: np.ndarray  # (SPLITS·trees·PATTERNS,) float32
    to_feature: sparse.csr_matrix  # (n_outputs, pairs) 0/1 float32, one 1 per pair
    bias: float

    def grouped(self, groups: np.ndarray, n_groups: int) -> ShallowTreeShap:
        """Return this explainer adding up the SHAP values of column groups (one-hot levels).

        SHAP values are additive, so a categorical feature's value is the sum over its
        one-hot columns; folding the groups into the lookup matrix makes that sum free.
        """
        if len(groups) != self.n_features:
            raise ValueError(f"{len(groups)} groups for {self.n_features} columns")
        to_group = _summing_matrix(np.asarray(groups)[self.pair_feature], n_groups)
        return dataclasses.replace(self, n_outputs=n_groups, to_feature=to_group)

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """Return (rows, n_outputs + 1): SHAP per feature and the bias, like pred_contribs."""
        return self.column_contributions(np.asarray(matrix, dtype=np.float32).T)

    def column_contributions(self, columns: np.ndarray) -> np.ndarray:
        """Return `contributions` of a matrix given column-major: (n_features, rows)."""
        columns = np.ascontiguousarray(columns, dtype=np.float32)
        rows = columns.shape[1]
        out = np.empty((rows, self.n_outputs + 1), dtype=np.float32)

        def fill(start: int) -> None:
            block = columns[:, start : start + CHUNK_ROWS]
            out[start : start + CHUNK_ROWS, :-1] = self._chunk(block).T

        # NumPy releases the GIL: blocks of rows run on every core, each with one BLAS thread.
        workers = os.cpu_count() or 1
        with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
            list(pool.map(fill, range(0, rows, CHUNK_ROWS)))
        out[:, -1] = self.bias
        return out

    def _chunk(self, columns: np.ndarray) -> np.ndarray:
        """Return (n_outputs, rows) SHAP values for a block of rows given column-major."""
        # Two copies of the block: NaN as -inf (goes left at every split) and as +inf (right),
        # so each split reads the copy that sends a missing value its default way.
        missing = np.isnan(columns)
        both = np.concatenate([columns, columns])
        both[: self.n_features][missing] = -np.inf
        both[self.n_features :][missing] = np.inf
        # Trees share splits (histogram thresholds): each distinct one is compared once.
        decided = np.take(both, self.split_column, axis=0) < self.split_threshold
        goes_left = np.take(decided, self.node_split, axis=0)
        bits = goes_left.reshape(self.n_trees, SPLITS, -1).view(np.uint8)
        pattern = bits[:, 0] | (bits[:, 1] << 1) | (bits[:, 2] << 2)
        looked_up = np.take(self.table, np.take(pattern, self.pair_tree, axis=0) + self.pair_offset)
        return self.to_feature @ looked_up


def from_booster(booster: Any) -> ShallowTreeShap | None:
    """Return the vectorised explainer of a binary-logistic booster, or None if unsupported."""
    learner = json.loads(booster.save_raw("json"))["learner"]
    if learner["objective"]["name"] != "binary:logistic":
        return None
    trees = learner["gradient_booster"]["model"].get("trees")
    if not trees or not all(_is_shallow(tree) for tree in trees):
        return None
    n_features = int(learner["learner_model_param"]["num_feature"])
    tables = [tree_tables(tree) for tree in trees]
    return _stack(tables, n_features, _base_margin(learner["learner_model_param"]["base_score"]))


def _is_shallow(tree: dict[str, Any]) -> bool:
    """Return True for a tree of numeric splits with at most SPLITS internal nodes."""
    internal = sum(1 for child in tree["left_children"] if child != -1)
    numeric = not any(tree.get("split_type", []))
    return internal <= SPLITS and numeric


def _base_margin(base_score: str | float) -> float:
    """Return the log-odds of XGBoost's base score (stored as "5E-1" or "[5E-1]")."""
    text = str(base_score).strip("[]")
    probability = float(text.split(",")[0])
    return math.log(probability / (1.0 - probability))


def tree_tables(tree: dict[str, Any]) -> TreeTables:
    """Return a tree's splits and exact SHAP values for every decision pattern."""
    left = tree["left_children"]
    internal = [node for node, child in enumerate(left) if child != -1]
    features = [int(tree["split_indices"][node]) for node in internal]
    players = sorted(set(features))
    values = np.zeros((PATTERNS, SPLITS))
    for code in range(2 ** len(internal)):
        decisions = {node: bool((code >> bit) & 1) for bit, node in enumerate(internal)}
        expected = _expectation(tree, decisions)
        for slot, player in enumerate(players):
            values[code, slot] = _shapley(player, players, expected)
    return TreeTables(
        features=features,
        thresholds=[float(tree["split_conditions"][node]) for node in internal],
        default_left=[bool(tree["default_left"][node]) for node in internal],
        players=players,
        values=values,
        expected=_expectation(tree, {})(frozenset()),
    )


def _expectation(tree: dict[str, Any], decisions: dict[int, bool]) -> Any:
    """Return S ↦ E[tree output | the features in S decide as in `decisions`] (cover-weighted)."""
    left, right = tree["left_children"], tree["right_children"]
    feature, cover = tree["split_indices"], tree["sum_hessian"]
    leaf_value = tree["split_conditions"]
    cache: dict[frozenset[int], float] = {}

    def walk(node: int, known: frozenset[int]) -> float:
        if left[node] == -1:
            return float(leaf_value[node])
        if feature[node] in known:
            return walk(left[node] if decisions[node] else right[node], known)
        low, high = left[node], right[node]
        mean = cover[low] * walk(low, known) + cover[high] * walk(high, known)
        return mean / cover[node]

    def expected(known: frozenset[int]) -> float:
        if known not in cache:
            cache[known] = walk(0, known)
        return cache[known]

    return expected


def _shapley(player: int, players: list[int], expected: Any) -> float:
    """Return the Shapley value of one feature under the value function `expected`."""
    others = [other for other in players if other != player]
    n = len(players)
    total = 0.0
    for size in range(len(others) + 1):
        weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
        for subset in itertools.combinations(others, size):
            known = frozenset(subset)
            total += weight * (expected(known | {player}) - expected(known))
    return total


def _stack(tables: list[TreeTables], n_features: int, base_margin: float) -> ShallowTreeShap:
    """Return the explainer: splits padded to SPLITS per tree, one pair per (tree, player)."""
    n_trees = len(tables)
    split_column = np.zeros((n_trees, SPLITS), dtype=np.int64)
    threshold = np.full((n_trees, SPLITS), -np.inf, dtype=np.float32)
    table = np.zeros((SPLITS, n_trees, PATTERNS), dtype=np.float32)
    pairs: list[tuple[int, int, int]] = []  # (tree, slot, feature)
    for t, tree in enumerate(tables):
        used = len(tree.features)
        right = ~np.array(tree.default_left, dtype=bool)
        split_column[t, :used] = np.array(tree.features) + n_features * right
        threshold[t, :used] = tree.thresholds
        table[:, t, :] = tree.values.T
        pairs += [(t, slot, player) for slot, player in enumerate(tree.players)]
    pair = np.array(pairs, dtype=np.int64).reshape(-1, 3)
    offset = (pair[:, 1] * n_trees + pair[:, 0]) * PATTERNS
    # A split is its column and threshold (the float's bits, so -inf padding is one split too).
    keys = np.column_stack([split_column.ravel(), threshold.ravel().view(np.int32)])
    distinct, node_split = np.unique(keys, axis=0, return_inverse=True)
    return ShallowTreeShap(
        n_features=n_features,
        n_outputs=n_features,
        n_trees=n_trees,
        split_column=distinct[:, 0].copy(),
        split_threshold=distinct[:, 1].astype(np.int32).view(np.float32).reshape(-1, 1),
        node_split=node_split.ravel(),
        pair_tree=pair[:, 0].copy(),
        pair_offset=offset.astype(np.int32).reshape(-1, 1),
        pair_feature=pair[:, 2].copy(),
        table=table.ravel(),
        to_feature=_summing_matrix(pair[:, 2], n_features),
        bias=base_margin + sum(tree.expected for tree in tables),
    )


def _summing_matrix(pair_output: np.ndarray, n_outputs: int) -> sparse.csr_matrix:
    """Return the sparse 0/1 matrix that adds each pair's SHAP value onto its output row."""
    pairs = len(pair_output)
    ones = np.ones(pairs, dtype=np.float32)
    return sparse.csr_matrix((ones, (pair_output, np.arange(pairs))), shape=(n_outputs, pairs))
