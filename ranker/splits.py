"""The next-order protocol of DESIGN.md as data: queries before a cut, truth after it.

For each customer with orders on both sides of the cut, the query is the
customer's last order before the cut and the truth is the set of skus in the
customer's orders in ``[cut, cut + horizon)``, minus the query's own skus.
Customers whose truth is empty (they only re-bought the query's skus) are left
out: no ranking of "skus not in the query" can hit them. Training uses the same
construction at earlier cuts, so the model learns exactly what it is scored on.
"""

from dataclasses import dataclass

import numpy as np

from ranker._groups import take_ragged, unique_keys
from ranker.candidates import Queries
from ranker.interactions import Interactions


@dataclass(frozen=True)
class NextOrderTask:
    """Queries at one cut and what each customer bought next.

    Attributes
    ----------
    queries : Queries
    query_order : ndarray of shape (n_queries,)
        Order code of each query.
    truth_indptr : ndarray of shape (n_queries + 1,)
        Each query's slice of ``truth_sku``.
    truth_sku : ndarray of shape (n_truth,)
        Sku codes bought later, ascending within a query.
    """

    queries: Queries
    query_order: np.ndarray
    truth_indptr: np.ndarray
    truth_sku: np.ndarray

    def take(self, rows: np.ndarray) -> "NextOrderTask":
        """The sub-task of the queries ``rows`` (ascending)."""
        indptr, positions = take_ragged(self.truth_indptr, rows)
        return NextOrderTask(
            queries=self.queries.take(rows),
            query_order=self.query_order[rows],
            truth_indptr=indptr,
            truth_sku=self.truth_sku[positions],
        )

    def truth_keys(self, n_skus: int) -> np.ndarray:
        """``query * n_skus + sku`` of every truth pair, ascending."""
        query = np.repeat(np.arange(len(self.query_order)), np.diff(self.truth_indptr))
        return query * n_skus + self.truth_sku


def next_order_task(log: Interactions, cut: float, horizon: float = np.inf) -> NextOrderTask:
    """Build the queries at ``cut`` and their truth from ``[cut, cut + horizon)``.

    Parameters
    ----------
    log : Interactions
    cut : float
        Split time, days since the epoch.
    horizon : float, default=inf
        Length of the truth window in days.

    Returns
    -------
    NextOrderTask
    """
    n_before = int(np.searchsorted(log.order_time, cut, side="left"))
    n_until = int(np.searchsorted(log.order_time, cut + horizon, side="left"))
    last_before = np.full(log.n_customers, -1)
    last_before[log.order_customer[:n_before]] = np.arange(n_before)  # later orders win

    after = (log.order >= n_before) & (log.order < n_until)
    customer = log.line_customer[after]
    query_order = last_before[customer]
    keys = query_order * log.n_skus + log.sku[after]
    is_query = np.zeros(log.n_orders, bool)
    is_query[query_order[query_order >= 0]] = True
    query_lines = is_query[log.order]  # a key can only match a line of its own query order
    in_query = np.isin(keys, log.order[query_lines] * log.n_skus + log.sku[query_lines])
    truth, _, _ = unique_keys(keys[(query_order >= 0) & ~in_query])
    order_of_truth, truth_sku = np.divmod(truth, log.n_skus)

    query_orders, first = np.unique(order_of_truth, return_index=True)
    counts = np.diff(np.r_[first, len(truth)])
    return NextOrderTask(
        queries=queries_from_orders(log, query_orders),
        query_order=query_orders,
        truth_indptr=np.r_[0, np.cumsum(counts)],
        truth_sku=truth_sku,
    )


def queries_from_orders(log: Interactions, orders: np.ndarray) -> Queries:
    """Queries whose baskets are the given past orders (sorted order codes).

    Parameters
    ----------
    log : Interactions
    orders : ndarray of shape (n_queries,)
        Order codes, ascending.

    Returns
    -------
    Queries
    """
    position = np.searchsorted(orders, log.order)
    position = np.minimum(position, len(orders) - 1) if len(orders) else position
    in_query = (orders[position] == log.order) if len(orders) else np.zeros(len(log.order), bool)
    line = np.flatnonzero(in_query)
    line = line[np.argsort(position[line], kind="stable")]
    sku = log.sku[line]
    return Queries(
        basket_indptr=np.r_[0, np.cumsum(np.bincount(position[line], minlength=len(orders)))],
        basket_sku=sku,
        basket_category=log.sku_category[sku],
        basket_price=log.sku_price[sku],
        customer=log.order_customer[orders],
        time=log.order_time[orders],
    )
