"""The three baselines of DESIGN.md, ranked on the same queries as the model.

``popularity``: the most-bought skus of the training period. ``co_occurrence``:
the skus most often in the same order as the query's skus (raw counts, summed
over the query's skus). ``history``: the customer's own most-bought skus (ties
broken by popularity). The last two are topped up with popular skus. None of
them recommends a sku of the query order.
"""

import numpy as np
import scipy.sparse as sp

from ranker._groups import expand_ranges, run_lengths, top_k_per_query, unique_keys
from ranker.candidates import Queries
from ranker.index import ShopIndex
from ranker.interactions import Interactions

BASELINES = ("popularity", "co_occurrence", "history")
_DENSE_CELLS = 20_000_000  # scores held at once by the co-occurrence baseline


def rank_baseline(
    name: str, log: Interactions, index: ShopIndex, queries: Queries, k: int
) -> np.ndarray:
    """Top-``k`` skus of each query by one baseline.

    Parameters
    ----------
    name : {"popularity", "co_occurrence", "history"}
    log : Interactions
        The training history (what ``index`` was built from).
    index : ShopIndex
    queries : Queries
    k : int

    Returns
    -------
    ranked : ndarray of shape (n_queries, k)
        Sku codes, best first, -1 where the shop has fewer skus.
    """
    if name == "co_occurrence":
        return _co_occurrence(log, index, queries, k)
    empty = np.zeros(0, np.int64)
    query, sku, score = _history(index, queries) if name == "history" else (empty, empty, empty)
    known = queries.basket_sku >= 0
    return top_k_per_query(
        query,
        sku,
        score,
        n_queries=queries.n_queries,
        n_skus=index.n_skus,
        k=k,
        fill=index.popular,
        exclude=queries.item_query[known] * index.n_skus + queries.basket_sku[known],
    )


def _history(index: ShopIndex, queries: Queries) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(query, sku, orders of the customer holding the sku + popularity share as tie-break)."""
    customer = np.maximum(queries.customer, 0)
    known = queries.customer >= 0
    start = np.where(known, index.history_indptr[customer], 0)
    stop = np.where(known, index.history_indptr[customer + 1], 0)
    owner, line = expand_ranges(start, stop)
    keys, order, starts = unique_keys(owner * index.n_skus + index.history_sku[line])
    query, sku = np.divmod(keys, index.n_skus)
    return query, sku, run_lengths(starts, len(order)) + index.sku_share[sku]


def _co_occurrence(log: Interactions, index: ShopIndex, queries: Queries, k: int) -> np.ndarray:
    """Sum over the basket of orders shared with each sku; ties and zeros go by popularity.

    Scores are held dense, a chunk of queries at a time: ``count * (n_skus + 1) +
    popularity rank`` is an exact integer in float64, so one argpartition ranks by
    count, then popularity, and fills baskets with no co-purchase by popularity.
    """
    n_skus = index.n_skus
    baskets = sp.csr_matrix(
        (np.ones(len(log.sku)), (log.order, log.sku)), shape=(log.n_orders, n_skus)
    )
    together = (baskets.T @ baskets).tocsr()
    known = queries.basket_sku >= 0
    item_query, item_sku = queries.item_query[known], queries.basket_sku[known]
    basket = sp.csr_matrix(
        (np.ones(len(item_sku)), (item_query, item_sku)), shape=(queries.n_queries, n_skus)
    )
    popularity_rank = np.empty(n_skus)
    popularity_rank[np.argsort(-index.sku_share, kind="stable")] = np.arange(n_skus, 0, -1)
    k_kept = min(k, n_skus)
    ranked = np.full((queries.n_queries, k), -1, dtype=np.int64)
    chunk = max(1, _DENSE_CELLS // max(n_skus, 1))
    for start in range(0, queries.n_queries, chunk):
        rows = slice(start, min(start + chunk, queries.n_queries))
        in_basket = basket[rows].tocoo()
        scores = (basket[rows] @ together).toarray()
        scores *= n_skus + 1  # in place: the chunk's cells are the baseline's memory and time
        scores += popularity_rank
        scores[in_basket.row, in_basket.col] = -1.0
        top = np.argpartition(-scores, k_kept - 1, axis=1)[:, :k_kept]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
        best = np.take_along_axis(top, order, axis=1)
        ranked[rows, :k_kept] = np.where(np.take_along_axis(scores, best, axis=1) >= 0, best, -1)
    return ranked
