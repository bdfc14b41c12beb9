"""Next-order metrics on hand-made rankings, and the protocol's queries and truth."""

import numpy as np
import pytest

from ranker.evaluate import hit_rate_at_k, hits_of, ndcg_at_k, recall_at_k
from ranker.interactions import from_lines
from ranker.splits import next_order_task

RANKED = np.array([[1, 2, 3], [4, 5, -1], [7, 8, 9]])
TRUTH_INDPTR = np.array([0, 2, 3, 6])
TRUTH_SKU = np.array([2, 9, 7, 7, 8, 9])  # {2, 9}, {7}, {7, 8, 9}


def test_hits_mark_recommendations_in_the_truth() -> None:
    hits = hits_of(RANKED, TRUTH_INDPTR, TRUTH_SKU)
    assert hits.tolist() == [[False, True, False], [False, False, False], [True, True, True]]


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        pytest.param("hit_rate", 2 / 3, id="hit-rate"),
        pytest.param("recall", (1 / 2 + 0 + 1) / 3, id="recall"),
        pytest.param("ndcg", (1 / np.log2(3) / (1 + 1 / np.log2(3)) + 0 + 1) / 3, id="ndcg"),
    ],
)
def test_metrics_of_a_hand_made_ranking(metric: str, expected: float) -> None:
    hits = hits_of(RANKED, TRUTH_INDPTR, TRUTH_SKU)
    n_relevant = np.diff(TRUTH_INDPTR)
    values = {
        "hit_rate": hit_rate_at_k(hits),
        "recall": recall_at_k(hits, n_relevant),
        "ndcg": ndcg_at_k(hits, n_relevant),
    }
    assert values[metric] == pytest.approx(expected, abs=1e-12)


def test_metrics_of_no_queries_are_zero() -> None:
    hits = np.zeros((0, 3), dtype=bool)
    n_relevant = np.zeros(0, dtype=np.int64)
    assert (hit_rate_at_k(hits), recall_at_k(hits, n_relevant), ndcg_at_k(hits, n_relevant)) == (
        0.0,
        0.0,
        0.0,
    )


def test_truth_is_later_skus_minus_the_query_order(make_lines) -> None:
    log = from_lines(
        make_lines(
            [
                ("o1", "c1", 0, "A"),
                ("o2", "c1", 5, "A"),
                ("o2", "c1", 5, "B"),
                ("o3", "c1", 9, "B"),
                ("o3", "c1", 9, "C"),
                ("o4", "c1", 10, "D"),
                ("o5", "c2", 1, "A"),  # no order after the cut: not a query
                ("o6", "c3", 9, "D"),  # no order before the cut: not a query
                ("o7", "c4", 2, "A"),
                ("o8", "c4", 9, "A"),  # re-bought only the query's skus
            ]
        )
    )
    task = next_order_task(log, cut=8.0 + log.order_time[0])
    assert log.skus[task.queries.basket_sku].tolist() == ["A", "B"]
    assert log.customers[task.queries.customer].tolist() == ["c1"]
    assert task.truth_indptr.tolist() == [0, 2]
    assert log.skus[task.truth_sku].tolist() == ["C", "D"]
