"""The compiled one-order scoring gives what the batch path gives, on every kind of order."""

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from ranker.candidates import Queries, generate_one
from ranker.compiled_scoring import _pairwise_sum, _reduceat_sum, score_order, scoring_tables
from ranker.features import build_features
from ranker.index import ShopIndex, build_index
from ranker.interactions import from_lines
from ranker.scorer import LEARNERS, Scorer
from ranker.splits import next_order_task

HORIZON = 30.0
N_ORDERS = 300


@pytest.fixture(scope="module")
def shop(order_lines: pd.DataFrame) -> tuple[ShopIndex, Queries]:
    """The index before a cut and the orders placed after it."""
    log = from_lines(order_lines)
    cut = log.split_time(0.2)
    return build_index(log.before(cut)), next_order_task(log, cut).queries


@pytest.fixture(params=LEARNERS)
def scorer(request: pytest.FixtureRequest, make_scorer: Callable[[str], Scorer]) -> Scorer:
    return make_scorer(request.param)


def _as_placed(one: Queries) -> Queries:
    return one


def _unknown_customer(one: Queries) -> Queries:
    return replace(one, customer=np.array([-1]))


def _empty_basket(one: Queries) -> Queries:
    no_items = np.zeros(0, np.int64)
    return replace(
        one,
        basket_indptr=np.array([0, 0]),
        basket_sku=no_items,
        basket_category=no_items,
        basket_price=np.zeros(0),
    )


def _repeated_basket_skus(one: Queries) -> Queries:
    """Every line twice: each link counts twice, and equal strengths tie."""
    return replace(
        one,
        basket_indptr=one.basket_indptr * 2,
        basket_sku=np.tile(one.basket_sku, 2),
        basket_category=np.tile(one.basket_category, 2),
        basket_price=np.tile(one.basket_price, 2),
    )


def _unknown_basket_skus(one: Queries) -> Queries:
    """Skus the index does not know, half of them without a price."""
    price = one.basket_price.copy()
    price[::2] = np.nan
    return replace(one, basket_sku=np.full_like(one.basket_sku, -1), basket_price=price)


@pytest.mark.parametrize(
    "make_order",
    [
        pytest.param(_as_placed, id="as-placed"),
        pytest.param(_unknown_customer, id="unknown-customer"),
        pytest.param(_empty_basket, id="empty-basket"),
        pytest.param(_repeated_basket_skus, id="repeated-basket-skus"),
        pytest.param(_unknown_basket_skus, id="unknown-basket-skus"),
    ],
)
def test_compiled_scores_equal_the_batch_path(
    shop: tuple[ShopIndex, Queries], scorer: Scorer, make_order
) -> None:
    """Signals to the bit; probabilities to the last bits that libm's log and pow (against
    NumPy's SIMD ones) and a linear scorer's summation order (against BLAS's) can move."""
    index, queries = shop
    tables = scoring_tables(index, scorer, HORIZON)
    rng = np.random.default_rng(0)
    for q in range(min(queries.n_queries, N_ORDERS)):
        one = make_order(queries.take(np.array([q])))
        everything = generate_one(index, one, extra=rng.choice(index.n_skus, 8, replace=False))
        offered = np.sort(rng.choice(everything.sku, min(6, len(everything.sku)), replace=False))
        rows = np.searchsorted(everything.sku, offered)
        expected = scorer.predict_proba(build_features(index, one, everything, HORIZON)[rows])
        scores = score_order(
            tables,
            one.basket_sku,
            one.basket_category,
            one.basket_price,
            int(one.customer[0]),
            float(one.time[0]),
            offered,
        )
        np.testing.assert_array_equal(scores.sku, offered)
        np.testing.assert_allclose(scores.probability, expected, rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(scores.anchor, everything.anchor[rows])
        np.testing.assert_array_equal(scores.history_count, everything.history_count[rows])
        np.testing.assert_array_equal(scores.history_last, everything.history_last[rows])


@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 16, 50, 128, 129, 130, 300, 1_000, 5_000])
def test_sums_are_taken_in_numpys_order(n: int) -> None:
    values = np.random.default_rng(n).lognormal(sigma=3.0, size=n)
    assert _reduceat_sum(values) == np.add.reduceat(values, [0])[0]
    assert _pairwise_sum(values) == values.sum()
