"""Next-order evaluation (DESIGN.md "Metrics"): the model beside the baselines.

Split the history at one date (the last ``test_fraction`` of the period is the
test period), rank for each customer's last order before the split, and score
the top ``k`` against the skus the customer bought in the test period.
"""

from collections.abc import Callable

import numpy as np
import pandas as pd

from offers.errors import InputError
from ranker.baselines import BASELINES, rank_baseline
from ranker.index import ShopIndex, build_index
from ranker.interactions import Interactions, from_lines, iso_time
from ranker.model import RelevanceModel, rank_queries
from ranker.scorer import EstimatorScorer
from ranker.splits import NextOrderTask, next_order_task

METRICS = ("hit_rate_at_k", "recall_at_k", "ndcg_at_k")


def hits_of(ranked: np.ndarray, truth_indptr: np.ndarray, truth_sku: np.ndarray) -> np.ndarray:
    """Which recommendations are in the truth.

    Parameters
    ----------
    ranked : ndarray of shape (n_queries, k)
        Recommended sku codes, best first (-1 for none).
    truth_indptr : ndarray of shape (n_queries + 1,)
    truth_sku : ndarray of shape (n_truth,)
        Each query's relevant skus, ``truth_sku[truth_indptr[i]:truth_indptr[i + 1]]``.

    Returns
    -------
    hits : ndarray of shape (n_queries, k), dtype bool
    """
    n_queries, k = ranked.shape
    n_skus = int(max(ranked.max(initial=0), truth_sku.max(initial=0))) + 1
    truth_query = np.repeat(np.arange(n_queries), np.diff(truth_indptr))
    keys = np.arange(n_queries)[:, None] * n_skus + ranked
    return np.isin(keys, truth_query * n_skus + truth_sku) & (ranked >= 0)


def hit_rate_at_k(hits: np.ndarray) -> float:
    """Share of queries with at least one hit; ``hits`` of shape (n_queries, k)."""
    return float(hits.any(axis=1).mean()) if len(hits) else 0.0


def recall_at_k(hits: np.ndarray, n_relevant: np.ndarray) -> float:
    """Mean of hits / size of the truth; ``n_relevant`` of shape (n_queries,), all >= 1."""
    return float((hits.sum(axis=1) / n_relevant).mean()) if len(hits) else 0.0


def ndcg_at_k(hits: np.ndarray, n_relevant: np.ndarray) -> float:
    """Mean normalised discounted cumulative gain with binary relevance."""
    if not len(hits):
        return 0.0
    discount = 1.0 / np.log2(np.arange(2, hits.shape[1] + 2))
    ideal = np.cumsum(discount)[np.minimum(n_relevant, hits.shape[1]) - 1]
    return float(((hits * discount).sum(axis=1) / ideal).mean())


def metrics_of(ranked: np.ndarray, task: NextOrderTask) -> dict[str, float]:
    """``hit_rate_at_k``, ``recall_at_k`` and ``ndcg_at_k`` of a ranking of ``task``'s queries."""
    hits = hits_of(ranked, task.truth_indptr, task.truth_sku)
    n_relevant = np.diff(task.truth_indptr)
    return {
        "hit_rate_at_k": hit_rate_at_k(hits),
        "recall_at_k": recall_at_k(hits, n_relevant),
        "ndcg_at_k": ndcg_at_k(hits, n_relevant),
    }


def evaluate_split(
    log: Interactions,
    rank: Callable[[ShopIndex, NextOrderTask, int], np.ndarray],
    *,
    k: int = 3,
    test_fraction: float = 0.2,
) -> dict:
    """Metrics of a ranker and of the baselines on the time split of ``log``.

    Parameters
    ----------
    log : Interactions
        The whole history; it is split at ``log.split_time(test_fraction)``.
    rank : callable
        ``rank(index, task, k)`` returns ranked sku codes of shape (n_queries, k);
        ``index`` is built from the orders before the split only.
    k : int, default=3
    test_fraction : float, default=0.2

    Returns
    -------
    metrics : dict
        The model's ``hit_rate_at_k``, ``recall_at_k``, ``ndcg_at_k``, then ``k``,
        ``n_queries``, ``split_at`` (ISO 8601) and one dict of the
        same metrics for each of ``popularity``, ``co_occurrence`` and ``history``.
    """
    split = log.split_time(test_fraction)
    train = log.before(split)
    task = next_order_task(log, split)
    index = build_index(train)
    metrics = metrics_of(rank(index, task, k), task)
    metrics.update(k=k, n_queries=len(task.query_order), split_at=iso_time(split))
    for name in BASELINES:
        metrics[name] = metrics_of(rank_baseline(name, train, index, task.queries, k), task)
    return metrics


def evaluate_model(
    model: RelevanceModel, lines: pd.DataFrame, *, k: int = 3, test_fraction: float = 0.2
) -> dict:
    """Metrics of a trained model on an order history, beside the baselines.

    The model's learned scorer is kept; its lookup tables are rebuilt from the
    orders before the split, so no test order leaks into the ranking. On the
    history it was trained on, this reproduces the card's metrics.

    Parameters
    ----------
    model : RelevanceModel
    lines : DataFrame of shape (n_lines, n_columns)
        Purchases, as ``read_orders(path).lines``.
    k : int, default=3
    test_fraction : float, default=0.2

    Returns
    -------
    metrics : dict
        As :func:`evaluate_split`.
    """
    index = model.index
    catalog = pd.DataFrame(
        {
            "sku": index.skus,
            "title": index.sku_title,
            "category": index.categories[index.sku_category],
            "price": index.sku_price,
            "margin": index.sku_margin,
        }
    )

    def rank(index: ShopIndex, task: NextOrderTask, k: int) -> np.ndarray:
        scorer = EstimatorScorer(model.estimator)
        return rank_queries(
            scorer, index, task.queries, horizon=model.horizon, k=k, budget=model.budget
        )

    log = from_lines(lines, catalog)
    _refuse_a_test_period_it_learned_from(log.split_time(test_fraction), model)
    return evaluate_split(log, rank, k=k, test_fraction=test_fraction)


def _refuse_a_test_period_it_learned_from(split: float, model: RelevanceModel) -> None:
    """A model learned from the orders before its own split: a test period that starts
    earlier holds orders it was trained on, and would flatter it."""
    trained_until = model.card["metrics"]["split_at"]
    if iso_time(split) < trained_until:  # compared as the card keeps it, to the second
        raise InputError(
            f"the held-out orders of this history start at {iso_time(split)}, before "
            f"{trained_until}, where the model's training data ends: it learned from them, "
            "so its figures would be optimistic. Evaluate it on a history that runs as late "
            "as the one it was trained on, or later"
        )
