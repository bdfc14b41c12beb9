"""Stage 2 inputs: one row of numeric features per candidate (query, sku) pair.

Every feature is scale-free (shares, ratios, logs), so a model learned on one
window of history scores another window, or a larger shop, sensibly.

:func:`write_features` is their one definition, compiled with numba: training
and evaluation call it for every candidate (:func:`build_features`), and the
request path for the offered skus of one order
(:func:`ranker.compiled_scoring.score_order`).
"""

import math
from typing import NamedTuple

import numba
import numpy as np

from ranker.candidates import HISTORY_DECAY, Candidates, Queries
from ranker.index import ShopIndex

FEATURES = (
    "copurchase_cosine_sum",
    "copurchase_cosine_max",
    "copurchase_lift_log",
    "copurchase_count_log",
    "next_order_probability",
    "popularity_log",
    "trend_log",
    "history_count_log",
    "history_share",
    "history_decayed_share",
    "rebuy_chance",
    "days_since_bought_log",
    "due_ratio_log",
    "rebuy_rate",
    "repurchase_interval_log",
    "category_affinity",
    "basket_category_share",
    "price_ratio_log",
    "customer_orders_log",
    "days_since_last_order_log",
    "basket_size_log",
)
"""Feature names, in column order."""

_N_FEATURES = len(FEATURES)

_NEVER_DAYS = 3650.0  # "days since bought" for a sku never bought: ten years


def build_features(
    index: ShopIndex, queries: Queries, candidates: Candidates, horizon: float
) -> np.ndarray:
    """Feature matrix of the candidates.

    Parameters
    ----------
    index : ShopIndex
    queries : Queries
    candidates : Candidates
        From :func:`ranker.candidates.generate` on the same index and queries.
    horizon : float
        Days ahead the model predicts purchases for (the length of its label window).

    Returns
    -------
    X : ndarray of shape (n_pairs, n_features)
        Columns in the order of ``FEATURES``.
    """
    c = candidates
    return _feature_matrix(
        tuple(sku_columns(index, c.sku)),
        np.asarray(c.query, np.int64),
        _float64(
            c.copurchase_sum,
            c.copurchase_max,
            c.copurchase_lift,
            c.copurchase_count,
            c.next_order_sum,
            c.history_count,
            c.history_decayed,
            c.history_last,
            c.history_first,
            c.category_affinity,
            c.basket_category_share,
        ),
        np.asarray(queries.time, np.float64),
        _float64(
            c.query_orders,
            c.query_first_order,
            c.query_last_order,
            c.query_basket_size,
            c.query_basket_price,
        ),
        float(horizon),
    )


def _float64(*columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """The columns as float64 arrays: one type for numba to compile for."""
    return tuple(np.asarray(column, np.float64) for column in columns)


class SkuColumns(NamedTuple):
    """What the features read of each sku, with the four features of the sku alone."""

    price: np.ndarray
    interval: np.ndarray
    popularity_log: np.ndarray
    trend_log: np.ndarray
    rebuy_rate: np.ndarray
    interval_log: np.ndarray


def sku_columns(index: ShopIndex, sku: np.ndarray | slice = slice(None)) -> SkuColumns:
    """The per-sku inputs of :func:`write_features` for the sku codes ``sku`` (all by
    default), float64 arrays with a row per code."""
    interval = index.sku_interval[sku].astype(np.float64)
    return SkuColumns(
        price=index.sku_price[sku].astype(np.float64),
        interval=interval,
        popularity_log=np.log(index.sku_share[sku] + 1e-6),
        trend_log=index.sku_trend[sku].astype(np.float64),
        rebuy_rate=index.sku_rebuy[sku].astype(np.float64),
        interval_log=np.log1p(interval),
    )


@numba.njit(cache=True, error_model="numpy")
def write_features(
    x: np.ndarray,
    skus: SkuColumns,
    sku_row: int,
    links: tuple,
    history: tuple,
    now: float,
    query: tuple,
    horizon: float,
) -> None:
    """Fill ``x``, of shape ``(len(FEATURES),)``, with the features of one (order, sku) pair.

    Row ``sku_row`` of ``skus`` holds the sku; ``now`` is the order time (days since the epoch);
    ``links`` is (co-purchase cosine sum, cosine max, lift, count, next-order
    probability sum) of the sku with the basket; ``history`` is (count, decayed
    count, last and first purchase time, category affinity, basket category share)
    of the customer and sku; ``query`` is (orders, first and last order time,
    basket size, mean basket price) of the customer before ``now``.
    """
    copurchase_sum, copurchase_max, copurchase_lift, copurchase_count, next_order_sum = links
    count, decayed, last, first, category_affinity, basket_category_share = history
    orders, first_order, last_order, basket_size, basket_price_mean = query
    bought = count > 0
    days_since = now - last if bought else _NEVER_DAYS
    interval = (last - first) / max(count - 1, 1.0) if count > 1 else skus.interval[sku_row]
    span = now - (now if math.isnan(first_order) else first_order)
    orders_ahead = horizon * max(orders, 1.0) / max(span, 1.0)
    price_ratio = skus.price[sku_row] / basket_price_mean
    priced = math.isfinite(price_ratio) and price_ratio > 0
    x[0] = copurchase_sum
    x[1] = copurchase_max
    x[2] = math.log1p(copurchase_lift)
    x[3] = math.log1p(copurchase_count)
    x[4] = next_order_sum
    x[5] = skus.popularity_log[sku_row]
    x[6] = skus.trend_log[sku_row]
    x[7] = math.log1p(count)
    x[8] = count / max(orders, 1.0)
    x[9] = decayed * (1 - HISTORY_DECAY) / (1 - HISTORY_DECAY ** max(orders, 1.0))
    x[10] = 1 - (1 - count / max(orders, 1.0)) ** orders_ahead
    x[11] = math.log1p(days_since)
    x[12] = math.log((days_since + 1.0) / (interval + 1.0)) if bought else 0.0
    x[13] = skus.rebuy_rate[sku_row]
    x[14] = skus.interval_log[sku_row]
    x[15] = category_affinity
    x[16] = basket_category_share
    x[17] = math.log(price_ratio if priced else 1.0)
    x[18] = math.log1p(orders)
    x[19] = math.log1p(now - last_order if orders > 0 else _NEVER_DAYS)
    x[20] = math.log1p(basket_size)


@numba.njit(cache=True)
def _feature_matrix(
    pair_skus: tuple,
    query: np.ndarray,
    pair_columns: tuple,
    query_time: np.ndarray,
    query_columns: tuple,
    horizon: float,
) -> np.ndarray:
    """:func:`write_features` of every (query, sku) pair; ``pair_skus`` has a row per pair."""
    skus = SkuColumns(*pair_skus)
    cp_sum, cp_max, cp_lift, cp_count, next_order, count, decayed, last, first, aff, share = (
        pair_columns
    )
    orders, first_order, last_order, basket_size, basket_price = query_columns
    X = np.empty((len(query), _N_FEATURES))
    for row in range(len(query)):
        q = query[row]
        write_features(
            X[row],
            skus,
            row,
            (cp_sum[row], cp_max[row], cp_lift[row], cp_count[row], next_order[row]),
            (count[row], decayed[row], last[row], first[row], aff[row], share[row]),
            query_time[q],
            (orders[q], first_order[q], last_order[q], basket_size[q], basket_price[q]),
            horizon,
        )
    return X
