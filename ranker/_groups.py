"""Vectorised group-by helpers on integer keys (the ranker never loops over queries)."""

from functools import cached_property

import numpy as np


def top_per_group(group: np.ndarray, score: np.ndarray, n_top: int) -> np.ndarray:
    """Positions of the ``n_top`` best-scored rows of each group.

    Parameters
    ----------
    group : ndarray of shape (n_rows,)
        Group id of each row (any integers).
    score : ndarray of shape (n_rows,)
        Higher is better; ties keep the earlier row.
    n_top : int
        Rows to keep per group.

    Returns
    -------
    positions : ndarray of shape (n_kept,)
        Row positions sorted by group, then by descending score.
    """
    order = np.lexsort((-score, group))
    sorted_group = group[order]
    rank = np.arange(len(order)) - np.searchsorted(sorted_group, sorted_group)
    return order[rank < n_top]


def unique_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort ``keys`` and find its runs.

    Returns
    -------
    unique : ndarray of shape (n_unique,)
        The distinct keys, ascending.
    order : ndarray of shape (n_rows,)
        Positions that sort ``keys``.
    starts : ndarray of shape (n_unique,)
        Start of each run in the sorted order, for ``np.ufunc.reduceat``.
    """
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = run_starts(sorted_keys)
    return sorted_keys[starts], order, starts


def run_starts(sorted_keys: np.ndarray) -> np.ndarray:
    """Start of each run of equal values in a sorted array, shape (n_runs,)."""
    if not len(sorted_keys):
        return np.zeros(0, np.intp)
    return np.concatenate(([0], np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1))


def run_lengths(starts: np.ndarray, n_rows: int) -> np.ndarray:
    """Length of each run given the run starts and the total length, shape (n_runs,)."""
    return np.append(starts[1:], n_rows) - starts


class Join:
    """Where each of ``keys`` sits in the ascending distinct ``sorted_keys``.

    One search, then any number of gathers of values aligned with ``sorted_keys``.
    """

    def __init__(self, sorted_keys: np.ndarray, keys: np.ndarray) -> None:
        if len(sorted_keys):
            self.position = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
            self.found = sorted_keys[self.position] == keys
        else:
            self.position = np.zeros(len(keys), np.intp)
            self.found = np.zeros(len(keys), bool)

    def get(self, values: np.ndarray, default: float) -> np.ndarray:
        """``values`` (aligned with ``sorted_keys``) at each key, ``default`` where absent."""
        if not len(values):
            return np.full(len(self.found), default, dtype=np.result_type(values, type(default)))
        gathered = values[self.position]  # a copy; fancy indexing is ~5x cheaper than np.where
        gathered[self.missing] = default
        return gathered

    @cached_property
    def missing(self) -> np.ndarray:
        return ~self.found


def expand_ranges(starts: np.ndarray, stops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate ``range(start, stop)`` for each pair.

    Returns
    -------
    owner : ndarray of shape (n_total,)
        Index of the range each position came from.
    positions : ndarray of shape (n_total,)
        The concatenated ranges.
    """
    lengths = np.maximum(stops - starts, 0)
    owner = np.repeat(np.arange(len(starts)), lengths)
    offsets = np.arange(len(owner)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return owner, starts[owner] + offsets


def take_ragged(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Select rows of a CSR-style ragged array.

    Returns
    -------
    indptr : ndarray of shape (n_rows + 1,)
        The selected rows' slices, renumbered.
    positions : ndarray of shape (n_values,)
        Positions of their values in the original value arrays.
    """
    _, positions = expand_ranges(indptr[rows], indptr[rows + 1])
    return np.concatenate(([0], np.cumsum(indptr[rows + 1] - indptr[rows]))), positions


def top_k_per_query(
    query: np.ndarray,
    sku: np.ndarray,
    score: np.ndarray,
    *,
    n_queries: int,
    n_skus: int,
    k: int,
    fill: np.ndarray,
    exclude: np.ndarray,
) -> np.ndarray:
    """The ``k`` best skus of each query, topped up from ``fill``.

    Parameters
    ----------
    query, sku, score : ndarray of shape (n_pairs,)
        Scored (query, sku) pairs; a pair may repeat (its best score counts).
    n_queries, n_skus, k : int
    fill : ndarray of shape (n_fill,)
        Sku codes, best first, that complete a query with fewer than ``k`` pairs.
    exclude : ndarray of shape (n_excluded,)
        ``query * n_skus + sku`` keys never to recommend (the basket).

    Returns
    -------
    ranked : ndarray of shape (n_queries, k)
        Sku codes, best first; -1 where there were not enough skus.
    """
    fill = fill[: k + int(np.bincount(exclude // n_skus, minlength=1).max(initial=0))]
    fill_query = np.repeat(np.arange(n_queries), len(fill))
    fill_score = np.tile(-1.0 - np.arange(len(fill)) / max(len(fill), 1), n_queries)
    keys = np.concatenate((query * n_skus + sku, fill_query * n_skus + np.tile(fill, n_queries)))
    scores = np.concatenate((np.asarray(score, np.float64), fill_score))
    keep = ~Join(np.unique(exclude), keys).found
    keys, scores = keys[keep], scores[keep]
    best = top_per_group(keys, scores, 1)  # one row per distinct pair, its best score
    keys, scores = keys[best], scores[best]
    chosen = top_per_group(keys // n_skus, scores, k)
    chosen_query = keys[chosen] // n_skus
    starts = np.searchsorted(chosen_query, np.arange(n_queries))
    rank = np.arange(len(chosen)) - starts[chosen_query]
    ranked = np.full((n_queries, k), -1, dtype=np.int64)
    ranked[chosen_query, rank] = keys[chosen] % n_skus
    return ranked
